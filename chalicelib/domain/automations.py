"""Lifecycle automations (§8): who enters which automation and when, the holdout, and which orders
convert an entry. Pure rules over what the member item keeps: its orders by paid date, the key of
each automation's latest entry (`entered`) and its entries still within their attribution windows.

An entry's *key* says which occurrence of its trigger it is, so that nothing enters twice: the
latest order's date for `lapsed` (a new order starts a new lapse), `once` for `no_first_order`,
`<first month of the streak>#<multiple>` for `purchase_streak`, the year for `tier_at_risk`. A
member enters when the trigger selects them and its key differs from the one recorded.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import business_date
from chalicelib.domain.orders import OrderDay
from chalicelib.domain.program import Automation, Program
from chalicelib.domain.tiers import keep_view

if TYPE_CHECKING:
    from chalicelib.domain.member import Member

JOB_TRIGGERS = ("lapsed", "no_first_order", "tier_at_risk")
KEEP_CLOSED_FOR = timedelta(days=30)  # an entry stays on the member this long after its window closes
# The counters of an automation's results (each `<automation id>.<name>`): entries, conversions
# and revenue of the treated (`t`) and control (`c`) groups.
ENTERED, CONVERTED, REVENUE = "n", "x", "r"


@dataclass(frozen=True)
class OpenEntry:
    """An entry whose attribution window is open (or closed within `KEEP_CLOSED_FOR`): orders paid
    in `(at, until]` convert it, except `order_id` (the order that made a purchase streak)."""

    automation_id: str
    control: bool
    at: datetime
    until: datetime
    converted: bool = False
    order_id: str | None = None


@dataclass(frozen=True)
class Entering:
    """A member entering an automation now: the trigger's occurrence (`key`) and the group."""

    automation: Automation
    key: str
    control: bool


