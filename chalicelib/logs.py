"""Structured logs: one JSON object per line, with openids, phone numbers and tokens masked.

`configure()` puts the JSON formatter on the app's logger (`member-loyalty`, Chalice's `app.log`)
and on `chalicelib`'s (the parent of every module logger). Structured fields travel as
`log.info("...", extra={"fields": {...}})`; the message, the fields and any traceback are
redacted when the record is formatted.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

LOGGERS = ("member-loyalty", "chalicelib")

_OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{23}([A-Za-z0-9_-]{4})(?![A-Za-z0-9_-])")
_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")


def redact(value: Any) -> Any:
    """`value` with openids (`o…` + last 4), 11-digit phone numbers (`138****5678`) and tokens
    (after `Bearer `, or base64url JSON starting `eyJ`) masked, inside strings, dicts and lists."""
    if isinstance(value, str):
        value = _BEARER.sub(r"\1***", value)
        value = _TOKEN.sub("eyJ…", value)
        value = _OPENID.sub(r"o…\1", value)
        return _PHONE.sub(r"\1****\2", value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (the record's time, ISO UTC), level, logger, message, the
    record's `fields` under `extra`, and the traceback under `exc`, all redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one redacted JSON line."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            entry["extra"] = redact(fields)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever `sys.stdout` is when a record is emitted (test
    runners and the bench swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:
        """The current standard output."""
        return sys.stdout


def configure(level: int = logging.INFO) -> None:
    """Send the app's and chalicelib's loggers to stdout as JSON lines, once (idempotent); they
    do not propagate, so the Lambda runtime's root handler does not print them again."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers):
            handler = StdoutHandler()
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
