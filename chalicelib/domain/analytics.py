"""Store-wide figures (§7) as counters that each change adds to, by Shanghai date, so that a range is
a read of its days, whatever the number of members.

A change yields a `Tally` for its member's shard: counters by date (orders, revenue, points by
kind, stocks), the points it adds to or takes from each earning year's lots (`lots`, which makes
expiry a read-time fact), and the member's place in the tier counts (`tiers`).

**Distinct members over a range** (active members, buyers, repeat buyers) are counted exactly with
gap counters. Each first activity of a member on a date `d` whose previous activity was on `p`
counts for a range starting at `from` when `p < from <= d`, that is for `k = d - from` in
`[0, d - p)`: it adds +1 to counter `a0` and -1 to counter `a<d-p>` of date `d`, and the members
active in `[from, to]` are the sums, over the dates `d` of the range, of the counters `a0..a<d-from>`.
Buyers (`b`) are the same over a member's order dates; repeat buyers (`r`) count, for each member
with two or more orders in the range, the second of them (its previous order in the range, the one
before that not). Gaps over `MAX_GAP` days never matter for a range of at most 366 dates. When a
late order lands between two known dates, the member's counters are recomputed and only the
difference is written (at most three dates change).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone

from chalicelib.domain.member import ACCOUNT_CLOSED, Member
from chalicelib.domain.orders import OrderDay
from chalicelib.domain.points import Points, matured
from chalicelib.domain.program import Program
from chalicelib.domain.tiers import growth_value

END_OF_TIME = datetime(9999, 1, 1, tzinfo=timezone.utc)  # later than anything comes due
MAX_GAP = 365  # the longest range is 366 dates: k = d - from is at most 365
STOCKS = ("members", "outstanding", "pending")  # counters summed from the beginning (prefix sums)
SPENDING = ("redeem", "checkin_makeup", "checkout")
DayCounter = Counter[tuple[date, str]]


@dataclass
class Tally:
    """What one change adds to the figures of one member's shard."""

    days: DayCounter = field(default_factory=Counter)
    lots: Counter[int] = field(default_factory=Counter)
    tiers: Counter[str] = field(default_factory=Counter)

    def count(self, day: date, **amounts: int) -> Tally:
        """Add to the counters of `day`."""
        for name, amount in amounts.items():
            if amount:
                self.days[(day, name)] += amount
        return self

    def merge(self, other: Tally) -> Tally:
        """Add another tally of the same shard."""
        for source, target in ((other.days, self.days), (other.lots, self.lots), (other.tiers, self.tiers)):
            for key, amount in source.items():
                target[key] += amount  # type: ignore[index]
        return self

    def nonzero(self) -> Tally:
        """Without the counters that cancelled out."""
        return Tally(Counter({k: n for k, n in self.days.items() if n}),
                     Counter({k: n for k, n in self.lots.items() if n}),
                     Counter({k: n for k, n in self.tiers.items() if n}))


# ---- points ----------------------------------------------------------------------------------------

def points_flow(day: date, delta: int, reason: str) -> Tally:
    """A ledger entry of the change itself (not the settling of matured or expired points): its
    kind (issued, spent, clawed back, forfeited) and the spendable stock it moves."""
    tally = Tally().count(day, outstanding=delta)
    if reason == ACCOUNT_CLOSED:
        return tally.count(day, points_forfeited=-delta)
    if delta > 0:
        return tally.count(day, points_issued=delta)
    if reason in SPENDING:
        return tally.count(day, points_spent=-delta)
    if reason == "refund":
        return tally.count(day, points_clawed_back=-delta)
    return tally.count(day, points_forfeited=-delta)


def pending_flow(day: date, points: int, matures_on: date, kind: str) -> Tally:
    """Order points held (`issued`), cancelled by a refund (`clawed_back`) or dropped with a closed
    account (`forfeited`) on `day`; the move from pending to spendable is booked on `matures_on`
    when held, and taken back when they will not mature."""
    sign = 1 if kind == "issued" else -1
    return Tally().count(day, pending=sign * points, **{f"points_{kind}": points}).count(
        matures_on, pending=-sign * points, outstanding=sign * points)


def by_earning_year(points: Points, keep_years: int) -> Counter[int]:
    """A member's points that can expire, by the year whose lot holds (or will hold) them: pending
    points land in the lot of the year they mature in and held points return to their own years'
    lots (unless confirmed, which is a write), each less what it pays of a debt first, in the order
    they come due (`points.matured`; a debt only changes with a write, which counts again)."""
    settled, _ = matured(points, END_OF_TIME, keep_years)
    return Counter({year: amount for year, amount in settled.lots.items() if amount})


def lot_changes(before: Points, after: Points, written_off: dict[int, int], keep_years: int) -> Counter[int]:
    """What a change adds to each earning year's lots, not counting write-offs of expired lots: a
    year's total is then, once its expiry instant has passed, exactly what expired then."""
    changes = by_earning_year(after, keep_years)
    changes.subtract(by_earning_year(before, keep_years))
    changes.update(written_off)
    return Counter({year: amount for year, amount in changes.items() if amount})


# ---- distinct members ------------------------------------------------------------------------------

def _gap_counters(prefix: str, spans: Iterable[tuple[date, int, int | None]]) -> DayCounter:
    """+1 at `<prefix><low>` and -1 at `<prefix><high>` of each date's span [low, high) of k."""
    counters: DayCounter = Counter()
    for day, low, high in spans:
        if low > MAX_GAP or (high is not None and high <= low):
            continue
        counters[(day, f"{prefix}{low}")] += 1
        if high is not None and high <= MAX_GAP:
            counters[(day, f"{prefix}{high}")] -= 1
    return counters


