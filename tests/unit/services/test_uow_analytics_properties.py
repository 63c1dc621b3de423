"""Property: the analytics summary (§7) is exact.

36 seeded scenarios (`analytics_shop.scenario`: `keep_years` 0 and 1, `order_points_pending_days` 0,
3 and 15, three starts; 30 of 36-60 steps and 6 of 90-115, ~2,050 steps in all, ~17 s) drive
signups (invited ones, re-signups of a closed openid), check-ins and make-ups, orders (recorded late, paid a few minutes ahead, paying with a
coupon), partial and full refunds, redemptions (gifts and coupons), coupon claims and targeted
issues, interaction events (over the daily cap too), admin adjustments (+/-), account closures,
checkout holds (`analytics_checkouts`: points as cash and/or a coupon, 60 s to 1 h, made minutes
before a 1 January too; confirmed on time or after they lapsed, refused `HOLD_EXPIRED` or
`HOLD_CLOSED`, cancelled, left to lapse; refunds, closures and midnight while the member pays; full
refunds of confirmed checkouts), replayed requests, jobs (the checkout-expiry job too) and clock
moves (seconds, hours, days, to 23:59:59, 00:00:00 and 00:00:01 of a month or year end, with or
without the yearly reset). At each check step and at the end:

- the brute force (`analytics_books`, with `analytics_lots` replaying each member's points and
  holds; from the raw stored records, written from the contract and not from the implementation)
  agrees with what each member sees now (balance, pending and held points, check-in dates), so it
  reads the records right;
- every figure of the summary of chained consecutive ranges (a past single day, often just before
  a 1 January, ranges up to today or yesterday, today alone; every fourth check also the longest,
  366 dates) equals the brute force's, `daily` included;
- the §7 identity holds for each range against the range (or day) just before it.

A failing scenario (a wrong figure, or a step failing otherwise, e.g. with a 503) is shrunk (steps
removed while it fails the same way) and reported as a `Scenario(...)` to paste into `play`.
"""
from __future__ import annotations

import copy
import re
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import analytics_books as books_
from analytics_shop import Scenario, play, scenario
from analytics_world import World
from builders import Shop, at, set_now

from chalicelib import clock
from chalicelib.clock import render
from chalicelib.domain.member import member_view
from chalicelib.services import analytics
from chalicelib.store import members as member_store
from chalicelib.store import settings as settings_store
from chalicelib.store.members import MemberRecord
from chalicelib.store.memory import InMemoryUnitOfWork

SEEDS = [*((seed, (36, 60)) for seed in range(30)), *((seed, (90, 115)) for seed in range(30, 36))]  # (seed, steps)
MUST_EXERCISE = (
    "order", "order paid at another time", "order with a coupon", "refund", "refund of the rest",
    "refund refused: RefundExceedsOrder", "checkin", "makeup", "redeem", "claim", "issue", "event", "adjust",
    "adjust refused: NegativeBalance", "close", "replay", "job yearly-points-reset", "clock to a month or year end",
    "pending cancelled", "pending forfeited", "expired after 1 year ends", "expired after 2 year ends",
    "late order across a year end", "closed with debt", "a member above the base tier",
    "a coupon used again after a full refund", "an order paid after today",
    # checkouts (§9): what the steps did, then what the records show (`analytics_lots`)
    "hold of points", "hold of a coupon", "hold refused: InsufficientPoints", "hold across a 1 January", "confirm",
    "confirm after the hold lapsed", "confirm refused: HoldExpired", "confirm refused: HoldClosed",
    "confirm refused: NotFound", "cancel", "cancel refused: HoldClosed", "job checkout-expiry",
    "refund of a confirmed checkout", "a confirmed checkout's coupon given back", "a hold spent by its confirm",
    "a confirm after its hold lapsed", "a hold cancelled", "a hold lapsed", "a hold ended by a closure",
    "a hold released into a debt", "held points expired after 1 year ends", "held points expired after 2 year ends",
    "expired held points taken from the balance at confirm", "points used given back by a full refund",
)


def test_every_figure_is_its_brute_force_recomputation() -> None:
    exercised: Counter[str] = Counter()
    for seed, length in SEEDS:
        plan = scenario(seed, length)
        try:
            world = play(plan, check)
        except Exception as failure:  # noqa: BLE001 - a wrong figure, or a step that failed (e.g. a 503)
            raise AssertionError(report(plan, failure)) from None
        exercised.update(name for name, n in world.stats.items() if n)
    missing = [name for name in MUST_EXERCISE if not exercised[name]]
    assert not missing, f"the scenarios no longer exercise {missing}: {sorted(exercised.items())}"


# ---- the checks ------------------------------------------------------------------------------------

