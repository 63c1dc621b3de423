"""The analytics summary (§7): reads in proportion to the range's days, never to the members."""
from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from chalicelib import clock
from chalicelib.domain.analytics import STOCKS, dates_between
from chalicelib.domain.summary import Figures, check_range, summary_view
from chalicelib.store import analytics, settings
from chalicelib.store.base import SHARDS
from chalicelib.store.parts import UnitOfWork, every


def summary(uow: UnitOfWork, first: date, last: date) -> dict[str, Any]:
    """The figures of [first, last] at this instant: the program (one read), the counters of the
    range's dates and of the days of its first month before it (BatchGetItem, 16 keys a date), and
    four small Queries (the year's earlier months, the earlier years, the lots, the tier places)."""
    as_of = clock.now()
    check_range(first, last, clock.business_date(as_of))
    program = uow.read(program=settings.program())["program"]
    earlier = dates_between(first.replace(day=1), first)[:-1]
    wanted = earlier + dates_between(first, last)
    counters = uow.read_many(analytics.days(wanted))
    per_date: dict[date, Counter[str]] = {day: Counter() for day in wanted}
    for at, found in enumerate(counters):  # `analytics.days` reads every shard of a date in a row
        per_date[wanted[at // SHARDS]].update(found)
    before: Counter[str] = Counter()
    for day in earlier:
        before.update(_stocks(per_date.pop(day)))
    for _, found in every(uow, lambda cursor: analytics.months_before(first, cursor)):
        before.update(_stocks(found))
    for _, found in every(uow, lambda cursor: analytics.years_before(first.year, cursor)):
        before.update(_stocks(found))
    lots: Counter[int] = Counter()
    for key, found in every(uow, analytics.lots):
        lots[int(key.split("#")[0])] += found["points"]
    places: Counter[str] = Counter()
    for key, found in every(uow, analytics.tier_places):
        year = key.split("#")[0]
        places.update({f"{year}|{tiers}": n for tiers, n in found.items()})
    return summary_view(first, last, as_of, program, Figures(per_date, before, dict(lots), places))


def _stocks(counters: Counter[str]) -> Counter[str]:
    return Counter({name: counters[name] for name in STOCKS})
