"""Readers for the parts of the program document (§6): required sections, bounded lists of items,
codes, template ids, uniqueness. Each raises ValidationError naming the field, as
`chalicelib.domain.validation` does for single values."""
from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

from chalicelib.domain.validation import ID_MAX, read_str, reject_unknown, require_object
from chalicelib.errors import ValidationError

MAX_POINTS = 10_000_000
MAX_PCT = 1000
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def section(doc: dict[str, Any], field: str, keys: Collection[str], parent: str = "") -> dict[str, Any]:
    """A required JSON object field holding only `keys`."""
    name = parent + field
    if field not in doc:
        raise ValidationError(f"{name} is required")
    obj = require_object(doc[field], name)
    reject_unknown(obj, keys, f"{name}.")
    return obj


def bounded_list(doc: dict[str, Any], field: str, *, max_items: int, min_items: int = 0,
                 prefix: str = "") -> list[Any]:
    """A required JSON array field of `min_items` to `max_items` items."""
    name = prefix + field
    if field not in doc:
        raise ValidationError(f"{name} is required")
    value = doc[field]
    if not isinstance(value, list):
        raise ValidationError(f"{name} must be a list")
    if not min_items <= len(value) <= max_items:
        raise ValidationError(f"{name} must have {min_items} to {max_items} items")
    return value


def items(doc: dict[str, Any], field: str, keys: Collection[str], *, max_items: int, min_items: int = 0,
          prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The objects of a bounded list, each with its field prefix (`tiers[2].`), holding only `keys`.
    Each item is checked as the caller reaches it, so the first defect in document order is named."""
    values = bounded_list(doc, field, max_items=max_items, min_items=min_items, prefix=prefix)
    for i, raw in enumerate(values):
        name = f"{prefix}{field}[{i}]"
        item = require_object(raw, name)
        reject_unknown(item, keys, f"{name}.")
        yield f"{name}.", item


def id_list(doc: dict[str, Any], field: str, *, max_items: int, prefix: str = "") -> tuple[str, ...]:
    """A bounded list of id strings (1..64 characters)."""
    ids = bounded_list(doc, field, max_items=max_items, prefix=prefix)
    for i, value in enumerate(ids):
        if not isinstance(value, str) or not 1 <= len(value) <= ID_MAX:
            raise ValidationError(f"{prefix}{field}[{i}] must be an id string")
    return tuple(ids)


def read_code(obj: dict[str, Any], field: str, prefix: str) -> str:
    """A code: a lowercase letter, then up to 31 lowercase letters, digits or `_`."""
    code: str = read_str(obj, field, max_length=32, prefix=prefix)
    if not CODE_PATTERN.match(code):
        raise ValidationError(f"{prefix}{field} must be lowercase letters, digits or _")
    return code


def template_id(obj: dict[str, Any], field: str, prefix: str) -> str | None:
    """A coupon or subscribe-message template id, or null."""
    value: str | None = read_str(obj, field, max_length=ID_MAX, nullable=True, prefix=prefix)
    return value


def unique(values: list[Any], message: str) -> None:
    """Refuse a repeated value."""
    if len(set(values)) != len(values):
        raise ValidationError(message)
