"""Points as lots by year of earning (年度清零).

A balance is `{earning year: points}` plus `debt` (points owed after a clawback took more than
was left; only ever non-zero when there are no lots). A lot earned in year E expires at 00:00
Shanghai time on 1 January of E + keep_years + 1, so expiry is a read-time fact exact to the second;
spending takes the oldest lots first; new points first pay off any debt.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from chalicelib.clock import SHANGHAI, shanghai_start_of


@dataclass(frozen=True)
class Points:
    """A member's spendable points: lots by earning year, and debt."""

    lots: dict[int, int] = field(default_factory=dict)
    debt: int = 0

    @property
    def balance(self) -> int:
        """Sum of the lots less the debt (may be negative)."""
        return sum(self.lots.values()) - self.debt


def lot_expires_at(year: int, keep_years: int) -> datetime:
    """The instant a lot earned in `year` stops counting."""
    return shanghai_start_of(date(year + keep_years + 1, 1, 1))


def earning_year(instant: datetime) -> int:
    """The Shanghai calendar year points earned at `instant` belong to."""
    return instant.astimezone(SHANGHAI).year


def split_expired(points: Points, now: datetime, keep_years: int) -> tuple[Points, dict[int, int]]:
    """The points still live at `now`, and the lots that have expired by then."""
    live = {y: p for y, p in points.lots.items() if p > 0 and lot_expires_at(y, keep_years) > now}
    expired = {y: p for y, p in points.lots.items() if p > 0 and y not in live}
    return Points(live, points.debt), expired


def apply_delta(points: Points, delta: int, year: int) -> Points:
    """Add `delta` (credit into the `year` lot after paying debt; debit oldest lots first, then debt)."""
    lots = dict(points.lots)
    debt = points.debt
    if delta >= 0:
        paid = min(debt, delta)
        debt -= paid
        if delta - paid:
            lots[year] = lots.get(year, 0) + delta - paid
        return Points(lots, debt)
    owed = -delta
    for y in sorted(lots):
        take = min(lots[y], owed)
        lots[y] -= take
        owed -= take
        if lots[y] == 0:
            del lots[y]
        if owed == 0:
            break
    return Points(lots, debt + owed)


def expiry_schedule(points: Points, keep_years: int) -> list[tuple[int, datetime]]:
    """(points, expires_at) for each live lot, soonest first; sums to the balance when positive."""
    return [(points.lots[y], lot_expires_at(y, keep_years)) for y in sorted(points.lots) if points.lots[y] > 0]
