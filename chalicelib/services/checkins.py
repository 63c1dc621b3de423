"""The member's daily check-in and check-in calendar."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from chalicelib import clock
from chalicelib.domain.analytics import Tally
from chalicelib.domain.checkin import calendar_view, check_in, make_up
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.program import Program
from chalicelib.domain.tokens import Principal
from chalicelib.services.common import resolve_member, run_for_member
from chalicelib.services.figures import save_member
from chalicelib.services.runner import Command, Decision
from chalicelib.store import members, settings
from chalicelib.store.parts import UnitOfWork


def check_in_now(uow: UnitOfWork, principal: Principal, makeup_day: date | None) -> dict[str, Any]:
    """Check in for today (or make up a missed day of this month): one read and one transaction.
    Parallel attempts race on the member's version, so only one can win."""
    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        member: Member = read["member"]
        program: Program = read["program"]
        now = clock.now()
        today = clock.business_date(now)
        outcome = check_in(member.checkin, program.checkin, today) if makeup_day is None else \
            make_up(member.checkin, program.checkin, today, makeup_day)
        plan = LedgerPlan(member, now=now, keep_years=program.keep_years)
        day = outcome.day.isoformat()
        if outcome.cost:
            plan.spend(outcome.cost, "checkin_makeup", ref=day)
        if outcome.points:
            plan.add(outcome.points, "checkin", ref=day)
        if outcome.bonus_points:
            plan.add(outcome.bonus_points, "checkin_streak_bonus", ref=day)
        answer = {"date": day, "streak": outcome.streak, "points_awarded": outcome.points,
                  "bonus_points": outcome.bonus_points, "balance": plan.points.balance}
        return Decision(answer, save_member(member, replace(member, checkin=outcome.state), program, now, plan=plan,
                                            active_on=today, tally=Tally().count(today, checkins=1)))

    return run_for_member(uow, principal, lambda member_id: Command(
        {"member": members.member(member_id), "program": settings.program()}, decide))[1]


def calendar(uow: UnitOfWork, principal: Principal, month: str | None) -> dict[str, Any]:
    """The month's check-in dates (default: this Shanghai month), the streak and today's status."""
    member, _ = resolve_member(uow, principal)
    today = clock.business_date()
    return calendar_view(member.checkin, month or today.isoformat()[:7], today)
