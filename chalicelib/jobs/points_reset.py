"""`yearly-points-reset` (年度清零): at 00:00 Shanghai on 1 January, write the `expire` entries.

Balances are already exact at that instant (expiry is computed on read); this job writes the audit
entries for members who hold expired points, so the ledger sums to the balance again. It reads
only members holding points (the sparse `expiry-index`), shard by shard in parallel segments,
one page per step, and settles each member with one conditioned transaction: a second run, a
concurrent write or a crash and retry never writes an entry twice.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib.clock import parse_instant
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.points import last_expired_year
from chalicelib.jobs.fanout import Segment, dispatch, shard_segments, walk_pages
from chalicelib.store.base import VersionConflict
from chalicelib.store.mapping import SHARDS
from chalicelib.store.repository import MemberUpdate, store

NAME = "yearly-points-reset"
PAGE_SIZE = 100
SETTLE_ATTEMPTS = 3


def start(as_of: datetime, *, dry_run: bool = False) -> Counter[str]:
    """Fan the reset out over every shard; counts are summed when the segments run locally."""
    return dispatch(shard_segments(NAME, as_of, SHARDS, dry_run=dry_run), run_segment)


def run_segment(segment: Segment) -> Counter[str]:
    """Settle one shard's members holding expired points, page after page."""
    repo = store()
    as_of = parse_instant(segment["as_of"])
    keep_years = repo.program()["points_expiry"]["keep_years"]
    counts: Counter[str] = Counter(members_expired=0, points_expired=0)

    def settle(member: Member) -> None:
        expired = _settle(member, as_of, keep_years, dry_run=segment["dry_run"])
        if expired:
            counts["members_expired"] += 1
            counts["points_expired"] += expired

    walk_pages(segment, lambda start: repo.members_with_points_to_expire(
        segment["shard"], last_expired_year(as_of, keep_years), limit=PAGE_SIZE, start=start), settle)
    return counts


def _settle(member: Member, as_of: datetime, keep_years: int, *, dry_run: bool) -> int:
    """Write one member's expire entry as of `as_of`; return the points expired (0 if none are)."""
    for _ in range(SETTLE_ATTEMPTS):
        plan = LedgerPlan(member, now=as_of, keep_years=keep_years)
        if not plan.entries or dry_run:
            return plan.expired_points
        try:
            store().commit(MemberUpdate(member, plan), now=as_of)
            return plan.expired_points
        except VersionConflict:
            fresh = store().member(member.member_id)
            if fresh is None:
                return 0
            member = fresh
    raise VersionConflict()
