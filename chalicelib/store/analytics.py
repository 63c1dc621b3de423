"""The store-wide figures (§7): counters maintained in the same transactions as the changes they
count, one item per date and shard, so that no item is written by every order or check-in (a
shard's item takes a sixteenth of a day's writes) and a range costs reads in proportion to its days.

| access pattern                              | bucket (hash)     | key (range)             | call          |
| ------------------------------------------- | ----------------- | ----------------------- | ------------- |
| counters of some dates, every shard         | `day#<date>`      | `<shard>`               | BatchGetItem  |
| stocks of a year's months before one        | `month#<yyyy>`    | `<yyyy-mm>#<shard>`     | Query         |
| stocks of the years before one              | `year`            | `<yyyy>#<shard>`        | Query         |
| points by earning year (expiry)             | `lots`            | `<yyyy>#<shard>`        | Query         |
| members by tier place                       | `tiers`           | `<yyyy>#<shard>`        | Query         |

Counters are the items' top-level number attributes (DynamoDB's ADD, which counts a missing
attribute as 0, so a first write needs no set-up); the stocks (`analytics.STOCKS`) are also added
to their month's and year's items, so a stock at the end of any date is a sum of at most a few
years, eleven months and thirty days.

The gap counters (`a<k>`, `b<k>`, `r<k>`: up to 366 of each a date) are packed `GAP_DIGITS` to a
number, as signed digits in base `GAP_BASE` (`ag3` holds `a15`..`a19`: adding n to `a17` adds
n * GAP_BASE**2 to `ag3`). ADD stays exact (DynamoDB numbers hold 38 digits; five digits of 24
bits are 120 bits), and a year of counters is five times fewer attributes to send, store and
parse. A digit holds up to ±2**23 (8 million first activities of one shard on one date).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date

from pynamodb.attributes import NumberAttribute
from pynamodb.models import Model

from chalicelib.domain.analytics import STOCKS, Tally
from chalicelib.store.base import CounterRecord, TableMeta, all_shards
from chalicelib.store.parts import Get, Query, Update, Write, add, lt

PAGE_LIMIT = 1000
GAP_DIGITS = 5
GAP_BASE = 2**24
GAP_COUNTER = re.compile(r"([abr])(\d+)")
PACKED_GAPS = re.compile(r"([abr])g(\d+)")


class FigureRecord(CounterRecord):
    """Counters of one bucket and key (every number attribute besides the key is a counter)."""

    class Meta(TableMeta):
        table_name = "figures"


MODELS: tuple[type[Model], ...] = (FigureRecord,)


def _counters(record: FigureRecord | None) -> Counter[str]:
    """An item's counters, the gap counters unpacked."""
    counters: Counter[str] = Counter()
    for name, value in (record.counters if record is not None else {}).items():
        packed = PACKED_GAPS.fullmatch(name)
        if packed is None:
            counters[name] = value
            continue
        first = int(packed[2]) * GAP_DIGITS
        for digit in range(GAP_DIGITS):
            value, part = divmod(value, GAP_BASE)
            if part >= GAP_BASE // 2:
                part, value = part - GAP_BASE, value + 1
            if part:
                counters[f"{packed[1]}{first + digit}"] = part
            if not value:
                break
    return counters


def _packed(name: str, amount: int) -> tuple[str, int]:
    """Where a counter is added: a gap counter into its packed number, at its digit."""
    gap = GAP_COUNTER.fullmatch(name)
    if gap is None:
        return name, amount
    position = int(gap[2])
    return f"{gap[1]}g{position // GAP_DIGITS}", amount * GAP_BASE ** (position % GAP_DIGITS)


# ---- writes ----------------------------------------------------------------------------------------

def writes(shard: str, tally: Tally) -> list[Update]:
    """The counter updates of one shard's tally (one Update per item)."""
    items: dict[tuple[str, str], Counter[str]] = {}

    def bump(bucket: str, key: str, name: str, amount: int) -> None:
        if amount:
            packed, value = _packed(name, amount)
            items.setdefault((bucket, key), Counter())[packed] += value

    for (day, name), amount in tally.days.items():
        bump(f"day#{day.isoformat()}", shard, name, amount)
        if name in STOCKS:
            bump(f"month#{day.year}", f"{day.isoformat()[:7]}#{shard}", name, amount)
            bump("year", f"{day.year}#{shard}", name, amount)
    for year, amount in tally.lots.items():
        bump("lots", f"{year}#{shard}", "points", amount)
    for place, amount in tally.tiers.items():
        written, tiers = place.split("|", 1)
        bump("tiers", f"{written}#{shard}", tiers, amount)
    return [Update(FigureRecord, key, tuple(add(NumberAttribute(attr_name=name), n)
                                            for name, n in counters.items() if n))
            for key, counters in items.items() if any(counters.values())]


def day_counts(parts: Sequence[Write]) -> Counter[str]:
    """What some writes add to the day counters (every shard and date together)."""
    counts: Counter[str] = Counter()
    for part in parts:
        if isinstance(part, Update) and part.model is FigureRecord and str(part.key[0]).startswith("day#"):
            for op in part.ops:
                if op.kind == "add" and not PACKED_GAPS.fullmatch(op.attribute.attr_name or ""):
                    counts[op.attribute.attr_name or ""] += op.value
    return counts


# ---- reads -----------------------------------------------------------------------------------------

def day(on: date, shard: str) -> Get[FigureRecord, Counter[str]]:
    """One shard's counters of a date."""
    return Get(FigureRecord, (f"day#{on.isoformat()}", shard), _counters)


def days(dates: list[date]) -> list[Get[FigureRecord, Counter[str]]]:
    """The counters of every shard for each date, date by date."""
    return [day(on, shard) for on in dates for shard in all_shards()]


def _keyed(bucket: str, before: str | None, cursor: str | None) -> Query[FigureRecord, tuple[str, Counter[str]]]:
    return Query(FigureRecord, bucket, lambda r: (r.key, _counters(r)), limit=PAGE_LIMIT, cursor=cursor,
                 range=lt(FigureRecord.key, before) if before is not None else None, consistent=True)


def months_before(month: date, cursor: str | None) -> Query[FigureRecord, tuple[str, Counter[str]]]:
    """The stocks of each month of `month`'s year before it, by `<yyyy-mm>#<shard>`."""
    return _keyed(f"month#{month.year}", month.isoformat()[:7], cursor)


def years_before(year: int, cursor: str | None) -> Query[FigureRecord, tuple[str, Counter[str]]]:
    """The stocks of each year before `year`, by `<yyyy>#<shard>`."""
    return _keyed("year", f"{year:04d}", cursor)


def lots(cursor: str | None) -> Query[FigureRecord, tuple[str, Counter[str]]]:
    """Points by earning year (`points`), by `<yyyy>#<shard>`."""
    return _keyed("lots", None, cursor)


def tier_places(cursor: str | None) -> Query[FigureRecord, tuple[str, Counter[str]]]:
    """Members by tier place (`<now>|<next>`), by `<yyyy>#<shard>` of the year they were counted in."""
    return _keyed("tiers", None, cursor)
