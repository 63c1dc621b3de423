"""`yearly-points-reset` (年度清零): at 00:00 Shanghai on 1 January, write the `expire` entries.

Balances are already exact at that instant (expiry is computed on read); this job writes the audit
entries for members who hold expired points, so the ledger sums to the balance again. It reads
only members holding points (the sparse `expiry-index`) and settles each member with one
conditioned transaction: a second run, a concurrent write or a crash and retry never writes an
entry twice.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.points import last_expired_year
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services.runner import Command, Decision
from chalicelib.store import members
from chalicelib.store.parts import Query

NAME = "yearly-points-reset"


def _holding_expired(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Member | None]:
    return members.with_points_to_expire(shard, last_expired_year(run.as_of, run.program.keep_years), cursor)


def _settle(run: JobRun, member: Member) -> Counter[str]:
    """Write one member's expire entry as of the run's instant."""
    def decide(read: dict[str, Any]) -> Decision[int]:
        current: Member | None = read["member"]
        if current is None:
            return Decision(0)
        plan = LedgerPlan(current, now=run.as_of, keep_years=run.program.keep_years)
        if not plan.entries:
            return Decision(0)
        return Decision(plan.expired_points, members.save(current, plan.settled(current), plan.entries,
                                                          base_tier=run.program.base_tier.code))

    expired: int = run.change(Command({"member": members.member(member.member_id)}, decide, first={"member": member}))
    return Counter(members_expired=1, points_expired=expired) if expired else Counter()


JOB = ShardedJob(NAME, ("members_expired", "points_expired"), _holding_expired, _settle)
