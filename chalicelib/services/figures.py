"""Saving a member together with what the change adds to the store-wide figures (§7): the plan's
points, the member's first activity of the day, their place in the tier counts, and whatever else
the use case counts (orders, coupons, check-ins), all in the change's own transaction."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from chalicelib import clock
from chalicelib.domain.analytics import Tally, mark_active, place_member
from chalicelib.domain.coupons import Coupon, Template
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.program import Program
from chalicelib.domain.tiers import TierChange
from chalicelib.store import analytics, coupons, members
from chalicelib.store.base import shard_of
from chalicelib.store.parts import Write


def save_member(before: Member, after: Member, program: Program, now: datetime, *, plan: LedgerPlan | None = None,
                active_on: date | None = None, tally: Tally | None = None,
                tier_change: TierChange | None = None) -> list[Write]:
    """The member's new state (settled by `plan`), its ledger entries and tier change, and the
    figures: the plan's points, an activity on `active_on`, the tier place and `tally`."""
    total = Tally().merge(tally) if tally is not None else Tally()
    if plan is not None:
        after = plan.settled(after)
        total.merge(plan.tally)
    if active_on is not None:
        active_days, activity = mark_active(after.active_days, active_on)
        after = replace(after, active_days=active_days)
        total.merge(activity)
    after, placed = place_member(before, after, program, clock.business_date(now))
    writes = members.save(before, after, plan.entries if plan is not None else [], base_tier=program.base_tier.code,
                          tier_change=tier_change)
    return writes + figures(after.member_id, total.merge(placed))


def figures(member_id: str, tally: Tally) -> list[Write]:
    """The counter updates of a tally of the member's shard."""
    return list(analytics.writes(shard_of(member_id), tally.nonzero()))


def activity(member: Member, program: Program, now: datetime) -> list[Write]:
    """Record a change that does not otherwise write the member (a coupon claim) as the member's
    activity today: nothing to write unless it is their first of the day."""
    today = clock.business_date(now)
    if not mark_active(member.active_days, today)[1].days:
        return []
    return save_member(member, member, program, now, active_on=today)


def issued(template: Template, given: list[Coupon]) -> list[Write]:
    """Give coupons of a template (`coupons.issue`), counted on the dates they were obtained."""
    writes = coupons.issue(template, given)
    for coupon in given:
        writes += figures(coupon.member_id, Tally().count(clock.business_date(coupon.obtained_at), coupons_issued=1))
    return writes
