"""Lifecycle automations' results (§8): every automation ever configured, the business dates its job
last ran on, and its results as counters by member shard.

| access pattern                                   | table / key                               | call  |
| ------------------------------------------------ | ----------------------------------------- | ----- |
| every automation ever configured, with counters  | automations `results` partition           | Query |
| an automation's last job dates                   | automations `results`, `def#<id>`         | TransactGetItems |

The `results` partition holds one `def#<id>` item per automation configured (its name, the dates
its job last ran) and one `n#<shard>` item per member shard whose counters (`<id>.tn`, `<id>.cx`,
...: entries, conversions, revenue by group) are added to (DynamoDB's ADD) in the transaction of
the entries and orders they count: no item is written by every order, and the whole answer is one
Query whatever the members.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.domain.program import Automation
from chalicelib.store.base import CounterRecord, TableMeta
from chalicelib.store.parts import Get, Query, Update, add, assign

RESULTS = "results"
PAGE_LIMIT = 1000


class AutomationRecord(CounterRecord):
    """An automation configured (`def#<id>`: name and job dates) or one shard's result counters
    (`n#<shard>`: every number attribute besides the declared ones is a counter)."""

    class Meta(TableMeta):
        table_name = "automations"

    name = UnicodeAttribute(null=True)
    ran_on = UnicodeAttribute(null=True)
    ran_before = UnicodeAttribute(null=True)


MODELS: tuple[type[Model], ...] = (AutomationRecord,)


@dataclass(frozen=True)
class Runs:
    """The business dates an automation's job last ran on, and the one before that."""

    ran_on: date | None
    ran_before: date | None


def _def_key(automation_id: str) -> str:
    return f"def#{automation_id}"


# ---- reads -------------------------------------------------------------------------------------------

def results(cursor: str | None) -> Query[AutomationRecord, tuple[str, str | None, Counter[str]]]:
    """The `results` partition: (key, name, counters) of each item."""
    return Query(AutomationRecord, RESULTS, lambda r: (r.key, r.name, Counter(r.counters)), limit=PAGE_LIMIT,
                 cursor=cursor, consistent=True)


def runs(automation_id: str) -> Get[AutomationRecord, Runs]:
    """When the automation's job last ran."""
    def convert(record: AutomationRecord | None) -> Runs:
        def day(text: str | None) -> date | None:
            return date.fromisoformat(text) if text else None
        return Runs(day(record.ran_on), day(record.ran_before)) if record is not None else Runs(None, None)

    return Get(AutomationRecord, (RESULTS, _def_key(automation_id)), convert)


# ---- writes ------------------------------------------------------------------------------------------

def configured(automation: Automation) -> Update:
    """Keep the automation (its latest name) among those ever configured."""
    return Update(AutomationRecord, (RESULTS, _def_key(automation.id)),
                  (assign(AutomationRecord.name, automation.name),))


def ran(automation: Automation, on: date, runs_before: Runs) -> Update:
    """Record that the automation's job ran on `on` (a later date than it last ran on)."""
    before = runs_before.ran_on.isoformat() if runs_before.ran_on else None
    return Update(AutomationRecord, (RESULTS, _def_key(automation.id)),
                  (assign(AutomationRecord.name, automation.name), assign(AutomationRecord.ran_on, on.isoformat()),
                   assign(AutomationRecord.ran_before, before)))


def count(shard: str, counts: Counter[str]) -> list[Update]:
    """Add to a shard's result counters (nothing when every count is 0)."""
    ops = tuple(add(NumberAttribute(attr_name=name), n) for name, n in sorted(counts.items()) if n)
    return [Update(AutomationRecord, (RESULTS, f"n#{shard}"), ops)] if ops else []
