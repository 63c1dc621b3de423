"""Planning a points change: which ledger entries it writes and the points it leaves.

A plan first settles the member at `now`: pending order points whose return window has closed
become spendable (one `order` entry each) and lots that expired are written off (one `expire`
entry). Then the change's own entries follow. So the sum of a member's ledger deltas always equals
the spendable points they hold, whichever write (or job) comes first after an expiry.

The plan also keeps what its change adds to the store-wide figures (`tally`): each own entry by its
kind on its date (order points on the paid date), pending points held or cancelled, and the change
of each earning year's lots. Settling adds nothing there: matured points were booked on their
maturity date when held, and expiry is counted from the lots at its instant.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from chalicelib.clock import business_date
from chalicelib.domain.analytics import Tally, lot_changes, pending_flow, points_flow
from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.points import (
    HeldPoints,
    PendingPoints,
    apply_delta,
    cancel_pending,
    earning_year,
    matured,
    split_expired,
    take_oldest,
)
from chalicelib.errors import HoldExpired, InsufficientPoints, NegativeBalance


class LedgerPlan:
    """The entries and resulting points of one change to one member, built step by step."""

    def __init__(self, member: Member, *, now: datetime, keep_years: int) -> None:
        self.member_id = member.member_id
        self.base_seq = member.seq
        self.now = now
        self.entries: list[LedgerEntry] = []
        self.flows = Tally()
        self._initial = member.points
        self.keep_years = keep_years
        points, ready = matured(member.points, now, keep_years)
        self.points = points
        for item, balance in ready:
            self._append(item.points, balance, "order", ref=item.order_id)
        self.points, expired = split_expired(points, now, keep_years)
        self._written_off = expired
        if expired:
            self._append(-sum(expired.values()), self.points.balance, "expire",
                         ref=",".join(str(y) for y in sorted(expired)))

    @property
    def seq(self) -> int:
        """The member's ledger sequence after the plan."""
        return self.base_seq + len(self.entries)

    @property
    def expired_points(self) -> int:
        """Points this plan writes off as expired."""
        return -sum(e.delta for e in self.entries if e.reason == "expire")

    @property
    def tally(self) -> Tally:
        """What the plan adds to the store-wide figures."""
        return Tally(self.flows.days.copy(),
                     lot_changes(self._initial, self.points, self._written_off, self.keep_years))

    def add(self, delta: int, reason: str, *, ref: str | None = None, note: str | None = None,
            actor: str | None = None, on: date | None = None) -> LedgerEntry:
        """Apply `delta` now (credits land in this year's lot) and record it as one entry; the figures
        count it on `on` (default: today)."""
        self.points = apply_delta(self.points, delta, earning_year(self.now))
        self.flows.merge(points_flow(on or business_date(self.now), delta, reason))
        return self._append(delta, self.points.balance, reason, ref=ref, note=note, actor=actor)

    def spend(self, points: int, reason: str, *, ref: str | None = None, note: str | None = None) -> LedgerEntry:
        """The member spends `points` (a redemption, a make-up check-in): InsufficientPoints unless
        the spendable balance covers them."""
        if self.points.balance < points:
            raise InsufficientPoints(points, self.points.balance)
        return self.add(-points, reason, ref=ref, note=note)

    def withdraw(self, points: int, reason: str, *, note: str | None = None, actor: str | None = None
                 ) -> LedgerEntry:
        """The merchant takes `points` back: NegativeBalance if that would leave the balance below
        zero. (Clawbacks of refunded orders use `add` and may leave a debt.)"""
        if self.points.balance < points:
            raise NegativeBalance(self.points.balance, -points)
        return self.add(-points, reason, note=note, actor=actor)

    def reserve(self, checkout_id: str, points: int, expires_at: datetime) -> None:
        """Reserve `points` for a checkout until `expires_at`, oldest first (no entry: they stay the
        member's until spent): NegativeBalance below zero, InsufficientPoints unless the spendable
        balance covers them."""
        if self.points.balance < 0:
            raise NegativeBalance(self.points.balance, -points)
        if self.points.balance < points:
            raise InsufficientPoints(points, self.points.balance)
        rest, taken = take_oldest(self.points, points)
        self.points = replace(rest, holds=rest.holds + (HeldPoints(checkout_id, taken, expires_at),))

    def spend_held(self, checkout_id: str, points: int, *, ref: str) -> LedgerEntry:
        """Spend a checkout's `points` (entry `checkout`): what its hold still reserves, and the rest
        (points of a lapsed hold, or held points that expired) from the spendable balance, or
        HoldExpired when the balance no longer covers that rest."""
        hold = self.points.hold_of(checkout_id)
        rest = points - (hold.total if hold else 0)
        if rest > 0 and self.points.balance < rest:
            raise HoldExpired()
        self.points = replace(self.points, holds=tuple(h for h in self.points.holds if h is not hold))
        if rest > 0:
            self.points = apply_delta(self.points, -rest, earning_year(self.now))
        self.flows.merge(points_flow(business_date(self.now), -points, "checkout"))
        return self._append(-points, self.points.balance, "checkout", ref=ref)

    def release_holds(self, checkout_id: str | None = None) -> None:
        """End a checkout's hold now (every hold without `checkout_id`: a closed account), returning
        its points to their years (a debt paid first)."""
        ended = tuple(replace(h, expires_at=self.now) if checkout_id in (None, h.checkout_id) else h
                      for h in self.points.holds)
        self.points, _ = matured(replace(self.points, holds=ended), self.now, self.keep_years)

    def settled(self, member: Member) -> Member:
        """The member with this plan's points and ledger sequence."""
        return replace(member, points=self.points, seq=self.seq)

    def hold(self, order_id: str, points: int, available_at: datetime, *, on: date) -> None:
        """Keep an order's points pending until `available_at` (no entry until they mature); the
        figures count them issued on `on`, the paid date."""
        pending = self.points.pending + (PendingPoints(order_id, points, available_at),)
        self.points = replace(self.points, pending=pending)
        self.flows.merge(pending_flow(on, points, business_date(available_at), "issued"))

    def cancel_pending(self, order_id: str, wanted: int) -> int:
        """Cancel up to `wanted` pending points of an order; return how many were cancelled."""
        before = self.points.pending
        self.points, cancelled = cancel_pending(self.points, order_id, wanted)
        self._drop(before, self.points.pending, "clawed_back")
        return cancelled

    def forfeit_pending(self) -> None:
        """Drop every pending point (a closed account)."""
        before = self.points.pending
        self.points = replace(self.points, pending=())
        self._drop(before, (), "forfeited")

    def _drop(self, before: tuple[PendingPoints, ...], after: tuple[PendingPoints, ...], kind: str) -> None:
        left = {(p.order_id, p.available_at): p.points for p in after}
        for item in before:
            gone = item.points - left.get((item.order_id, item.available_at), 0)
            if gone > 0:
                self.flows.merge(pending_flow(business_date(self.now), gone, business_date(item.available_at), kind))

    def _append(self, delta: int, balance_after: int, reason: str, **details: str | None) -> LedgerEntry:
        entry = LedgerEntry(member_id=self.member_id, seq=self.seq + 1, delta=delta,
                            balance_after=balance_after, reason=reason, created_at=self.now, **details)
        self.entries.append(entry)
        return entry


def plan_change(member: Member, *, delta: int, reason: str, now: datetime, keep_years: int,
                ref: str | None = None, note: str | None = None, actor: str | None = None) -> LedgerPlan:
    """Settle the member, then apply `delta` as one entry with `reason`."""
    plan = LedgerPlan(member, now=now, keep_years=keep_years)
    plan.add(delta, reason, ref=ref, note=note, actor=actor)
    return plan
