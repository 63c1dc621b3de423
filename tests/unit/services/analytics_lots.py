"""The brute force's replay of each member's points, for `analytics_books`: lots by earning year,
debt and checkout holds (§9), event by event from the raw records, booking what expires at each
1 January 00:00 Shanghai. Written from the contract, not from `domain/points.py`:

- A credit pays the debt first, then goes into the lot of its year (the year of its instant; for
  matured order points, of the maturity instant). A debit takes the oldest lots first, then is owed.
- A checkout hold (an item of `checkouts` with points) takes its points out of the lots when it is
  made, oldest first, as spending would (the spendable balance must cover them). While held they
  stay the member's but expire with their year at that instant.
- A hold ends at the earliest of its `expires_at`, its cancel (a cancelled checkout's `closed_at`),
  its confirm (the `checkout` ledger entry whose `ref` is its order) and the member's closure.
  Ended by its confirm, its points are spent, and whatever of them expired while held is taken
  from the balance (the rest of the entry). Otherwise (lapsed, cancelled, closed) they return to
  their years at that instant, each year (oldest first) paying a debt first, in time order with
  pending points coming due (pending points first at the same instant); a confirm after that is an
  ordinary debit.
- At one instant: what comes due (matured points, then holds ending), then the ledger entries (in
  `seq` order), then holds being made.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib.clock import SHANGHAI, shanghai_start_of


def day_of(instant: datetime) -> date:
    """The Shanghai date of an instant."""
    return instant.astimezone(SHANGHAI).date()


@dataclass
class Reservation:
    """The points of a checkout hold: made at `made`, ending at `ends` (spent then by the `checkout`
    entry of `spent_by`, its order, when it was confirmed while open)."""

    checkout_id: str
    member_id: str
    points: int
    made: datetime
    ends: datetime
    spent_by: str | None


def reservations(checkouts: list[Any], spent_at: dict[str, datetime], closed: dict[str, datetime],
                 notes: Counter[str]) -> list[Reservation]:
    """The holds of points in the stored checkouts; `spent_at`: the instant of each order's
    `checkout` entry; `closed`: the closure instant of each closed account."""
    found = []
    for checkout in checkouts:
        if not int(checkout.points_used):
            continue
        ends = [checkout.expires_at]
        if checkout.status == "cancelled":
            ends.append(checkout.closed_at)
        if checkout.member_id in closed:
            ends.append(closed[checkout.member_id])
        released = min(ends)
        confirmed = spent_at.get(checkout.order_id or "")
        assert (checkout.status == "confirmed") == (confirmed is not None), \
            f"checkout {checkout.checkout_id} is {checkout.status}, its order's checkout entry at {confirmed}"
        spent = confirmed is not None and confirmed < released
        found.append(Reservation(checkout.checkout_id, checkout.member_id, int(checkout.points_used),
                                 checkout.created_at, confirmed if spent and confirmed else released,
                                 checkout.order_id if spent else None))
        notes["a hold spent by its confirm" if spent else
              "a hold ended by a closure" if checkout.member_id in closed and closed[checkout.member_id] == released
              else "a hold cancelled" if released < checkout.expires_at else "a hold lapsed"] += 1
        notes["a confirm after its hold lapsed"] += confirmed is not None and not spent
    return found


@dataclass
class Lots:
    """A member's points being replayed: lots by earning year, debt, and the open holds' lots."""

    keep_years: int
    expired: Counter[date]  # the books' expiry by date, added to
    notes: Counter[str]
    lots: dict[int, int] = field(default_factory=dict)
    debt: int = 0
    held: dict[str, dict[int, int]] = field(default_factory=dict)

    @property
    def balance(self) -> int:
        return sum(self.lots.values()) - self.debt

    @property
    def held_total(self) -> int:
        return sum(sum(lots.values()) for lots in self.held.values())

    def expire(self, at: datetime) -> None:
        """Book every lot (held or not) whose expiry instant has come by `at`."""
        for lots, what in [(self.lots, "expired"), *((lots, "held points expired") for lots in self.held.values())]:
            for year in sorted(lots):
                expires = shanghai_start_of(date(year + self.keep_years + 1, 1, 1))
                if expires <= at:
                    self.expired[day_of(expires)] += lots.pop(year)
                    self.notes[f"{what} after {self.keep_years + 1} year ends"] += 1

    def apply(self, delta: int, year: int) -> None:
        """A credit (after paying the debt) into `year`'s lot, or a debit of the oldest lots first, then debt."""
        if delta >= 0:
            paid = min(self.debt, delta)
            if delta > paid:
                self.lots[year] = self.lots.get(year, 0) + delta - paid
            self.debt -= paid
            return
        owed = -delta
        for year_held in sorted(self.lots):
            take = min(self.lots[year_held], owed)
            self.lots[year_held] -= take
            owed -= take
            if not self.lots[year_held]:
                del self.lots[year_held]
        self.debt += owed

    def hold(self, reservation: Reservation) -> None:
        """Take a hold's points out of the lots, oldest first."""
        assert self.debt == 0 and self.balance >= reservation.points, \
            f"hold {reservation.checkout_id} of {reservation.points} points on a balance of {self.balance}"
        taken: dict[int, int] = {}
        for year in sorted(self.lots):
            take = min(self.lots[year], reservation.points - sum(taken.values()))
            if take:
                taken[year] = take
        self.apply(-reservation.points, 0)
        self.held[reservation.checkout_id] = taken

    def release(self, reservation: Reservation) -> None:
        """A hold's points back to their years, each paying a debt first."""
        self.notes["a hold released into a debt"] += self.debt > 0
        for year, points in sorted(self.held.pop(reservation.checkout_id).items()):
            self.apply(points, year)

    def spend(self, reservation: Reservation, points: int) -> None:
        """A confirm spending its open hold's points; what of them expired comes from the balance."""
        rest = points - sum(self.held.pop(reservation.checkout_id).values())
        self.notes["expired held points taken from the balance at confirm"] += rest > 0
        self.apply(-rest, 0)


def replay(lots: Lots, entries: list[Any], matured: list[tuple[datetime, int]], holds: list[Reservation],
           now: datetime) -> Lots:
    """Replay a member's ledger entries (but its `expire` entries: expiry is replayed; without the
    settlement of matured points), matured pending points (instant, points) and holds of points up
    to `now`."""
    spends = {r.spent_by: r for r in holds if r.spent_by}
    events: list[tuple[datetime, int, int, str, Any]] = [(at, 0, n, "due", points) for n, (at, points) in
                                                         enumerate(matured) if at <= now]
    events += [(r.ends, 1, n, "release", r) for n, r in enumerate(holds) if not r.spent_by and r.ends <= now]
    events += [(e.created_at, 2, int(e.seq), "entry", e) for e in entries if e.reason != "expire"]
    events += [(r.made, 3, n, "hold", r) for n, r in enumerate(holds) if r.made <= now]
    for at, _, _, kind, item in sorted(events, key=lambda event: event[:3]):
        lots.expire(at)
        if kind == "due":
            lots.notes["pending points matured into a debt"] += lots.debt > 0
            lots.apply(item, at.astimezone(SHANGHAI).year)
        elif kind == "release":
            lots.release(item)
        elif kind == "hold":
            lots.hold(item)
        elif item.reason == "checkout" and item.ref in spends:
            lots.spend(spends[item.ref], -int(item.delta))
        else:
            lots.apply(int(item.delta), at.astimezone(SHANGHAI).year)
    lots.expire(now)
    return lots