def first_counters(prefix: str, dates: Iterable[date]) -> DayCounter:
    """Gap counters of the first event of each date (previous event's date before `from`)."""
    ordered = sorted(set(dates))
    return _gap_counters(prefix, ((d, 0, (d - p).days if p else None)
                                  for p, d in zip([None, *ordered], ordered, strict=False)))


def repeat_counters(orders_by_date: dict[date, int]) -> DayCounter:
    """Gap counters of the second order in a range: its previous order in the range, the one
    before that not (k in [d - previous, d - one before))."""
    spans: list[tuple[date, int, int | None]] = []
    earlier: list[date] = []  # the dates of the two orders before, latest last
    for day in sorted(d for d, n in orders_by_date.items() if n > 0):
        count = orders_by_date[day]
        before, before_that = (earlier[-1] if earlier else None), (earlier[-2] if len(earlier) > 1 else None)
        if before is not None:
            spans.append((day, (day - before).days, (day - before_that).days if before_that else None))
        if count > 1:
            spans.append((day, 0, (day - before).days if before else None))
        earlier = (earlier + [day] * min(count, 2))[-2:]
    return _gap_counters("r", spans)


def difference(after: DayCounter, before: DayCounter) -> DayCounter:
    """The counters to add to turn `before` into `after`."""
    change: DayCounter = Counter(after)
    change.subtract(before)
    return Counter({key: n for key, n in change.items() if n})


# ---- activity and orders on the member -------------------------------------------------------------

def activity_dates(active_days: dict[str, int]) -> list[date]:
    """The dates of a member's activity, from their monthly bitmasks (`YYYY-MM` -> bit day-1)."""
    found = []
    for month, mask in active_days.items():
        year, number = int(month[:4]), int(month[5:7])
        found += [date(year, number, bit + 1) for bit in range(31) if mask >> bit & 1]
    return sorted(found)


def mark_active(active_days: dict[str, int], day: date) -> tuple[dict[str, int], Tally]:
    """A member's activity dates with `day` added, and the counters its first activity there adds."""
    month, bit = day.isoformat()[:7], 1 << (day.day - 1)
    if active_days.get(month, 0) & bit:
        return active_days, Tally()
    near = around(activity_dates(active_days), day)
    counters = difference(first_counters("a", near), first_counters("a", near - {day}))
    return {**active_days, month: active_days.get(month, 0) | bit}, Tally(days=counters)


def around(dates: Iterable[date], day: date, reach: int = 2) -> set[date]:
    """`day` and the `reach` dates either side of it: all whose counters an event on `day` can change
    (a date's counters depend on its two previous dates at most), and enough before them that the
    earliest ones' counters are the same with the event or without."""
    ordered = sorted(set(dates) | {day})
    at = ordered.index(day)
    return set(ordered[max(0, at - reach):at + reach + 1])


def order_counters(order_days: dict[date, OrderDay]) -> DayCounter:
    """A member's buyer and repeat-buyer counters, from their orders by paid date."""
    counts = {day: item.orders for day, item in order_days.items() if item.orders}
    counters = first_counters("b", counts)
    counters.update(repeat_counters(counts))  # (not `+`, which drops the negative counters)
    return counters


def record_order_day(order_days: dict[date, OrderDay], day: date, amount_fen: int, discount_fen: int | None
                     ) -> tuple[dict[date, OrderDay], Tally]:
    """A member's orders by date with one more paid on `day` (`discount_fen`: its coupon's, None
    without one), and what it adds to the figures."""
    was = order_days.get(day, OrderDay(0, 0, 0))
    after = {**order_days, day: OrderDay(was.orders + 1, was.live + 1, was.net_fen + amount_fen)}
    near = around((d for d, item in order_days.items() if item.orders), day)
    tally = Tally(days=difference(order_counters({d: after[d] for d in near}),
                                  order_counters({d: order_days[d] for d in near if d in order_days})))
    if discount_fen is not None:
        tally.count(day, coupons_used=1, discount_fen=discount_fen)
    return after, tally.count(day, orders=1, revenue_fen=amount_fen)


def refund_order_day(order_days: dict[date, OrderDay], day: date, amount_fen: int, *, whole: bool
                     ) -> dict[date, OrderDay]:
    """A member's orders by date after a refund of an order paid on `day` (`whole`: now fully refunded)."""
    was = order_days.get(day, OrderDay(0, 0, 0))
    return {**order_days, day: OrderDay(was.orders, max(0, was.live - whole), was.net_fen - amount_fen)}


def place_member(before: Member, after: Member, program: Program, today: date) -> tuple[Member, Tally]:
    """The member's place in the tier figures by their growth as of `today`, and the tier counters
    that moves. A place is `<year>|<tier that year>|<the next>|...`: the tiers the recorded growth
    reaches from the year of the write on, until its latest year has aged out (then the base tier)."""
    year = today.year
    last = max([year, *after.growth]) + 1
    tiers = [program.tier_for(growth_value(after.growth, date(y, 1, 1))).code for y in range(year, last + 1)]
    place = "|".join([str(year), *tiers])
    tally = Tally()
    if place != before.tier_place:
        tally.tiers[place] += 1
        if before.tier_place:
            tally.tiers[before.tier_place] -= 1
    return replace(after, tier_place=place), tally


def tier_at(place: str, year: int, base_code: str) -> str:
    """The tier of a member counted at `place`, in `year`."""
    written, *tiers = place.split("|")
    offset = year - int(written)
    return tiers[max(0, offset)] if offset < len(tiers) else base_code


def dates_between(first: date, last: date) -> list[date]:
    """Every date from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