def check(world: World, a: int, b: int) -> None:
    """Every figure of chained ranges against the brute force, and the identity of each range
    against the range (or day) just before it."""
    now = clock.now()
    books = books_.build(world.uow.tables, pending_days=world.pending_days, keep_years=world.keep_years, now=now,
                         archived_coupons=world.archived, events=world.events)
    tiers = check_brute_force(world, books, now)

    def figures(first: date, last: date) -> dict[str, int]:
        got = analytics.summary(world.uow, first, last)
        assert got.pop("as_of") == render(now)
        wrong = books_.differences(got, books_.expected(books, first, last, tiers))
        assert not wrong, f"[{first}, {last}] at {render(now)}:\n" + "\n".join(wrong[:20])
        return dict(got["points"])

    for chain in ranges(world.start, clock.business_date(now), a, b, longest=world.stats["checks"] % 4 == 3):
        before = figures(chain[0][0] - timedelta(days=1), chain[0][0] - timedelta(days=1))
        for first, last in chain:
            flow = figures(first, last)
            assert stock(flow) - stock(before) == flow["issued"] - flow["spent"] - flow["expired"] - \
                flow["clawed_back"] - flow["forfeited"], f"identity over [{first}, {last}]: {flow} after {before}"
            before = flow
    world.stats.update({"checks": 1, **{note: 1 for note, n in books.notes.items() if n}})


def stock(figures: dict[str, int]) -> int:
    return figures["outstanding"] + figures["pending"]


def ranges(origin: date, today: date, a: int, b: int, longest: bool) -> list[list[tuple[date, date]]]:
    """Chains of consecutive ranges: a single past day (often just before a 1 January of the
    history), then two ranges up to today or yesterday, then today alone half the time; and the
    longest range (366 dates) when asked."""
    span = min(360, (today - origin).days + 3)
    new_years = [day for year in range(origin.year + 1, today.year + 1)
                 if (today - (day := date(year, 1, 1))).days + 6 < span]
    first = new_years[a % len(new_years)] - timedelta(days=1 + b % 5) if new_years and a % 3 else \
        today - timedelta(days=1 + a % span)
    starts = sorted({first, first + timedelta(days=1), first + timedelta(days=1 + b % (today - first).days),
                     *([today] if a % 2 else [])})
    chains = [list(zip(starts, [*(s - timedelta(days=1) for s in starts[1:]), today], strict=True))]
    if longest:
        chains.append([(today - timedelta(days=365), today)])
    return chains


def check_brute_force(world: World, books: books_.Books, now: datetime) -> list[dict[str, Any]]:
    """The brute force's reading of the records agrees with what the members see now (balance,
    pending and held points, check-in dates); answer the tiers at `now` from the members' growth."""
    program = world.uow.read(program=settings_store.program())["program"]
    tiers: Counter[str] = Counter()
    balances = pending = 0
    for raw in world.uow.tables.get(MemberRecord.Meta.table_name, {}).values():
        member = member_store.to_member(MemberRecord.from_raw_data(copy.deepcopy(raw)))
        if member is None:
            continue
        view = member_view(member, program, now)
        tiers[view["tier"]["code"]] += 1
        books.notes["a member above the base tier"] += view["tier"]["code"] != program.base_tier.code
        seen = (view["points"]["balance"], view["points"]["pending"], view["points"]["held"])
        assert books.balances[member.member_id] == seen, f"brute force (balance, pending, held) of " \
            f"{member.member_id} {books.balances[member.member_id]}, the member's {seen}"
        balances += view["points"]["balance"] + view["points"]["held"]
        pending += view["points"]["pending"]
        recorded = {date.fromisoformat(e.ref or "") for e in world.shop.ledger(member.member_id) if e.reason == "checkin"}
        assert {d for d in recorded if d.isoformat()[:7] in member.checkin.months} == member.checkin.dates(), \
            f"check-in entries of {member.member_id} against its check-in dates"
    assert books.now_totals(now) == (balances, pending), \
        f"brute force stocks now {books.now_totals(now)}, the members' balances (held included) and pending " \
        f"{(balances, pending)}"
    return [{"code": tier.code, "name": tier.name, "members": tiers[tier.code]} for tier in program.tiers]


# ---- a failure, shrunk ---------------------------------------------------------------------------

def report(plan: Scenario, failure: Exception, budget_s: float = 120) -> str:
    """The failure, and the scenario shrunk to the fewest steps that still fail the same way."""
    signature, small, last = _signature(failure), plan, failure
    deadline, at_step = time.monotonic() + budget_s, 0
    while at_step < len(small.steps) and time.monotonic() < deadline:
        trial = replace(small, steps=small.steps[:at_step] + small.steps[at_step + 1:])
        found = _failure(trial)
        if found is not None and _signature(found) == signature:
            small, last = trial, found
        else:
            at_step += 1
    first = (str(failure).splitlines() or [""])[0]
    return f"seed {plan.seed}: {type(failure).__name__}: {first}\nshrunk to {len(small.steps)} steps: {small!r}\n{last}"


def _failure(plan: Scenario) -> Exception | None:
    try:
        play(plan, check)
    except Exception as failure:  # noqa: BLE001 - whether it fails the same way is `_signature`'s to say
        return failure
    return None


