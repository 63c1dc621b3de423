"""Declarations of single JSON values: integers, booleans, strings (with the text rules), enums,
dates, instants and free-form scalars."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib import messages
from chalicelib.clock import parse_instant
from chalicelib.errors import ValidationError
from chalicelib.schema.base import Schema

MIN_YEAR, MAX_YEAR = 1900, 2100
_BIDI_AND_INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Int(Schema):
    """An integer in [minimum, maximum]; never a float or a bool."""

    minimum: int
    maximum: int
    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(messages.NOT_INTEGER.format(self.label(path)), path)
        if not self.minimum <= value <= self.maximum:
            raise ValidationError(messages.OUT_OF_RANGE.format(self.label(path), self.minimum, self.maximum), path)
        return value

    def _json(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass
class Bool(Schema):
    """true or false."""

    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(messages.NOT_BOOLEAN.format(self.label(path)), path)
        return value

    def _json(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass
class Str(Schema):
    """A string of `min_length`..`max_length` characters, optionally matching `pattern`.

    Every string must be encodable text (no lone surrogate) without control characters (free
    text may hold line breaks and tabs); `display` strings (names shown to people) also refuse the
    invisible and direction-changing characters that could spoof one name as another.
    """

    max_length: int
    min_length: int = 1
    pattern: str | None = None
    nullable: bool = False
    multiline: bool = False
    display: bool = False
    title: str | None = None
    description: str | None = None
    check: Callable[[str], bool] | None = None

    def _read(self, value: Any, path: str) -> str:
        label = self.label(path)
        if not isinstance(value, str):
            raise ValidationError(messages.NOT_STRING.format(label), path)
        if not self.min_length <= len(value) <= self.max_length:
            raise ValidationError(messages.BAD_LENGTH.format(label, self.min_length, self.max_length), path)
        if not clean_text(value, multiline=self.multiline, display=self.display):
            raise ValidationError(messages.BAD_CHARACTERS.format(label), path)
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ValidationError(messages.BAD_FORMAT.format(label), path)
        if self.check is not None and not self.check(value):
            raise ValidationError(messages.BAD_FORMAT.format(label), path)
        return value

    def _json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": "string", "minLength": self.min_length, "maxLength": self.max_length}
        if self.pattern is not None:
            doc["pattern"] = f"^(?:{self.pattern})$"
        return doc


def clean_text(text: str, *, multiline: bool = False, display: bool = False) -> bool:
    """Whether `text` is valid Unicode text without control characters (and, for `display`,
    without invisible or direction-changing ones, except a zero-width joiner inside an emoji)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    for i, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cc" and not (multiline and char in "\n\r\t"):
            return False
        invisible = category in ("Cf", "Zl", "Zp") or _BIDI_AND_INVISIBLE.match(char)
        if display and invisible and not (char == "\u200d" and _between_symbols(text, i)):
            return False
    return True


def _between_symbols(text: str, i: int) -> bool:
    """A zero-width joiner between two pictographs (👨‍👩‍👧), not between letters or digits."""
    if i == 0 or i == len(text) - 1:
        return False
    return all(unicodedata.category(c)[0] not in "LNZ" for c in (text[i - 1], text[i + 1]))


@dataclass
class Enum(Schema):
    """One of a closed set of strings."""

    choices: Sequence[str]
    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValidationError(messages.NOT_ONE_OF.format(self.label(path), "、".join(self.choices)), path)
        return value

    def _json(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass
class Day(Schema):
    """A real calendar date `YYYY-MM-DD` between 1900 and 2100, read as a `date`."""

    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> date:
        label = self.label(path)
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValidationError(messages.NOT_DATE.format(label), path)
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(messages.NOT_REAL_DATE.format(label), path) from None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValidationError(messages.YEAR_RANGE.format(label, MIN_YEAR, MAX_YEAR), path)
        return day

    def shape(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    def _json(self) -> dict[str, Any]:
        return {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


@dataclass
class Instant(Schema):
    """An ISO 8601 timestamp with an offset, between 1900 and 2100, read as an aware datetime."""

    nullable: bool = False
    title: str | None = None
    description: str | None = None

    def _read(self, value: Any, path: str) -> datetime:
        label = self.label(path)
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError(messages.NOT_INSTANT.format(label), path)
        try:
            instant = parse_instant(value)
        except (ValueError, OverflowError):
            raise ValidationError(messages.NOT_INSTANT.format(label), path) from None
        if not MIN_YEAR <= instant.year <= MAX_YEAR:
            raise ValidationError(messages.YEAR_RANGE.format(label, MIN_YEAR, MAX_YEAR), path)
        return instant

    def _json(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "maxLength": 40}


@dataclass
class Scalar(Schema):
    """A free-form value: a string (up to `text_max` characters), an integer within ±2^53, a
    boolean or null."""

    text_max: int
    title: str | None = None
    description: str | None = None

    def read(self, value: Any, path: str = "") -> Any:
        if isinstance(value, str):
            return Str(self.text_max, min_length=0, title=self.title).read(value, path)
        if isinstance(value, int) and not isinstance(value, bool):
            return Int(-(2**53), 2**53, title=self.title).read(value, path)
        if value is None or isinstance(value, bool):
            return value
        raise ValidationError(messages.NOT_SCALAR.format(self.label(path)), path)

    def _json(self) -> dict[str, Any]:
        return {"type": ["string", "integer", "boolean", "null"]}
