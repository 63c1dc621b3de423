"""Subscribe-message data within WeChat's limits, by the type its keyword names (`thing1` is a
`thing`): values that would make WeChat refuse the message (47003) are cut or formatted here."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from chalicelib.clock import SHANGHAI

# Longest value WeChat accepts per keyword type (characters).
LIMITS = {"thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32, "phrase": 5,
          "name": 10, "phone_number": 17, "car_number": 8, "amount": 32, "date": 32, "time": 32}
_KEY = re.compile(r"([a-z_]+?)(\d+)")


def keyword_type(key: str) -> str:
    """The type of a template keyword: `thing1` → `thing`; ValueError for keys WeChat has no type for."""
    match = _KEY.fullmatch(key)
    if match is None or match.group(1) not in LIMITS:
        raise ValueError(f"unknown subscribe-message keyword: {key}")
    return match.group(1)


def render_value(kind: str, value: Any) -> str:
    """One value as WeChat takes it: amounts in fen as `12.00元`, instants as Shanghai
    `YYYY年MM月DD日 HH:mm`, dates as `YYYY年MM月DD日`, anything else as text cut to the type's limit."""
    if kind == "amount" and isinstance(value, int) and not isinstance(value, bool):
        sign, fen = ("-" if value < 0 else ""), abs(value)
        text = f"{sign}{fen // 100}.{fen % 100:02d}元"
    elif kind in ("date", "time") and isinstance(value, datetime):
        text = value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")
    elif kind in ("date", "time") and isinstance(value, date):
        text = value.strftime("%Y年%m月%d日")
    elif kind == "number":
        text = "".join(ch for ch in str(value) if ch.isdigit() or ch in ".-")
    else:
        text = " ".join(str(value).split())
    limit = LIMITS[kind]
    if len(text) <= limit:
        return text
    return text[:limit - 1] + "…" if kind == "thing" else text[:limit]


def render(values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """A message's `data`: `{"thing1": "春季上新"}` → `{"thing1": {"value": "春季上新"}}`."""
    return {key: {"value": render_value(keyword_type(key), value)} for key, value in values.items()}