def _signature(failure: Exception) -> set[str]:
    """What failed: the figures that differ (without their daily index), or the kind of check or error."""
    text = str(failure)
    paths = {re.sub(r"\[\d+\]", "[]", path) for path in re.findall(r"^\s*(\.\S+): got", text, re.MULTILINE)}
    first = re.sub(r"[\d\[\],:+T-]+", "#", text.splitlines()[0] if text else "")[:40]
    return paths or {f"{type(failure).__name__}: {first}"}


# ---- what the property found, as the smallest scenarios --------------------------------------------
# (what it found in checkout holds: the cancel tests at the end of test_uow_checkouts.py)

def test_pending_points_that_pay_a_debt_do_not_expire() -> None:
    """Found at 6f7e01f (fixed by 9e9f6be): pending points that mature while the member owes points
    pay the debt first, but the lots-by-earning-year counters booked them whole to their maturity
    year, so that lot's expiry was overstated (500) and `outstanding` understated (-1000)."""
    set_now(at(2026, 11, 2, 10))
    shop = Shop(InMemoryUnitOfWork(), None)  # type: ignore[arg-type]
    shop.set_program(order_points_pending_days=3, signup_gift={"points": 0, "coupon_template_ids": []})
    who = shop.member()
    member_id = who.member_id or ""
    shop.order(member_id, 100_000, order_id="a")  # 1000 points, pending until 11-05 10:00
    set_now(at(2026, 11, 6, 10))
    shop.adjust(member_id, -1000)  # matured, then taken: balance 0
    shop.order(member_id, 50_000, order_id="b")  # 500 points, pending until 11-09 10:00
    shop.refund("a", 100_000)  # claws back 1000: balance -1000
    set_now(at(2027, 1, 1, 10))  # "b" matured into the debt (-500); nothing was left in the 2026 lot to expire
    assert shop.view(who)["points"]["balance"] == -500
    assert analytics.summary(shop.uow, date(2027, 1, 1), date(2027, 1, 1))["points"] == {
        "issued": 0, "spent": 0, "expired": 0, "clawed_back": 0, "forfeited": 0, "outstanding": -500, "pending": 0}


def test_growth_of_an_order_paid_next_year_keeps_the_tier_two_years() -> None:
    """Found at 6f7e01f (fixed by eece789): an order paid a few minutes ahead across a 1 January
    (paid_at may be up to 5 minutes ahead) books growth in the next year, but the member's tier
    place assumed no growth after the year it was written in, so the tier figures dropped the
    member to the base tier a year too early."""
    set_now(at(2026, 12, 31, 23, 58))
    shop = Shop(InMemoryUnitOfWork(), None)  # type: ignore[arg-type]
    who = shop.member()
    shop.order(who.member_id or "", 150_000, paid_at=at(2027, 1, 1, 0, 2))  # 1500 yuan of 2027 growth: silver
    set_now(at(2028, 6, 1, 12))  # growth of 2027 and 2028: still silver
    assert shop.view(who)["tier"]["code"] == "silver"
    tiers = analytics.summary(shop.uow, date(2028, 6, 1), date(2028, 6, 1))["tiers"]
    assert {tier["code"]: tier["members"] for tier in tiers} == {"normal": 0, "silver": 1, "gold": 0, "black": 0}


def test_pending_points_settle_in_the_order_they_matured() -> None:
    set_now(at(2026, 12, 1, 10))
    shop = Shop(InMemoryUnitOfWork(), None)  # type: ignore[arg-type]
    shop.set_program(order_points_pending_days=15, signup_gift={"points": 0, "coupon_template_ids": []})
    who = shop.member()
    member_id = who.member_id or ""
    shop.order(member_id, 10_000, order_id="d")  # 100 points, pending until 12-16
    set_now(at(2026, 12, 17, 10))
    shop.adjust(member_id, -100)  # matured, then taken
    shop.refund("d", 10_000)  # a debt of 100
    set_now(at(2026, 12, 21, 10))
    shop.order(member_id, 15_000, order_id="x")  # 150 points, pending until 2027-01-05 10:00
    shop.order(member_id, 8_000, order_id="y", paid_at=at(2026, 12, 15, 10))  # recorded late: 80, until 12-30
    set_now(at(2027, 1, 2, 12))  # "y" paid 80 of the debt on 12-30
    assert (shop.view(who)["points"]["balance"], shop.view(who)["points"]["pending"]) == (-20, 150)
    set_now(at(2027, 1, 6, 12))  # "x" matured on 01-05: -20 + 150
    shop.adjust(member_id, 1)
    assert shop.view(who)["points"]["balance"] == 131
    days = [analytics.summary(shop.uow, day, day)["points"] for day in (date(2027, 1, 5), date(2027, 1, 6))]
    assert stock(days[1]) - stock(days[0]) == days[1]["issued"] == 1 and days[1]["outstanding"] == 131
