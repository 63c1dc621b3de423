"""`member-day` (会员日): at 00:30 Shanghai on each of `member_days.days_of_month`, give every
active member the member-day coupon and the member-day notice.

It reaches every active member through `member-shard-index`. The coupon
(`member_days.coupon_template_id`, if set; stock, per-member limit and tiers apply) is issued with
an idempotency record per member and business date, and the notice
(`notifications.templates.member_day`, if set) is recorded per openid, template and date with the
grant it spends, so a second run the same day issues and sends nothing. The notice's template must
have the keywords `thing1` (what is on), `thing2` (the coupon, or the points offer) and `date3`.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.domain.member import Member
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.store import members
from chalicelib.store.parts import Query

NAME = "member-day"


def _every_member(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Member | None]:
    return members.active(shard, cursor)


def _celebrate(run: JobRun, member: Member) -> Counter[str]:
    """The member's coupon and notice of the day."""
    counts = Counter(members=1)
    template_id = run.program.member_days.coupon_template_id
    coupon_name, issued = run.issue(member, template_id, f"job:{NAME}:{run.day.isoformat()}:{member.member_id}",
                                    "member_day") if template_id else (None, False)
    counts["coupons_issued"] += issued
    notice = run.program.notice_template("member_day")
    if notice:
        values = {"thing1": "今天是会员日", "thing2": coupon_name or "会员日消费积分加倍", "date3": run.day}
        counts["notices_sent"] += run.notify(member, notice, values)
    return counts


JOB = ShardedJob(NAME, ("members", "coupons_issued", "notices_sent"), _every_member, _celebrate,
                 applies=lambda run: run.program.is_member_day(run.day))
