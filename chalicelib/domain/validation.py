"""Strict readers for JSON input: ints are ints (not floats, not bools), strings have lengths,
enums are closed, dates are real calendar dates. Each raises ValidationError naming the field."""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from chalicelib.errors import ValidationError

MISSING: Any = object()
ID_MAX = 64
NAME_MAX = 64
TEXT_MAX = 500
URL_MAX = 1024
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def require_object(value: Any, field: str = "body") -> dict[str, Any]:
    """The value as a JSON object, else a ValidationError."""
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be a JSON object")
    return value


def reject_unknown(obj: Mapping[str, Any], allowed: Collection[str], prefix: str = "") -> None:
    """Refuse fields the contract does not define."""
    for key in obj:
        if key not in allowed:
            raise ValidationError(f"{prefix}{key} is not a known field")


def _absent(obj: Mapping[str, Any], field: str, default: Any, name: str) -> bool:
    """True when an optional field is missing; a missing required field is a ValidationError."""
    if field in obj:
        return False
    if default is MISSING:
        raise ValidationError(f"{name} is required")
    return True


def read_int(obj: Mapping[str, Any], field: str, *, minimum: int, maximum: int,
             default: Any = MISSING, prefix: str = "") -> Any:
    """An integer field within [minimum, maximum]; `default` when absent (else required)."""
    name = prefix + field
    if _absent(obj, field, default, name):
        return default
    value = obj[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer")
    if not minimum <= value <= maximum:
        raise ValidationError(f"{name} must be between {minimum} and {maximum}")
    return value


def read_str(obj: Mapping[str, Any], field: str, *, max_length: int, min_length: int = 1,
             default: Any = MISSING, nullable: bool = False, pattern: re.Pattern[str] | None = None,
             prefix: str = "") -> Any:
    """A string field with a length range (and optional pattern); `default` when absent."""
    name = prefix + field
    if _absent(obj, field, default, name):
        return default
    value = obj[field]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string")
    if not min_length <= len(value) <= max_length:
        raise ValidationError(f"{name} must be {min_length} to {max_length} characters")
    if pattern is not None and not pattern.match(value):
        raise ValidationError(f"{name} has an invalid format")
    return value


def read_enum(obj: Mapping[str, Any], field: str, choices: Collection[str], *,
              default: Any = MISSING, prefix: str = "") -> Any:
    """A string field that must be one of `choices`."""
    value = read_str(obj, field, max_length=ID_MAX, default=default, prefix=prefix)
    if value is not default and value not in choices:
        raise ValidationError(f"{prefix}{field} must be one of {', '.join(sorted(choices))}")
    return value


def read_tier_codes(value: Any) -> list[str] | None:
    """`tiers`: null (every tier) or a list of 1 to 20 tier codes."""
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > 20 or \
            not all(isinstance(t, str) and 1 <= len(t) <= 32 for t in value):
        raise ValidationError("tiers must be null or a list of 1 to 20 tier codes")
    return list(dict.fromkeys(value))


def parse_date(text: Any, field: str) -> date:
    """A real `YYYY-MM-DD` calendar date."""
    if not isinstance(text, str) or not _DATE_PATTERN.match(text):
        raise ValidationError(f"{field} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{field} is not a real calendar date") from None


def read_request_id(obj: Mapping[str, Any]) -> str:
    """The client's idempotency key: 1..64 chars of [A-Za-z0-9_-]."""
    request_id: str = read_str(obj, "request_id", max_length=ID_MAX, pattern=REQUEST_ID_PATTERN)
    return request_id
