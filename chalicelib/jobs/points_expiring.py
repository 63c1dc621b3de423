"""`points-expiring`: daily at 10:00 Shanghai in December, remind members holding points that
expire at the coming 1 January (年度清零) with the `notifications.templates.points_expiring` notice.

It acts only when the job's Shanghai business date is one of December's
`notifications.points_expiring_days`, the template is set and the weekly cap is above 0; on any
other day it answers zero counts without reading anything but the program. It reads only members
holding points old enough to expire then (the sparse `expiry-index`), and sends each at most one
notice per business date (the notice record), spending a grant, within the weekly budget
(`notices_capped`: those it held back). The template must have the keywords `number1` (the points
expiring) and `date2` (the instant).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from chalicelib.clock import shanghai_start_of
from chalicelib.domain.member import Member, points_at
from chalicelib.domain.points import expiry_schedule, last_expired_year
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services import notify
from chalicelib.store import members
from chalicelib.store.parts import Query

NAME = "points-expiring"
DECEMBER = 12


def _new_year(run: JobRun) -> datetime:
    return shanghai_start_of(date(run.day.year + 1, 1, 1))


def _holding_expiring(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Member | None]:
    return members.with_points_to_expire(shard, last_expired_year(_new_year(run), run.program.keep_years), cursor)


def _remind(run: JobRun, member: Member) -> Counter[str]:
    """Tell the member how many points expire at the new year."""
    template_id = run.program.notice_template("points_expiring")
    keep_years = run.program.keep_years
    expiring = sum(p for p, at in expiry_schedule(points_at(member.points, run.as_of, keep_years), keep_years)
                   if at == _new_year(run))
    if template_id is None or expiring <= 0:
        return Counter()
    values = {"number1": expiring, "date2": _new_year(run)}
    return Counter(members=1) + notify.counted(run.notify(member, template_id, values), "reminders_sent")


def _reminds(run: JobRun) -> bool:
    """Whether the run's date is a reminding day of December with the notice on and a budget."""
    return (run.day.month == DECEMBER and run.day.day in run.program.notifications.points_expiring_days
            and run.program.notifications.weekly_cap > 0 and run.program.notice_template("points_expiring") is not None)


JOB = ShardedJob(NAME, ("members", "reminders_sent", notify.CAPPED_COUNT), _holding_expiring, _remind,
                 applies=_reminds)
