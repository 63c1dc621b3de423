"""Planning a points change: which ledger entries it writes and the balance it leaves.

Every change first records the lots that expired since the member was last written (one `expire`
entry), so that the sum of a member's ledger deltas always equals the points they hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.points import Points, apply_delta, earning_year, split_expired

REASONS = (
    "signup_gift", "checkin", "checkin_streak_bonus", "order", "refund", "redeem", "referral",
    "interaction", "admin_adjust", "expire", "account_closed",
)


@dataclass(frozen=True)
class PointsChange:
    """The outcome of a planned change: the new points and the entries to write, oldest first."""

    points: Points
    entries: list[LedgerEntry]

    @property
    def seq(self) -> int:
        """The member's ledger sequence after the change."""
        return self.entries[-1].seq


def plan_change(member: Member, *, delta: int, reason: str, now: datetime, keep_years: int,
                ref: str | None = None, note: str | None = None, actor: str | None = None) -> PointsChange:
    """Expire what has expired, then apply `delta` as one entry with `reason`."""
    live, expired = split_expired(member.points, now, keep_years)
    entries = []
    seq = member.seq
    if expired:
        seq += 1
        entries.append(LedgerEntry(
            member_id=member.member_id, seq=seq, delta=-sum(expired.values()), balance_after=live.balance,
            reason="expire", created_at=now, ref=",".join(str(y) for y in sorted(expired)),
        ))
    after = apply_delta(live, delta, earning_year(now))
    entries.append(LedgerEntry(
        member_id=member.member_id, seq=seq + 1, delta=delta, balance_after=after.balance,
        reason=reason, created_at=now, ref=ref, note=note, actor=actor,
    ))
    return PointsChange(after, entries)