def in_control(automation_id: str, member_id: str, holdout_pct: int) -> bool:
    """The holdout: control with probability `holdout_pct`%, the same for an automation and a member
    every time (a hash of both ids into 0..9999)."""
    digest = hashlib.sha256(f"{automation_id}\x00{member_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < holdout_pct * 100


def counter(automation_id: str, control: bool, name: str) -> str:
    """The name of one result counter of an automation."""
    return f"{automation_id}.{'c' if control else 't'}{name}"


# ---- what the member item keeps for the indexes ------------------------------------------------------

def latest_order(order_days: dict[date, OrderDay]) -> date | None:
    """The paid date of the member's latest order (refunded or not: a refund never moves a lapse
    back to a date the job has passed), None without one."""
    return max((day for day, item in order_days.items() if item.orders > 0), default=None)


def lifecycle_key(member: Member) -> str:
    """Where the member sorts in the lifecycle index: `o#<latest order's date>` once they have one,
    `j#<join date>` while they have never ordered."""
    latest = latest_order(member.order_days)
    return f"o#{latest.isoformat()}" if latest is not None else f"j#{business_date(member.joined_at).isoformat()}"


# ---- triggers ---------------------------------------------------------------------------------------

def streak(order_days: dict[date, OrderDay], month: date) -> tuple[date, int]:
    """The run of consecutive calendar months with an order not fully refunded that ends with
    `month`'s: (its first month, its length; 0 when `month` has none)."""
    months = {(day.year, day.month) for day, item in order_days.items() if item.live > 0}
    year, number, length = month.year, month.month, 0
    while (year, number) in months:
        length += 1
        year, number = (year, number - 1) if number > 1 else (year - 1, 12)
    first = date(year, number, 1) + timedelta(days=31)
    return first.replace(day=1), length


def streak_key(automation: Automation, order_days: dict[date, OrderDay], paid_on: date) -> str | None:
    """The key of a `purchase_streak` entry an order paid on `paid_on` makes (None if it makes none):
    the streak ending with its month reaches a multiple of `months`."""
    first, length = streak(order_days, paid_on)
    if not length or length % automation.period:
        return None
    return f"{first.isoformat()[:7]}#{length // automation.period}"


def job_key(automation: Automation, member: Member, program: Program, as_of: datetime) -> str | None:
    """The key of the entry the `automations` job makes for this member at `as_of` (None if the
    trigger does not select them): `lapsed` N or more days after the latest order;
    `no_first_order` N or more days after joining without an order; `tier_at_risk` N or fewer days
    before the coming 1 January with growth still needed to keep the tier."""
    day = business_date(as_of)
    if automation.trigger == "lapsed":
        latest = latest_order(member.order_days)
        return latest.isoformat() if latest is not None and (day - latest).days >= automation.period else None
    if automation.trigger == "no_first_order":
        joined = business_date(member.joined_at)
        return "once" if member.orders_count == 0 and (day - joined).days >= automation.period else None
    if automation.trigger == "tier_at_risk" and at_risk_window(automation, day):
        keep = keep_view(program, member.growth, day)
        return str(day.year) if keep is not None and keep["to_keep"] > 0 else None
    return None


def at_risk_window(automation: Automation, day: date) -> bool:
    """Whether `day` is N or fewer days before the coming 1 January."""
    return (date(day.year + 1, 1, 1) - day).days <= automation.period


def entering(automation: Automation, member: Member, key: str | None) -> Entering | None:
    """The member entering an active automation on the trigger's occurrence `key`, unless that
    occurrence (for a streak: that multiple of it, or a later one) entered it already."""
    if key is None or not automation.active or _entered_before(member.entered.get(automation.id), key):
        return None
    return Entering(automation, key, in_control(automation.id, member.member_id, automation.holdout_pct))


def _entered_before(recorded: str | None, key: str) -> bool:
    """Whether the occurrence `key` entered already, the latest entry being `recorded`: the same key,
    or a streak's multiple at most the one recorded for the same streak (a late order in a month
    already counted makes a streak's earlier multiple again)."""
    if recorded is None or recorded == key:
        return recorded == key
    first, _, multiple = key.partition("#")
    before, _, entered = recorded.partition("#")
    return bool(multiple) and first == before and entered.isdigit() and int(multiple) <= int(entered)


# ---- entries and conversions ------------------------------------------------------------------------

def enter(member: Member, entries: Iterable[Entering], at: datetime, *, order_id: str | None = None
          ) -> tuple[Member, Counter[str]]:
    """The member with the entries recorded (keys and open entries; those closed `KEEP_CLOSED_FOR`
    ago dropped), and the result counters they add."""
    opened = [entry for entry in member.open_entries if entry.until + KEEP_CLOSED_FOR > at]
    entered, counts = dict(member.entered), Counter[str]()
    for item in entries:
        rule = item.automation
        entered[rule.id] = item.key
        opened.append(OpenEntry(rule.id, item.control, at, at + timedelta(days=rule.attribution_days),
                                order_id=order_id))
        counts[counter(rule.id, item.control, ENTERED)] += 1
    return replace(member, entered=entered, open_entries=tuple(opened)), counts


def convert(member: Member, order_id: str, paid_at: datetime, amount_fen: int, now: datetime
            ) -> tuple[Member, Counter[str]]:
    """An order's conversions: every open entry whose window holds `paid_at` (its own streak order
    excepted) counts the order's amount as revenue, and converts once. Entries whose window closed
    more than `KEEP_CLOSED_FOR` ago are dropped."""
    kept: list[OpenEntry] = []
    counts: Counter[str] = Counter()
    for entry in member.open_entries:
        if entry.at < paid_at <= entry.until and entry.order_id != order_id:
            counts[counter(entry.automation_id, entry.control, REVENUE)] += amount_fen
            if not entry.converted:
                counts[counter(entry.automation_id, entry.control, CONVERTED)] += 1
                entry = replace(entry, converted=True)
        if entry.until + KEEP_CLOSED_FOR > now:
            kept.append(entry)
    return replace(member, open_entries=tuple(kept)), counts
