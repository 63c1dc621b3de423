"""`points-expiring`: daily at 10:00 Shanghai in December, remind members holding points that
expire at the coming 1 January (年度清零) with the `notifications.templates.points_expiring` notice.

It acts only when the job's Shanghai business date is in December and the template is set. It
reads only members holding points old enough to expire then (the sparse `expiry-index`), shard by
shard, and sends each at most one notice per business date (the notice record), spending a grant.
The template must have the keywords `number1` (the points expiring) and `date2` (the instant).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from chalicelib import clock
from chalicelib.clock import parse_instant, shanghai_start_of
from chalicelib.domain.member import Member, points_at
from chalicelib.domain.points import expiry_schedule, last_expired_year
from chalicelib.jobs.fanout import Segment, dispatch, shard_segments, walk_pages
from chalicelib.services import notify
from chalicelib.store.mapping import SHARDS
from chalicelib.store.repository import store

NAME = "points-expiring"
PAGE_SIZE = 100
DECEMBER = 12


def start(as_of: datetime, *, dry_run: bool = False) -> Counter[str]:
    """Fan the reminders out over every shard, in December when the template is set."""
    if clock.business_date(as_of).month != DECEMBER or \
            store().program()["notifications"]["templates"]["points_expiring"] is None:
        return Counter(members=0, reminders_sent=0)
    return dispatch(shard_segments(NAME, as_of, SHARDS, dry_run=dry_run), run_segment)


def run_segment(segment: Segment) -> Counter[str]:
    """Remind one shard's members whose points expire at the coming new year."""
    repo = store()
    as_of = parse_instant(segment["as_of"])
    day = clock.business_date(as_of)
    new_year = shanghai_start_of(date(day.year + 1, 1, 1))
    program = repo.program()
    keep_years: int = program["points_expiry"]["keep_years"]
    notice_template: str | None = program["notifications"]["templates"]["points_expiring"]
    counts: Counter[str] = Counter(members=0, reminders_sent=0)

    def remind(member: Member) -> None:
        expiring = sum(p for p, at in expiry_schedule(points_at(member.points, as_of, keep_years), keep_years)
                       if at == new_year)
        if notice_template is None or expiring <= 0:
            return
        counts["members"] += 1
        if segment["dry_run"]:
            counts["reminders_sent"] += repo.subscriptions(member.openid).get(notice_template, 0) > 0
            return
        values = {"number1": expiring, "date2": new_year}
        counts["reminders_sent"] += notify.send_notice(
            member.member_id, member.openid, notice_template, values, job=NAME, business_date=day,
            now=as_of) == notify.SENT

    walk_pages(segment, lambda start: repo.members_with_points_to_expire(
        segment["shard"], last_expired_year(new_year, keep_years), limit=PAGE_SIZE, start=start), remind)
    return counts
