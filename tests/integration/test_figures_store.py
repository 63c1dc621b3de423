"""The figures table on both units of work: counters added by several changes (one transaction
touching an item once however many tallies name it), read back in order by BatchGetItem, more than
a hundred keys at a time, with missing items as empty counters."""
from __future__ import annotations

import secrets
from collections import Counter
from datetime import date, timedelta

import pytest

from chalicelib.domain.analytics import Tally
from chalicelib.store import analytics
from chalicelib.store.dynamo import DynamoUnitOfWork
from chalicelib.store.memory import InMemoryUnitOfWork
from chalicelib.store.parts import every, merged


@pytest.fixture(params=["dynamodb", "memory"])
def uow(request: pytest.FixtureRequest) -> DynamoUnitOfWork | InMemoryUnitOfWork:
    return DynamoUnitOfWork() if request.param == "dynamodb" else InMemoryUnitOfWork()


def test_counters_add_up_and_read_back_by_date(uow) -> None:
    first = date(2000 + secrets.randbelow(900), 1, 1)  # a year of its own in the shared store
    shard = "03"
    day_one = Tally().count(first, orders=2, a5=-1, a0=3, a4=-(2**22), r365=-1, b1=2**22)
    day_two = Tally().count(first, orders=1, outstanding=7, a0=1, a4=-1)
    day_two.count(first + timedelta(days=40), checkins=1)
    day_two.lots[first.year] += 9
    uow.write(*merged([*analytics.writes(shard, day_one), *analytics.writes(shard, day_two)]))
    dates = [first + timedelta(days=n) for n in range(45)]
    found = uow.read_many(analytics.days(dates))
    assert len(found) == 45 * 16
    assert found[3] == Counter({"orders": 3, "a5": -1, "outstanding": 7, "a0": 4, "a4": -(2**22) - 1, "r365": -1,
                                "b1": 2**22})
    assert found[40 * 16 + 3] == Counter({"checkins": 1})
    assert [at for at, counters in enumerate(found) if counters] == [3, 40 * 16 + 3]
    months = dict(every(uow, lambda cursor: analytics.months_before(date(first.year, 12, 1), cursor)))
    assert months[f"{first.isoformat()[:7]}#{shard}"] == Counter({"outstanding": 7})
    years = dict(every(uow, lambda cursor: analytics.years_before(first.year + 1, cursor)))
    assert years[f"{first.year}#{shard}"] == Counter({"outstanding": 7})
    assert dict(every(uow, analytics.lots))[f"{first.year}#{shard}"] == Counter({"points": 9})
