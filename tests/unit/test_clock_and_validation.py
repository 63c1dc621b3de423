"""Business dates are Shanghai dates; input readers are strict about types."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib import clock
from chalicelib.errors import ValidationError
from chalicelib.schema import Day, Int, Str


def test_business_date_is_the_shanghai_date() -> None:
    assert clock.business_date(datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc)) == date(2026, 11, 22)
    assert clock.business_date(datetime(2026, 11, 22, 16, 10, tzinfo=timezone.utc)) == date(2026, 11, 23)


def test_render_uses_the_shanghai_offset() -> None:
    assert clock.render(datetime(2026, 11, 22, 1, 30, tzinfo=timezone.utc)) == "2026-11-22T09:30:00+08:00"


def test_the_test_clock_stands_still_until_cleared() -> None:
    instant = datetime(2026, 12, 31, 15, 59, 59, tzinfo=timezone.utc)
    clock.set_test_clock(instant)
    try:
        assert clock.now() == instant and clock.now() == instant
    finally:
        clock.clear_test_clock()
    assert clock.now() != instant


@pytest.mark.parametrize("value", [1.0, True, "1", None, 2**40])
def test_read_int_refuses_non_integers_and_out_of_range(value) -> None:
    with pytest.raises(ValidationError):
        Int(0, 10).read(value, "n")


def test_read_str_checks_length() -> None:
    assert Str(1).read("好", "s") == "好"
    with pytest.raises(ValidationError):
        Str(1).read("好好", "s")


@pytest.mark.parametrize("text", ["2026-02-30", "2026-2-01", "20260201", 20260201, "2026-13-01"])
def test_parse_date_requires_a_real_calendar_date(text) -> None:
    with pytest.raises(ValidationError):
        Day().read(text, "birthday")
