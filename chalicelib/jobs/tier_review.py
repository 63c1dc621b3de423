"""`tier-review`: record the tier of members whose growth aged out of the two-year window.

Tiers are computed on read, so this job only writes history (the `tier_changes` table) and the
recorded tier, for members recorded above the base tier (the sparse `tier-index`), shard by shard.
Each change is conditioned on the recorded tier, so a second run changes nothing.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib.clock import parse_instant
from chalicelib.domain.member import Member, member_tier
from chalicelib.domain.tiers import tier_change
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
    counts: Counter[str] = Counter(members_reviewed=0, tier_changes=0)

    def review(member: Member) -> None:
        counts["members_reviewed"] += 1
        change = tier_change(member.member_id, member.tier_code, member_tier(member, program, as_of),
                             "review", as_of)
        if change and (segment["dry_run"] or repo.record_tier_change(change, base_tier)):
            counts["tier_changes"] += 1

    walk_pages(segment, lambda start: repo.members_above_base_tier(segment["shard"], limit=PAGE_SIZE, start=start),
               review)
    return counts
