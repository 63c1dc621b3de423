"""Daily check-in (签到): once per Shanghai date, streaks of consecutive dates, streak bonuses, and
the make-up check-in (补签) of a missed day of the current month at a points cost."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chalicelib.domain.program import CheckinRules
from chalicelib.errors import AlreadyCheckedIn, LimitReached, ValidationError

MONTHS_KEPT = 13


@dataclass(frozen=True)
class CheckinState:
    """A member's check-in history: days by month (`{"2026-11": [1, 2, 5]}`) and make-ups by month."""

    months: dict[str, list[int]]
    makeups: dict[str, int]

    def dates(self) -> set[date]:
        """Every recorded check-in date."""
        return {date(int(m[:4]), int(m[5:7]), d) for m, days in self.months.items() for d in days}


@dataclass(frozen=True)
class CheckinOutcome:
    """What one check-in changes."""

    day: date
    streak: int
    points: int
    bonus_points: int
    cost: int
    state: CheckinState


def month_key(day: date) -> str:
    """`2026-11` for any day of November 2026."""
    return day.isoformat()[:7]


def streak_ending(dates: set[date], end: date) -> int:
    """How many consecutive dates end at `end` (0 if `end` is not a check-in date)."""
    count = 0
    while end - timedelta(days=count) in dates:
        count += 1
    return count


def current_streak(dates: set[date], today: date) -> int:
    """The streak still alive today: ending today, or yesterday if today is not checked in yet."""
    return streak_ending(dates, today) or streak_ending(dates, today - timedelta(days=1))


def check_in(state: CheckinState, rules: CheckinRules, today: date) -> CheckinOutcome:
    """Today's check-in: the day's points, and a streak bonus on the day the streak reaches one."""
    if today in state.dates():
        raise AlreadyCheckedIn("今天已经签到过了")
    recorded = _record(state, today)
    streak = streak_ending(recorded.dates(), today)
    return CheckinOutcome(today, streak, rules.points, rules.bonus_for(streak), 0, recorded)


def make_up(state: CheckinState, rules: CheckinRules, today: date, day: date) -> CheckinOutcome:
    """A make-up check-in of a missed `day` earlier this month: the day's points, at the configured
    cost, within the monthly limit; it repairs the streak (no streak bonus is paid for it)."""
    makeup = rules.makeup
    if makeup is None:
        raise ValidationError("暂不支持补签", "date")
    if month_key(day) != month_key(today) or day >= today:
        raise ValidationError("只能补签本月今天之前的日期", "date")
    if day in state.dates():
        raise AlreadyCheckedIn(f"{day.isoformat()} 已经签到过了")
    month = month_key(today)
    if state.makeups.get(month, 0) >= makeup.monthly_limit:
        raise LimitReached(f"本月补签次数已用完（{makeup.monthly_limit} 次）")
    recorded = _record(state, day)
    recorded = CheckinState(recorded.months, {month: state.makeups.get(month, 0) + 1})
    return CheckinOutcome(day, current_streak(recorded.dates(), today), rules.points, 0,
                          makeup.points_cost, recorded)


def _record(state: CheckinState, day: date) -> CheckinState:
    """Add a date, keeping the last 13 months of history."""
    months = {m: list(days) for m, days in state.months.items()}
    months.setdefault(month_key(day), []).append(day.day)
    months[month_key(day)].sort()
    kept = dict(sorted(months.items())[-MONTHS_KEPT:])
    return CheckinState(kept, dict(state.makeups))


def calendar_view(state: CheckinState, month: str, today: date) -> dict[str, Any]:
    """`GET /v1/checkins?month=`: the month's dates, the live streak, and whether today is done."""
    dates = state.dates()
    return {
        "month": month,
        "dates": [f"{month}-{d:02d}" for d in state.months.get(month, [])],
        "streak": current_streak(dates, today),
        "checked_in_today": today in dates,
    }
