"""`coupon-expiry`: mark coupons whose validity has ended as expired, for reporting.

Reads never depend on it (a coupon reads `expired` the instant `valid_until` passes); it reaches
only unused, unmarked coupons (the sparse `coupon-expiry-index`), shard by shard, and a marked
coupon leaves the index, so a second run changes nothing.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib.clock import parse_instant
from chalicelib.domain.coupons import Coupon
from chalicelib.jobs.fanout import Segment, dispatch, shard_segments, walk_pages
from chalicelib.store.mapping import SHARDS
from chalicelib.store.repository import store

NAME = "coupon-expiry"
PAGE_SIZE = 100


def start(as_of: datetime, *, dry_run: bool = False) -> Counter[str]:
    """Fan the marking out over every shard."""
    return dispatch(shard_segments(NAME, as_of, SHARDS, dry_run=dry_run), run_segment)


def run_segment(segment: Segment) -> Counter[str]:
    """Mark one shard's coupons that ended by the job's instant."""
    repo = store()
    as_of = parse_instant(segment["as_of"])
    counts: Counter[str] = Counter(coupons_expired=0)

    def mark(coupon: Coupon) -> None:
        if coupon.valid_until <= as_of and (segment["dry_run"] or repo.mark_coupon_expired(coupon, as_of)):
            counts["coupons_expired"] += 1

    walk_pages(segment, lambda start: repo.coupons_ending(segment["shard"], as_of, limit=PAGE_SIZE, start=start),
               mark)
    return counts
