"""`birthday-gifts` (生日礼): at 00:20 Shanghai on the 1st of each month, give the birthday coupon
to every active member born in the job's Shanghai business month.

It reaches every active member through `member-shard-index` and issues
`birthday.coupon_template_id` (if set; stock, per-member limit and tiers apply; source `birthday`)
with an idempotency record per member and year, so a member gets it once a year however often the
job runs. Members without a birthday are skipped.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.domain.member import Member
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.store import members
from chalicelib.store.parts import Query

NAME = "birthday-gifts"


def _every_member(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Member | None]:
    return members.active(shard, cursor)


def _gift(run: JobRun, member: Member) -> Counter[str]:
    """The birthday coupon, for a member born this month."""
    template_id = run.program.birthday.coupon_template_id
    if template_id is None or not member.birthday or int(member.birthday[5:7]) != run.day.month:
        return Counter()
    _, issued = run.issue(member, template_id, f"job:{NAME}:{run.day.year}:{member.member_id}", "birthday")
    return Counter(members=1, coupons_issued=int(issued))


JOB = ShardedJob(NAME, ("members", "coupons_issued"), _every_member, _gift,
                 applies=lambda run: run.program.birthday.coupon_template_id is not None)
