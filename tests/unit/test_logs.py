"""Structured logs: redaction of openids, phone numbers and tokens, and the JSON line format."""
from __future__ import annotations

import json
import logging
import sys

from chalicelib.logs import JsonFormatter, redact

OPENID = "oAbCdEfGhIjKlMnOpQrStUvW_x-9"
TOKEN = "eyJvcGVuaWQiOiJvQWJDIn0.c2lnbmF0dXJlLW1hYw"


def record(message: str, *args: object, fields: dict[str, object] | None = None,
           level: int = logging.INFO) -> logging.LogRecord:
    made = logging.LogRecord("member-loyalty", level, __file__, 1, message, args, None)
    if fields is not None:
        made.fields = fields
    return made


def test_openids_keep_only_their_last_four_characters() -> None:
    assert len(OPENID) == 28
    assert redact(f"member {OPENID} joined") == f"member o…{OPENID[-4:]} joined"
    assert redact(f"{OPENID}#tpl#2026-05-20#member-day") == f"o…{OPENID[-4:]}#tpl#2026-05-20#member-day"


def test_words_that_only_look_like_openids_are_kept() -> None:
    assert redact("o" + "a" * 26) == "o" + "a" * 26  # one character short
    assert redact("xo" + "a" * 27) == "xo" + "a" * 27  # inside a longer word


def test_phone_numbers_keep_their_first_three_and_last_four_digits() -> None:
    assert redact("phone 13812345678.") == "phone 138****5678."
    assert redact("phone-13912345678") == "phone-139****5678"
    assert redact("order 213812345678") == "order 213812345678"  # 12 digits: not a phone


def test_tokens_are_masked_after_bearer_and_wherever_they_start_eyj() -> None:
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    assert redact(f"token={TOKEN}; next") == "token=eyJ…; next"


def test_redaction_goes_into_dicts_and_lists_and_leaves_other_values() -> None:
    value = {"openid": OPENID, "phones": ["13812345678", 42], "ok": True, "n": None}
    assert redact(value) == {"openid": f"o…{OPENID[-4:]}", "phones": ["138****5678", 42], "ok": True, "n": None}


def test_a_record_is_one_json_line_with_its_fields_redacted() -> None:
    line = JsonFormatter().format(record("login %s from %s", OPENID, "13812345678",
                                         fields={"token": TOKEN, "status": 200}))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry == {"ts": entry["ts"], "level": "INFO", "logger": "member-loyalty",
                     "message": f"login o…{OPENID[-4:]} from 138****5678",
                     "extra": {"token": "eyJ…", "status": 200}}
    assert entry["ts"].endswith("+00:00")


def test_the_timestamp_is_the_records_own_time_in_utc() -> None:
    made = record("x")
    made.created = 1_779_242_400.5  # 2026-05-20T02:00:00.5Z
    assert json.loads(JsonFormatter().format(made))["ts"] == "2026-05-20T02:00:00.500+00:00"


def test_tracebacks_are_redacted_too() -> None:
    try:
        raise RuntimeError(f"no member for {OPENID}")
    except RuntimeError:
        made = record("failed", level=logging.ERROR)
        made.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(made))
    assert "RuntimeError" in entry["exc"] and OPENID not in entry["exc"]
    assert "extra" not in entry
