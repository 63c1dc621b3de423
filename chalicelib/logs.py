"""Structured logs: one JSON object per line, with openids, phone numbers and tokens masked.

`configure()` puts the JSON formatter on the app's logger (`member-loyalty`, Chalice's `app.log`)
and on `chalicelib`'s (the parent of every module logger). Structured fields travel as
`log.info("...", extra={"fields": {...}})`; the message, the fields and any traceback are
redacted when the record is formatted. A record's `root` entries (the embedded metric format's
`_aws` and its values, `chalicelib/metrics.py`) go at the top level of its line.

Every line written during an invocation carries its Lambda request id (`lambda_request_id`) and,
for an API request, API Gateway's (`api_request_id`): `bind_invocation`, a Chalice middleware for
every kind of event, holds them for the invocation.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

LOGGERS = ("member-loyalty", "chalicelib")

_OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{23}([A-Za-z0-9_-]{4})(?![A-Za-z0-9_-])")
_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
_INVOCATION: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("invocation", default=())


def bind_invocation(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware (every event type): the invocation's request ids on every log line it writes.
    An HTTP event is a `Request` (its `lambda_context`, and API Gateway's `requestId` in its
    `context`); the others carry the Lambda context as `context`."""
    lambda_context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    request_context = getattr(event, "context", None)
    ids = {"lambda_request_id": str(getattr(lambda_context, "aws_request_id", "") or "")}
    if isinstance(request_context, dict):
        ids["api_request_id"] = str(request_context.get("requestId") or "")
    token = _INVOCATION.set(tuple((name, value) for name, value in ids.items() if value))
    try:
        return get_response(event)
    finally:
        _INVOCATION.reset(token)


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
    invocation's request ids, the record's `fields` under `extra`, and the traceback under `exc`,
    all redacted; then the record's `root` entries, as they are."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one redacted JSON line."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **dict(_INVOCATION.get()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            entry["extra"] = redact(fields)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        root = getattr(record, "root", None)
        if isinstance(root, dict):
            entry.update(root)
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
