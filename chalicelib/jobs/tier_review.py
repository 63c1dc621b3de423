"""`tier-review`: record the tier of members whose growth aged out of the two-year window.

Tiers are computed on read, so this job only writes history (the `tier_changes` table) and the
recorded tier, for members recorded above the base tier (the sparse `tier-index`), shard by shard.
Each change is conditioned on the recorded tier, so a second run changes nothing. For each change
it records, it sends the `notifications.templates.tier_changed` notice (if set) to a member holding
a grant; keywords `thing1` (the new tier's name) and `thing2` (the old one's). A notice that cannot
be sent is not tried again by a later run (the change is already recorded).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib import clock
from chalicelib.clock import parse_instant
from chalicelib.domain.member import Member, member_tier
from chalicelib.domain.tiers import TierChange, tier_change
from chalicelib.services import notify
from chalicelib.jobs.fanout import Segment, dispatch, shard_segments, walk_pages
from chalicelib.store.mapping import SHARDS
from chalicelib.store.repository import store

NAME = "tier-review"
PAGE_SIZE = 100


def start(as_of: datetime, *, dry_run: bool = False) -> Counter[str]:
    """Fan the review out over every shard."""
    return dispatch(shard_segments(NAME, as_of, SHARDS, dry_run=dry_run), run_segment)


def run_segment(segment: Segment) -> Counter[str]:
    """Review one shard's members recorded above the base tier."""
    repo = store()
    as_of = parse_instant(segment["as_of"])
    program = repo.program()
    base_tier = program["tiers"][0]["code"]
    names = {tier["code"]: tier["name"] for tier in program["tiers"]}
    notice_template: str | None = program["notifications"]["templates"]["tier_changed"]
    counts: Counter[str] = Counter(members_reviewed=0, tier_changes=0, notices_sent=0)

    def review(member: Member) -> None:
        counts["members_reviewed"] += 1
        change = tier_change(member.member_id, member.tier_code, member_tier(member, program, as_of),
                             "review", as_of)
        if change and (segment["dry_run"] or repo.record_tier_change(change, base_tier)):
            counts["tier_changes"] += 1
            if notice_template:
                counts["notices_sent"] += _notify(member, change, notice_template, names, dry_run=segment["dry_run"])

    walk_pages(segment, lambda start: repo.members_above_base_tier(segment["shard"], limit=PAGE_SIZE, start=start),
               review)
    return counts


def _notify(member: Member, change: TierChange, template_id: str, names: dict[str, str], *, dry_run: bool) -> bool:
    """Tell the member of the change (if holding a grant); True if sent (or, dry, would be)."""
    if dry_run:
        return store().subscriptions(member.openid).get(template_id, 0) > 0
    values = {"thing1": names.get(change.to_tier, change.to_tier),
              "thing2": names.get(change.from_tier, change.from_tier)}
    return notify.send_notice(member.member_id, member.openid, template_id, values, job=NAME,
                              business_date=clock.business_date(change.at), now=change.at) == notify.SENT
