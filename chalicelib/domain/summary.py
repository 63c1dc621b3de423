"""The analytics summary (§7) from the counters of a range's dates: sums, distinct counts from the
gap counters (`analytics`), stocks from their prefix sums, expiry from the lots by earning year,
tiers from the members' tier places."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.clock import business_date, render
from chalicelib.domain.analytics import MAX_GAP, tier_at
from chalicelib.domain.points import lot_expires_at
from chalicelib.domain.program import Program
from chalicelib.errors import ValidationError

MAX_DATES = MAX_GAP + 1
DAILY = ("new_members", "orders", "revenue_fen", "points_issued", "points_spent", "checkins", "coupons_used")


@dataclass(frozen=True)
class Figures:
    """What a summary is computed from: each date's counters (every shard summed), the stocks at
    the end of the day before the range, points by earning year and members by tier place."""

    days: dict[date, Counter[str]]
    before: Counter[str]
    lots: dict[int, int]
    places: Counter[str]


def check_range(first: date, last: date, today: date) -> None:
    """`from <= to <= today`, at most 366 dates; else a ValidationError naming the field."""
    if last > today:
        raise ValidationError("to 不能晚于今天", "to")
    if first > last:
        raise ValidationError("from 不能晚于 to", "from")
    if (last - first).days >= MAX_DATES:
        raise ValidationError(f"日期范围最多 {MAX_DATES} 天", "from")


def distinct(days: dict[date, Counter[str]], first: date, prefix: str) -> int:
    """Members counted once over the range starting at `first`: the gap counters of each date `d`
    summed up to `d - first`."""
    return sum(sum(counters[f"{prefix}{k}"] for k in range((day - first).days + 1)) for day, counters in days.items())


def expired_between(lots: dict[int, int], keep_years: int, first: date | None, last: date) -> int:
    """Points of the lots whose expiry date falls in [first, last] (from the beginning: None)."""
    total = 0
    for year, points in lots.items():
        expires_on = business_date(lot_expires_at(year, keep_years))
        if expires_on <= last and (first is None or expires_on >= first):
            total += points
    return total


def summary_view(first: date, last: date, as_of: datetime, program: Program, figures: Figures) -> dict[str, Any]:
    """The contract's Summary."""
    totals: Counter[str] = Counter()
    for counters in figures.days.values():
        totals.update(counters)
    stocks = Counter(figures.before)
    stocks.update({name: totals[name] for name in ("members", "outstanding", "pending")})
    buyers, repeat = distinct(figures.days, first, "b"), distinct(figures.days, first, "r")
    orders, revenue = totals["orders"], totals["revenue_fen"]
    keep_years = program.keep_years
    return {
        "from": first.isoformat(), "to": last.isoformat(), "as_of": render(as_of),
        "members": {"total": stocks["members"], "new": totals["new_members"], "closed": totals["closed_members"],
                    "active": distinct(figures.days, first, "a")},
        "orders": {"count": orders, "revenue_fen": revenue, "refunded_fen": totals["refunded_fen"],
                   "average_order_fen": revenue // orders if orders else 0, "buyers": buyers,
                   "repeat_buyers": repeat, "repurchase_rate_pct": repeat * 100 // buyers if buyers else 0},
        "points": {"issued": totals["points_issued"], "spent": totals["points_spent"],
                   "expired": expired_between(figures.lots, keep_years, first, last),
                   "clawed_back": totals["points_clawed_back"], "forfeited": totals["points_forfeited"],
                   "outstanding": stocks["outstanding"] - expired_between(figures.lots, keep_years, None, last),
                   "pending": stocks["pending"]},
        "coupons": {"issued": totals["coupons_issued"], "used": totals["coupons_used"],
                    "discount_fen": totals["discount_fen"]},
        "checkins": totals["checkins"],
        "tiers": tier_counts(program, figures.places, business_date(as_of).year),
        "daily": [_daily(day, figures.days.get(day, Counter())) for day in sorted(figures.days)],
    }


def tier_counts(program: Program, places: Counter[str], year: int) -> list[dict[str, Any]]:
    """Members by tier in `year`, every configured tier listed (places of tier codes the program no
    longer has are left out)."""
    counts: Counter[str] = Counter()
    for place, members in places.items():
        counts[tier_at(place, year, program.base_tier.code)] += members
    return [{"code": tier.code, "name": tier.name, "members": counts[tier.code]} for tier in program.tiers]


def _daily(day: date, counters: Counter[str]) -> dict[str, Any]:
    return {"date": day.isoformat(), "active_members": counters["a0"], "buyers": counters["b0"],
            **{name: counters[name] for name in DAILY}}
