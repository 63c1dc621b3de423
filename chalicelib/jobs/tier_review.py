"""`tier-review`: record the tier of members whose growth aged out of the two-year window.

Tiers are computed on read, so this job only writes history (the `tier_changes` table) and the
recorded tier, for members recorded above the base tier (the sparse `tier-index`). Each change is
conditioned on the member's version, so a second run changes nothing. For each change it records,
it sends the `notifications.templates.tier_changed` notice (if set) to a member holding a grant;
keywords `thing1` (the new tier's name) and `thing2` (the old one's). A notice that cannot be sent
is not tried again by a later run (the change is already recorded), nor is one the weekly budget
held back (`notices_capped`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from chalicelib.domain.member import Member, member_tier
from chalicelib.domain.tiers import TierChange, tier_change
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services import notify
from chalicelib.services.runner import Command, Decision
from chalicelib.store import members
from chalicelib.store.parts import Query

NAME = "tier-review"


def _above_base(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Member | None]:
    return members.above_base_tier(shard, cursor)


def _review(run: JobRun, member: Member) -> Counter[str]:
    """Record the member's tier if it fell; tell the member."""
    def decide(read: dict[str, Any]) -> Decision[TierChange | None]:
        current: Member | None = read["member"]
        change = tier_change(current.member_id, current.tier_code, member_tier(current, run.program, run.as_of),
                             "review", run.as_of) if current else None
        if current is None or change is None:
            return Decision(None)
        return Decision(change, members.save(current, replace(current, tier_code=change.to_tier), [],
                                             base_tier=run.program.base_tier.code, tier_change=change))

    change: TierChange | None = run.change(Command({"member": members.member(member.member_id)}, decide,
                                                   first={"member": member}))
    counts = Counter(members_reviewed=1)
    template_id = run.program.notice_template("tier_changed")
    if change is not None:
        counts["tier_changes"] += 1
        if template_id:
            values = {"thing1": run.program.tier_name(change.to_tier),
                      "thing2": run.program.tier_name(change.from_tier)}
            counts.update(notify.counted(run.notify(member, template_id, values, at=change.at), "notices_sent"))
    return counts


JOB = ShardedJob(NAME, ("members_reviewed", "tier_changes", "notices_sent", notify.CAPPED_COUNT), _above_base,
                 _review)
