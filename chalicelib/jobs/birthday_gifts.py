"""`birthday-gifts` (生日礼): at 00:20 Shanghai on the 1st of each month, give the birthday coupon
to every active member born in the job's Shanghai business month.

It reaches every active member through `member-shard-index`, shard by shard in parallel segments,
one page per step, and issues `birthday.coupon_template_id` (if set; stock, per-member limit and
tiers apply; source `birthday`) with an idempotency record per member and year, so a member gets
it once a year however often the job runs. Members without a birthday are skipped.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib import clock
from chalicelib.clock import parse_instant
from chalicelib.domain.member import Member
from chalicelib.jobs.fanout import Segment, dispatch, shard_segments, walk_pages
from chalicelib.jobs.issuing import issue_once
from chalicelib.store.mapping import SHARDS
from chalicelib.store.repository import store

NAME = "birthday-gifts"
PAGE_SIZE = 100
COUPON_SOURCE = "birthday"


def start(as_of: datetime, *, dry_run: bool = False) -> Counter[str]:
    """Fan the gifts out over every shard, if the program names a birthday coupon."""
    if store().program()["birthday"]["coupon_template_id"] is None:
        return Counter(members=0, coupons_issued=0)
    return dispatch(shard_segments(NAME, as_of, SHARDS, dry_run=dry_run), run_segment)


def run_segment(segment: Segment) -> Counter[str]:
    """Give one shard's members born this month their birthday coupon, page after page."""
    repo = store()
    as_of = parse_instant(segment["as_of"])
    month = clock.business_date(as_of)
    template_id: str | None = repo.program()["birthday"]["coupon_template_id"]
    counts: Counter[str] = Counter(members=0, coupons_issued=0)

    def gift(member: Member) -> None:
        if template_id is None or not member.birthday or int(member.birthday[5:7]) != month.month:
            return
        counts["members"] += 1
        key = f"job:{NAME}:{month.year}:{member.member_id}"
        _, issued = issue_once(member, template_id, key, job=NAME, source=COUPON_SOURCE, as_of=as_of,
                               dry_run=segment["dry_run"])
        counts["coupons_issued"] += issued

    walk_pages(segment, lambda start: repo.active_members(segment["shard"], limit=PAGE_SIZE, start=start), gift)
    return counts
