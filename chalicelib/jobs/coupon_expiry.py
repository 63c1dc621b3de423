"""`coupon-expiry`: mark coupons whose validity has ended as expired, for reporting, and remind
the holders of coupons ending within `REMIND_WITHIN` with the `notifications.templates.coupon_expiring`
notice (if set).

Reads never depend on it (a coupon reads `expired` the instant `valid_until` passes); it reaches
only unused, unmarked coupons (the sparse `coupon-expiry-index`), and a marked coupon leaves the
index, so a second run changes nothing. A member is reminded of the coupon that ends soonest, at
most once per business date (the notice record), spending a grant; the template must have the
keywords `thing1` (the coupon's name) and `date2` (its `valid_until`). Reminders count against
the weekly budget (`notices_capped`: those it held back); with a cap of 0 none is tried.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from chalicelib.domain.coupons import Coupon
from chalicelib.domain.member import Member
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services import notify
from chalicelib.services.runner import Command, Decision
from chalicelib.store import coupons, members
from chalicelib.store.parts import Query

NAME = "coupon-expiry"
REMIND_WITHIN = timedelta(days=3)


def _reminder_template(run: JobRun) -> str | None:
    """The reminder's template, None when reminders are off (no template, or a weekly cap of 0)."""
    if run.program.notifications.weekly_cap <= 0:
        return None
    return run.program.notice_template("coupon_expiring")


def _ending(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Coupon | None]:
    reminding = _reminder_template(run) is not None
    return coupons.ending(shard, run.as_of + REMIND_WITHIN if reminding else run.as_of, cursor)


def _handle(run: JobRun, coupon: Coupon) -> Counter[str]:
    """Mark an ended coupon; remind the holder of one ending soon (the soonest comes first)."""
    if coupon.valid_until <= run.as_of:
        return Counter(coupons_expired=int(_mark(run, coupon)))
    template_id = _reminder_template(run)
    if template_id is None or coupon.member_id in run.seen:
        return Counter()
    run.seen.add(coupon.member_id)
    holder: Member | None = run.uow.read(member=members.member(coupon.member_id))["member"]
    if holder is None:
        return Counter()
    values = {"thing1": coupon.name, "date2": coupon.valid_until}
    return notify.counted(run.notify(holder, template_id, values), "reminders_sent")


def _mark(run: JobRun, coupon: Coupon) -> bool:
    """Mark the coupon expired unless it was used meanwhile."""
    def decide(read: dict[str, Any]) -> Decision[bool]:
        current: Coupon | None = read["coupon"]
        if current is None or current.used_at is not None:
            return Decision(False)
        return Decision(True, [coupons.mark_expired(current, run.as_of)])

    marked: bool = run.change(Command({"coupon": coupons.coupon(coupon.member_id, coupon.coupon_id)}, decide,
                                      first={"coupon": coupon}))
    return marked


JOB = ShardedJob(NAME, ("coupons_expired", "reminders_sent", notify.CAPPED_COUNT), _ending, _handle)
