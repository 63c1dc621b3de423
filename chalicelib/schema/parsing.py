"""Strict JSON text: what every body (a route's, a WeChat push's) is parsed with."""
from __future__ import annotations

import json
from typing import Any

from chalicelib import messages
from chalicelib.errors import ValidationError


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no repeated key, bounded nesting."""
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise ValidationError(messages.DUPLICATE_KEY.format(exc.key), exc.key) from None
    except RecursionError:
        raise ValidationError(messages.TOO_DEEP, "") from None
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(messages.NOT_JSON, "") from None
