"""Property: random sequences of orders, refunds (valid and beyond the order), manual adjustments
(credits and debits), redemptions, check-ins (streak bonuses, make-ups) and clock moves across
Shanghai year ends (23:59:59, 00:00:00, 00:00:01 on 1 January), with `keep_years` 0 or 1, keep the
books exact:

- every command answers the balance it found plus exactly its own change, or is refused and
  writes nothing;
- the balance is the sum of the live lots held (less any debt), and after every write (or the
  yearly reset) the sum of the member's ledger deltas and the last entry's `balance_after`;
- each ledger entry's `balance_after` is the one before plus its delta;
- growth is the net spend (paid minus refunded, whole yuan per order) of this and last Shanghai year;
- no points outlive their expiry.

The same property over HTTP is `tests/api/test_points_properties.py`; this one runs against the
in-memory unit of work, so it affords ten times the examples.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from builders import Shop, at, new_id, set_now, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import clock
from chalicelib.clock import SHANGHAI
from chalicelib.domain.points import lot_expires_at
from chalicelib.errors import (
    AlreadyCheckedIn,
    InsufficientPoints,
    LimitReached,
    NegativeBalance,
    RefundExceedsOrder,
    ValidationError,
)
from chalicelib.jobs import points_reset
from chalicelib.jobs.sharded import start
from chalicelib.services import checkins
from chalicelib.store.memory import InMemoryUnitOfWork

START = at(2025, 12, 20, 12, 0)
REWARD_COST = 50
NEW_YEAR_MOMENTS = ["23:59:59", "00:00:00", "00:00:01"]

CHECKIN = {"points": 5, "streak_bonuses": [{"day": 3, "points": 20}],
           "makeup": {"points_cost": 30, "monthly_limit": 2}}

orders = st.tuples(st.just("order"), st.integers(0, 300_000))
# a share (1..100 %) of what is left of an order, or that plus some fen: beyond the order
refunds = st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 100), st.sampled_from([0, 0, 0, 1, 5_000]))
steps = st.lists(st.one_of(
    orders, orders, refunds, refunds,
    st.tuples(st.just("adjust"), st.integers(-400, -1) | st.integers(1, 400)),
    st.tuples(st.just("redeem")),
    st.tuples(st.just("checkin"), st.booleans()),  # True: the next morning first
    st.tuples(st.just("makeup"), st.integers(0, 6)),  # a day this many days ago
    st.tuples(st.just("days"), st.integers(1, 200), st.booleans()),
    st.tuples(st.just("new_year"), st.sampled_from(NEW_YEAR_MOMENTS), st.booleans()),
), min_size=2, max_size=20)


@dataclass
class Books:
    """What the test knows independently of the store: the orders, their refunds, the check-in dates."""

    keep_years: int
    orders: list[dict] = field(default_factory=list)
    checked_in: set[date] = field(default_factory=set)
    makeups: dict[str, int] = field(default_factory=dict)
    settled: bool = True  # False after a clock move, until a write or the yearly reset settles expiry


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps, keep_years=st.sampled_from([0, 1]))
def test_the_books_always_balance(steps: list[tuple], keep_years: int) -> None:
    set_now(START)
    shop = Shop(InMemoryUnitOfWork(), None)  # type: ignore[arg-type]  # no phone codes: no WeChat calls
    shop.set_program(points_expiry={"keep_years": keep_years}, checkin=CHECKIN)
    reward_id = shop.reward(points_cost=REWARD_COST)["reward_id"]
    who = shop.member()
    books = Books(keep_years)
    check_books(shop, who, books)
    for step in steps:
        if step[0] not in ("days", "new_year"):
            tick(books)
        STEPS[step[0]](shop, who, books, reward_id, *step[1:])
        check_books(shop, who, books)


def tick(books: Books) -> None:
    """A second passes before each request: two tier changes of a member at one instant collide
    (the bug `test_uow_orders.py::test_a_tier_regained_at_the_same_instant_is_recorded` shows)."""
    before = clock.now()
    set_now(before + timedelta(seconds=1))
    if clock.business_date().year != clock.business_date(before).year:
        books.settled = False


# ---- the steps -----------------------------------------------------------------------------------

def order(shop: Shop, who, books: Books, _reward: str, amount: int) -> None:
    before = shop.balance(who)
    order_id = new_id("p")
    status, body = shop.order(who.member_id, amount, order_id=order_id)
    assert status == 201 and body["balance"] == before + body["points_awarded"]
    books.orders.append({"id": order_id, "amount": amount, "refunded": 0, "paid": clock.now()})
    books.settled = True


def refund(shop: Shop, who, books: Books, _reward: str, index: int, pct: int, beyond: int) -> None:
    if not books.orders:
        return
    target = books.orders[index % len(books.orders)]
    left = target["amount"] - target["refunded"]
    amount = max(1, left * pct // 100) + beyond
    before = shop.balance(who)
    if amount > left:
        _refused(shop, RefundExceedsOrder, lambda: shop.refund(target["id"], amount))
        return
    status, body = shop.refund(target["id"], amount)
    assert status == 201 and body["balance"] == before - body["points_clawed_back"]
    target["refunded"] += amount
    books.settled = True


def adjust(shop: Shop, who, books: Books, _reward: str, delta: int) -> None:
    before = shop.balance(who)
    if delta < 0 and before + delta < 0:  # a credit may leave a debt standing
        _refused(shop, NegativeBalance, lambda: shop.adjust(who.member_id, delta))
        return
    status, body = shop.adjust(who.member_id, delta)
    assert status == 201 and body["balance"] == before + delta == body["entry"]["balance_after"]
    books.settled = True


def redeem(shop: Shop, who, books: Books, reward_id: str) -> None:
    before = shop.balance(who)
    if before < REWARD_COST:
        _refused(shop, InsufficientPoints, lambda: shop.redeem(who, reward_id))
        return
    status, body = shop.redeem(who, reward_id)
    assert status == 201 and body["balance"] == before - REWARD_COST
    books.settled = True


def check_in(shop: Shop, who, books: Books, _reward: str, next_morning: bool) -> None:
    if next_morning:
        move(shop, books, clock.shanghai_start_of(clock.business_date() + timedelta(days=1)) + timedelta(hours=8),
             reset=False)
    before, today = shop.balance(who), clock.business_date()
    if today in books.checked_in:
        _refused(shop, AlreadyCheckedIn, lambda: checkins.check_in_now(shop.uow, who, None))
        return
    books.checked_in.add(today)
    streak = next(n for n in range(1, 400) if today - timedelta(days=n) not in books.checked_in)
    answer = checkins.check_in_now(shop.uow, who, None)
    assert (answer["streak"], answer["points_awarded"], answer["bonus_points"]) == \
        (streak, 5, 20 if streak == 3 else 0)
    assert answer["balance"] == before + answer["points_awarded"] + answer["bonus_points"]
    books.settled = True


def makeup(shop: Shop, who, books: Books, _reward: str, days_ago: int) -> None:
    before, today = shop.balance(who), clock.business_date()
    day, month = today - timedelta(days=days_ago), today.isoformat()[:7]
    refusal = ValidationError if day >= today or day.month != today.month else \
        AlreadyCheckedIn if day in books.checked_in else \
        LimitReached if books.makeups.get(month, 0) >= 2 else \
        InsufficientPoints if before < 30 else None
    if refusal is not None:
        _refused(shop, refusal, lambda: checkins.check_in_now(shop.uow, who, day))
        return
    answer = checkins.check_in_now(shop.uow, who, day)
    assert answer["balance"] == before - 30 + 5 and answer["bonus_points"] == 0
    books.checked_in.add(day)
    books.makeups[month] = books.makeups.get(month, 0) + 1
    books.settled = True


def days(shop: Shop, who, books: Books, _reward: str, count: int, reset: bool) -> None:
    move(shop, books, clock.now() + timedelta(days=count), reset)


def new_year(shop: Shop, who, books: Books, _reward: str, moment: str, reset: bool) -> None:
    year = clock.now().astimezone(SHANGHAI).year
    hour, minute, second = map(int, moment.split(":"))
    target = at(year, 12, 31, hour, minute, second) if moment == "23:59:59" else \
        at(year + 1, 1, 1, hour, minute, second)
    if target > clock.now():
        move(shop, books, target, reset)


def move(shop: Shop, books: Books, instant: datetime, reset: bool) -> None:
    set_now(instant)
    books.settled = False
    if reset:
        start(points_reset.JOB, shop.uow, shop.wechat, instant, dry_run=False)
        books.settled = True


STEPS = {"order": order, "refund": refund, "adjust": adjust, "redeem": redeem, "checkin": check_in,
         "makeup": makeup, "days": days, "new_year": new_year}


def _refused(shop: Shop, error: type[Exception], action) -> None:
    """`action` is refused with `error` and writes nothing."""
    stored = snapshot(shop.uow)
    try:
        action()
    except error:
        assert snapshot(shop.uow) == stored
    else:
        raise AssertionError(f"expected {error.__name__}")


# ---- the books -----------------------------------------------------------------------------------

def check_books(shop: Shop, who, books: Books) -> None:
    now = clock.now()
    view = shop.view(who)
    balance = view["points"]["balance"]
    stored = shop.stored(who.member_id)
    assert stored is not None
    live = {year: p for year, p in stored.points.lots.items() if lot_expires_at(year, books.keep_years) > now}
    assert balance == sum(live.values()) - stored.points.debt

    entries = list(reversed(shop.ledger(who.member_id)))
    running = 0
    for entry in entries:
        running += entry.delta
        assert entry.balance_after == running
    if books.settled:
        assert balance == running == stored.points.balance
        assert entries[-1].balance_after == balance
        assert all(lot_expires_at(year, books.keep_years) > now for year in stored.points.lots)

    year = now.astimezone(SHANGHAI).year
    window = [o for o in books.orders if o["paid"].astimezone(SHANGHAI).year in (year, year - 1)]
    assert view["growth"]["value"] == sum((o["amount"] - o["refunded"]) // 100 for o in window)

    expiring = view["points"]["expiring"]
    assert all(datetime.fromisoformat(lot["expires_at"]) > now for lot in expiring)
    if balance > 0:
        assert sum(lot["points"] for lot in expiring) == balance
