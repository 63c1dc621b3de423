"""Points as lots by year of earning (年度清零), plus debt and pending order points.

A balance is `{earning year: points}` plus `debt` (points owed after a clawback took more than
was left; only ever non-zero when there are no lots). A lot earned in year E expires at 00:00
Shanghai time on 1 January of E + keep_years + 1, so expiry is a read-time fact exact to the second;
spending takes the oldest lots first; new points first pay off any debt. Order points inside the
return window are `pending`: not spendable until `available_at`, when they become a lot of that year.
Points reserved by an open checkout hold (§9) are `holds`: taken out of the lots (oldest first, by
year) until the hold is confirmed (spent) or lapses (its `expires_at`, which a cancel moves to the
cancel's instant); then they return to their years' lots. Held points of a year that expires leave
the hold at that instant like any other points of their year.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from chalicelib.clock import SHANGHAI, shanghai_start_of


@dataclass(frozen=True)
class PendingPoints:
    """Order points waiting for the end of the return window."""

    order_id: str
    points: int
    available_at: datetime


@dataclass(frozen=True)
class HeldPoints:
    """Points reserved by a checkout hold, by earning year, until `expires_at`."""

    checkout_id: str
    lots: dict[int, int]
    expires_at: datetime

    @property
    def total(self) -> int:
        """Points the hold still reserves."""
        return sum(self.lots.values())


@dataclass(frozen=True)
class Points:
    """A member's points: spendable lots by earning year, debt, pending order points and holds."""

    lots: dict[int, int] = field(default_factory=dict)
    debt: int = 0
    pending: tuple[PendingPoints, ...] = ()
    holds: tuple[HeldPoints, ...] = ()

    @property
    def balance(self) -> int:
        """Sum of the lots less the debt (may be negative); pending points are not included."""
        return sum(self.lots.values()) - self.debt

    @property
    def pending_total(self) -> int:
        """Points still inside a return window."""
        return sum(p.points for p in self.pending)

    @property
    def held_total(self) -> int:
        """Points reserved by holds (`points.held`)."""
        return sum(h.total for h in self.holds)

    def hold_of(self, checkout_id: str) -> HeldPoints | None:
        """The hold of a checkout, if it is still open."""
        return next((h for h in self.holds if h.checkout_id == checkout_id), None)

    def oldest_year(self) -> int | None:
        """The earliest year that can still expire (a lot's or a hold's, or a pending entry's maturity year)."""
        years = [y for y, p in self.lots.items() if p > 0] + [earning_year(p.available_at) for p in self.pending]
        years += [y for h in self.holds for y, p in h.lots.items() if p > 0]
        return min(years) if years else None


def lot_expires_at(year: int, keep_years: int) -> datetime:
    """The instant a lot earned in `year` stops counting."""
    return shanghai_start_of(date(year + keep_years + 1, 1, 1))


def last_expired_year(now: datetime, keep_years: int) -> int:
    """The latest earning year whose lots have expired at `now`."""
    return earning_year(now) - keep_years - 1


def earning_year(instant: datetime) -> int:
    """The Shanghai calendar year points earned at `instant` belong to."""
    return instant.astimezone(SHANGHAI).year


def split_expired(points: Points, now: datetime, keep_years: int) -> tuple[Points, dict[int, int]]:
    """The points still live at `now` (held ones too), and what has expired by then, by year."""
    expired: Counter[int] = Counter()

    def live(lots: dict[int, int]) -> dict[int, int]:
        kept = {y: p for y, p in lots.items() if p > 0 and lot_expires_at(y, keep_years) > now}
        expired.update({y: p for y, p in lots.items() if p > 0 and y not in kept})
        return kept

    lots = live(points.lots)
    holds = tuple(replace(hold, lots=live(hold.lots)) for hold in points.holds)
    return replace(points, lots=lots, holds=holds), dict(expired)


def matured(points: Points, now: datetime, keep_years: int) -> tuple[Points, list[tuple[PendingPoints, int]]]:
    """Move what has come due by `now` back into the lots, in the order it came due: pending points
    whose window has closed become a lot of their maturity year, holds that lapsed return their
    points to their years' lots. Each pays what is left of a debt first, as it would have at its
    instant, except held points whose year had already expired when their hold lapsed (they only
    wait for `split_expired`). Returns the matured pending entries too, in the order they matured,
    each with the balance right after it (lapsed holds that came back before it included)."""
    ready = sorted((p for p in points.pending if p.available_at <= now), key=lambda p: p.available_at)
    lapsed = sorted((h for h in points.holds if h.expires_at <= now), key=lambda h: (h.expires_at, h.checkout_id))
    due = sorted([(p.available_at, 0, n) for n, p in enumerate(ready)] +
                 [(h.expires_at, 1, n) for n, h in enumerate(lapsed)])
    result = replace(points, pending=tuple(p for p in points.pending if p.available_at > now),
                     holds=tuple(h for h in points.holds if h.expires_at > now))
    settled = []
    for at, kind, n in due:
        if kind == 0:
            result = apply_delta(result, ready[n].points, earning_year(at))
            settled.append((ready[n], result.balance))
            continue
        for year, amount in sorted(lapsed[n].lots.items()):
            if lot_expires_at(year, keep_years) <= at:
                result = replace(result, lots={**result.lots, year: result.lots.get(year, 0) + amount})
            else:
                result = apply_delta(result, amount, year)
    return result, settled


def take_oldest(points: Points, wanted: int) -> tuple[Points, dict[int, int]]:
    """Take `wanted` points out of the lots, oldest first (the lots must hold them)."""
    lots, taken = dict(points.lots), dict[int, int]()
    for year in sorted(lots):
        if wanted == 0:
            break
        taken[year] = min(lots[year], wanted)
        wanted -= taken[year]
        lots[year] -= taken[year]
        if lots[year] == 0:
            del lots[year]
    return replace(points, lots=lots), taken


def apply_delta(points: Points, delta: int, year: int) -> Points:
    """Add `delta` (credit into the `year` lot after paying debt; debit oldest lots first, then debt)."""
    lots = dict(points.lots)
    debt = points.debt
    if delta >= 0:
        paid = min(debt, delta)
        debt -= paid
        if delta - paid:
            lots[year] = lots.get(year, 0) + delta - paid
        return replace(points, lots=lots, debt=debt)
    taken = min(-delta, sum(lots.values()))
    rest, _ = take_oldest(points, taken)
    return replace(rest, debt=debt - delta - taken)


def cancel_pending(points: Points, order_id: str, wanted: int) -> tuple[Points, int]:
    """Take up to `wanted` points from an order's pending entry; return what was cancelled."""
    kept, cancelled = [], 0
    for item in points.pending:
        if item.order_id == order_id and cancelled < wanted:
            take = min(item.points, wanted - cancelled)
            cancelled += take
            if item.points > take:
                kept.append(replace(item, points=item.points - take))
        else:
            kept.append(item)
    return replace(points, pending=tuple(kept)), cancelled


def expiry_schedule(points: Points, keep_years: int) -> list[tuple[int, datetime]]:
    """(points, expires_at) for each live lot, soonest first; sums to the balance when positive."""
    return [(points.lots[y], lot_expires_at(y, keep_years)) for y in sorted(points.lots) if points.lots[y] > 0]
