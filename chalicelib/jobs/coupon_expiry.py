"""`coupon-expiry`: mark coupons whose validity has ended as expired, for reporting, and remind
the holders of coupons ending within `REMIND_WITHIN` with the `notifications.templates.coupon_expiring`
notice (if set).

Reads never depend on it (a coupon reads `expired` the instant `valid_until` passes); it reaches
only unused, unmarked coupons (the sparse `coupon-expiry-index`), shard by shard, and a marked
coupon leaves the index, so a second run changes nothing. A member is reminded of the coupon that
ends soonest, at most once per business date (the notice record), spending a grant; the template
must have the keywords `thing1` (the coupon's name) and `date2` (its `valid_until`).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.clock import parse_instant
from chalicelib.domain.coupons import Coupon
from chalicelib.jobs.fanout import Segment, dispatch, shard_segments, walk_pages
from chalicelib.services import notify
from chalicelib.store.mapping import SHARDS
from chalicelib.store.repository import store

NAME = "coupon-expiry"
PAGE_SIZE = 100
REMIND_WITHIN = timedelta(days=3)


def start(as_of: datetime, *, dry_run: bool = False) -> Counter[str]:
    """Fan the marking and reminding out over every shard."""
    return dispatch(shard_segments(NAME, as_of, SHARDS, dry_run=dry_run), run_segment)


def run_segment(segment: Segment) -> Counter[str]:
    """Mark one shard's coupons that ended by the job's instant; remind the holders of those ending soon."""
    repo = store()
    as_of = parse_instant(segment["as_of"])
    dry_run = segment["dry_run"]
    notice_template: str | None = repo.program()["notifications"]["templates"]["coupon_expiring"]
    until = as_of + REMIND_WITHIN if notice_template else as_of
    reminded: set[str] = set()
    counts: Counter[str] = Counter(coupons_expired=0, reminders_sent=0)

    def handle(coupon: Coupon) -> None:
        if coupon.valid_until <= as_of:
            if dry_run or repo.mark_coupon_expired(coupon, as_of):
                counts["coupons_expired"] += 1
        elif notice_template and coupon.member_id not in reminded:
            reminded.add(coupon.member_id)  # the coupons come soonest-ending first
            counts["reminders_sent"] += _remind(coupon, notice_template, as_of, dry_run=dry_run)

    walk_pages(segment, lambda start: repo.coupons_ending(segment["shard"], until, limit=PAGE_SIZE, start=start),
               handle)
    return counts


def _remind(coupon: Coupon, template_id: str, as_of: datetime, *, dry_run: bool) -> bool:
    """Send the holder the coupon's reminder (if an active member holding a grant); True if sent
    (or, dry, would be)."""
    member = store().member(coupon.member_id)
    if member is None:
        return False
    if dry_run:
        return store().subscriptions(member.openid).get(template_id, 0) > 0
    values = {"thing1": coupon.name, "date2": coupon.valid_until}
    return notify.send_notice(member.member_id, member.openid, template_id, values, job=NAME,
                              business_date=clock.business_date(as_of), now=as_of) == notify.SENT
