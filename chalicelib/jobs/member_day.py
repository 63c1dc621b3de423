"""`member-day` (会员日): at 00:30 Shanghai on each of `member_days.days_of_month`, give every
active member the member-day coupon and the member-day notice.

It reaches every active member through `member-shard-index`, shard by shard in parallel segments,
one page per step. The coupon (`member_days.coupon_template_id`, if set; stock, per-member limit
and tiers apply) is issued with an idempotency record per member and business date, and the notice
(`notifications.templates.member_day`, if set) is recorded per openid, template and date with the
grant it spends, so a second run the same day issues and sends nothing. The notice's template must
have the keywords `thing1` (what is on), `thing2` (the coupon, or the points offer) and `date3`.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from chalicelib import clock
from chalicelib.clock import parse_instant
from chalicelib.domain.member import Member
from chalicelib.jobs.fanout import Segment, dispatch, shard_segments, walk_pages
from chalicelib.jobs.issuing import issue_once
from chalicelib.services import notify
from chalicelib.store.mapping import SHARDS
from chalicelib.store.repository import store

NAME = "member-day"
PAGE_SIZE = 100
COUPON_SOURCE = "member_day"


def start(as_of: datetime, *, dry_run: bool = False) -> Counter[str]:
    """Fan the member day out over every shard, if the job's business date is a member day."""
    if clock.business_date(as_of).day not in store().program()["member_days"]["days_of_month"]:
        return Counter(members=0, coupons_issued=0, notices_sent=0)
    return dispatch(shard_segments(NAME, as_of, SHARDS, dry_run=dry_run), run_segment)


def run_segment(segment: Segment) -> Counter[str]:
    """Give one shard's active members their coupon and notice, page after page."""
    repo = store()
    as_of = parse_instant(segment["as_of"])
    day, dry_run = clock.business_date(as_of), segment["dry_run"]
    program = repo.program()
    template_id: str | None = program["member_days"]["coupon_template_id"]
    notice_template: str | None = program["notifications"]["templates"]["member_day"]
    counts: Counter[str] = Counter(members=0, coupons_issued=0, notices_sent=0)

    def celebrate(member: Member) -> None:
        counts["members"] += 1
        coupon_name, issued = issue_once(member, template_id, f"job:{NAME}:{day.isoformat()}:{member.member_id}",
                                         job=NAME, source=COUPON_SOURCE, as_of=as_of, dry_run=dry_run) \
            if template_id else (None, False)
        counts["coupons_issued"] += issued
        if notice_template and _notify(member, notice_template, coupon_name, day, as_of, dry_run=dry_run):
            counts["notices_sent"] += 1

    walk_pages(segment, lambda start: repo.active_members(segment["shard"], limit=PAGE_SIZE, start=start),
               celebrate)
    return counts


def _notify(member: Member, template_id: str, coupon_name: str | None, day: date, as_of: datetime, *,
            dry_run: bool) -> bool:
    """Send the member-day notice (if the member holds a grant); True if sent (or, dry, would be)."""
    if dry_run:
        return store().subscriptions(member.openid).get(template_id, 0) > 0
    values = {"thing1": "今天是会员日", "thing2": coupon_name or "会员日消费积分加倍", "date3": day}
    return notify.send_notice(member.member_id, member.openid, template_id, values, job=NAME,
                              business_date=day, now=as_of) == notify.SENT
