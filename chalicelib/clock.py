"""The one clock: instants in UTC, business dates in Asia/Shanghai.

Shanghai has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and needs no
tz database (the Lambda runtime does not ship one for `zoneinfo`). The local stage can freeze the
clock (`PUT /v1/admin/clock`); everything that asks for the time asks `now()`.
"""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

_lock = threading.Lock()
_frozen_at: datetime | None = None


def now() -> datetime:
    """The current instant, timezone-aware UTC (the test clock when one is set)."""
    with _lock:
        if _frozen_at is not None:
            return _frozen_at
    return datetime.now(timezone.utc)


def set_test_clock(instant: datetime) -> None:
    """Freeze the clock of this process at `instant` (aware) until set again or cleared."""
    global _frozen_at
    if instant.tzinfo is None:
        raise ValueError("the test clock needs an aware datetime")
    with _lock:
        _frozen_at = instant.astimezone(timezone.utc)


def clear_test_clock() -> None:
    """Go back to the real time."""
    global _frozen_at
    with _lock:
        _frozen_at = None


def business_date(instant: datetime | None = None) -> date:
    """The Shanghai calendar date of `instant` (default: now)."""
    return (instant or now()).astimezone(SHANGHAI).date()


def shanghai_start_of(day: date) -> datetime:
    """00:00 Shanghai time on `day`, as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(timezone.utc)


def render(instant: datetime) -> str:
    """ISO 8601 in Shanghai time with offset, e.g. `2026-11-22T09:30:00+08:00`."""
    return instant.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries an offset; raise ValueError otherwise."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp needs an offset")
    return value.astimezone(timezone.utc)
