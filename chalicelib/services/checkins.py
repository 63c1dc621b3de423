"""The member's daily check-in and check-in calendar."""
from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib import clock
from chalicelib.domain.checkin import calendar_view, check_in, make_up
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.tokens import Principal
from chalicelib.errors import Conflict
from chalicelib.services.common import resolve_member, retrying
from chalicelib.store.repository import MemberUpdate, store


def check_in_now(principal: Principal, makeup_day: date | None) -> dict[str, Any]:
    """Check in for today (or make up a missed day of this month): one read and one transaction.
    Parallel attempts race on the member's ledger sequence, so only one can win."""
    def attempt() -> dict[str, Any]:
        member, program = resolve_member(store(), principal)
        now = clock.now()
        today = clock.business_date(now)
        outcome = check_in(member.checkin, program, today) if makeup_day is None else \
            make_up(member.checkin, program, today, makeup_day)
        plan = LedgerPlan(member, now=now, keep_years=program["points_expiry"]["keep_years"])
        day = outcome.day.isoformat()
        if outcome.cost:
            if plan.points.balance < outcome.cost:
                raise Conflict("INSUFFICIENT_POINTS",
                               f"需要 {outcome.cost} 积分，当前 {plan.points.balance} 积分")
            plan.add(-outcome.cost, "checkin_makeup", ref=day)
        if outcome.points:
            plan.add(outcome.points, "checkin", ref=day)
        if outcome.bonus_points:
            plan.add(outcome.bonus_points, "checkin_streak_bonus", ref=day)
        store().commit(MemberUpdate(member, plan, checkin=outcome.state), now=now)
        return {"date": day, "streak": outcome.streak, "points_awarded": outcome.points,
                "bonus_points": outcome.bonus_points, "balance": plan.points.balance}

    return retrying(attempt)


def calendar(principal: Principal, month: str | None) -> dict[str, Any]:
    """The month's check-in dates (default: this Shanghai month), the streak and today's status."""
    member, _ = resolve_member(store(), principal)
    today = clock.business_date()
    return calendar_view(member.checkin, month or today.isoformat()[:7], today)
