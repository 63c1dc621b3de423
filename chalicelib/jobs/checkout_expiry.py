"""`checkout-expiry`: record the checkout holds that lapsed as `expired`, and tidy what they held:
the coupon's hold marks are removed and the member's lapsed holds are settled back into the lots.

Reads and writes never depend on it (a hold past `expires_at` is released at once for every read
and write); it reaches only checkouts still recorded as held (the sparse `hold-expiry-index`),
and a recorded one leaves the index, so a second run changes nothing.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.domain.checkouts import EXPIRED, HELD, Checkout
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services.checkouts import release
from chalicelib.services.runner import Command, Decision
from chalicelib.store import checkouts, coupons, members
from chalicelib.store.parts import Get, Query

NAME = "checkout-expiry"


def _lapsed(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Checkout | None]:
    return checkouts.lapsed(shard, run.as_of, cursor)


def _handle(run: JobRun, lapsed: Checkout) -> Counter[str]:
    """Record one lapsed hold as expired, with its coupon and the member's points tidied."""
    def decide(read: dict[str, Any]) -> Decision[bool]:
        current: Checkout | None = read["checkout"]
        if current is None or current.status != HELD or current.expires_at > run.as_of:
            return Decision(False)
        return Decision(True, [checkouts.close(current, EXPIRED, run.as_of),
                               *release(current, read["member"], run.program, read.get("coupon"), run.as_of)])

    reads: dict[str, Get[Any, Any]] = {"checkout": checkouts.checkout(lapsed.checkout_id),
                                       "member": members.member(lapsed.member_id)}
    if lapsed.coupon_id:
        reads["coupon"] = coupons.coupon(lapsed.member_id, lapsed.coupon_id)
    return Counter(holds_expired=int(run.change(Command(reads, decide))))


JOB = ShardedJob(NAME, ("holds_expired",), _lapsed, _handle)
