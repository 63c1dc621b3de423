"""Check-in rules: one per date, streaks, bonuses, make-ups (pure)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from chalicelib.domain.checkin import CheckinState, calendar_view, check_in, current_streak, make_up
from chalicelib.domain.program import Makeup, default_program
from chalicelib.errors import AlreadyCheckedIn, Conflict, LimitReached, ValidationError

PROGRAM = default_program().checkin
MAKEUP = replace(PROGRAM, makeup=Makeup(points_cost=20, monthly_limit=1))
EMPTY = CheckinState({}, {})


def days(*numbers: int, month: str = "2026-11") -> CheckinState:
    return CheckinState({month: list(numbers)}, {})


def test_the_seventh_consecutive_day_pays_the_bonus() -> None:
    outcome = check_in(days(1, 2, 3, 4, 5, 6), PROGRAM, date(2026, 11, 7))
    assert (outcome.streak, outcome.points, outcome.bonus_points) == (7, 5, 20)
    assert check_in(days(1, 2, 3, 4, 5, 6, 7), PROGRAM, date(2026, 11, 8)).bonus_points == 0


def test_a_gap_restarts_the_streak_and_a_day_cannot_repeat() -> None:
    assert check_in(days(1, 2), PROGRAM, date(2026, 11, 4)).streak == 1
    with pytest.raises(AlreadyCheckedIn) as raised:
        check_in(days(4), PROGRAM, date(2026, 11, 4))
    assert (raised.value.code, raised.value.message) == ("ALREADY_CHECKED_IN", "今天已经签到过了")


def test_streaks_cross_months() -> None:
    state = CheckinState({"2026-10": [30, 31], "2026-11": [1]}, {})
    assert current_streak(state.dates(), date(2026, 11, 2)) == 3
    assert current_streak(state.dates(), date(2026, 11, 3)) == 0


def test_a_make_up_repairs_the_streak_within_the_monthly_limit() -> None:
    outcome = make_up(days(1, 2, 4, 5), MAKEUP, date(2026, 11, 6), date(2026, 11, 3))
    assert (outcome.streak, outcome.cost, outcome.points, outcome.bonus_points) == (5, 20, 5, 0)
    assert outcome.state.makeups == {"2026-11": 1}
    with pytest.raises(AlreadyCheckedIn) as raised:
        make_up(days(1, 2, 4, 5), MAKEUP, date(2026, 11, 6), date(2026, 11, 4))
    assert (raised.value.code, raised.value.message) == ("ALREADY_CHECKED_IN", "2026-11-04 已经签到过了")
    with pytest.raises(LimitReached) as raised:
        make_up(CheckinState(days(1).months, {"2026-11": 1}), MAKEUP, date(2026, 11, 6), date(2026, 11, 2))
    assert isinstance(raised.value, Conflict)
    assert (raised.value.code, raised.value.message) == ("LIMIT_REACHED", "本月补签次数已用完（1 次）")


@pytest.mark.parametrize("day", [date(2026, 10, 31), date(2026, 11, 6), date(2026, 11, 7)])
def test_make_ups_are_for_earlier_days_of_this_month(day: date) -> None:
    with pytest.raises(ValidationError):
        make_up(EMPTY, MAKEUP, date(2026, 11, 6), day)


def test_make_ups_need_the_program_to_offer_them() -> None:
    with pytest.raises(ValidationError):
        make_up(EMPTY, PROGRAM, date(2026, 11, 6), date(2026, 11, 2))


def test_the_calendar_lists_the_month() -> None:
    view = calendar_view(days(1, 2), "2026-11", date(2026, 11, 3))
    assert view == {"month": "2026-11", "dates": ["2026-11-01", "2026-11-02"], "streak": 2,
                    "checked_in_today": False}
