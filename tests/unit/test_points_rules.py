"""Lots by year: credits, debits oldest first, debt, exact expiry at Shanghai midnight."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.analytics import by_earning_year
from chalicelib.domain.ledger import plan_change
from chalicelib.domain.member import Member
from chalicelib.domain.points import (
    HeldPoints,
    PendingPoints,
    Points,
    apply_delta,
    expiry_schedule,
    lot_expires_at,
    split_expired,
)

UTC = timezone.utc
NEW_YEAR_EVE = datetime(2026, 12, 31, 15, 50, tzinfo=UTC)  # 23:50 Shanghai


def test_lot_expires_at_shanghai_new_year_which_is_utc_1600_on_31_december() -> None:
    assert lot_expires_at(2026, 0) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert lot_expires_at(2026, 1) == datetime(2027, 12, 31, 16, 0, tzinfo=UTC)


def test_expiry_is_exact_to_the_second() -> None:
    points = Points({2026: 300, 2027: 40})
    before = datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)  # 23:59:59 Shanghai
    after = datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC)  # 00:00:00 Shanghai, 1 January
    assert split_expired(points, before, 0)[0].balance == 340
    live, expired = split_expired(points, after, 0)
    assert (live.balance, expired) == (40, {2026: 300})


def test_debits_take_the_oldest_lots_first_and_credits_pay_debt_first() -> None:
    points = apply_delta(Points({2025: 10, 2026: 50}), -30, 2026)
    assert points == Points({2026: 30})
    owing = apply_delta(points, -45, 2026)
    assert owing == Points({}, 15) and owing.balance == -15
    assert apply_delta(owing, 20, 2027) == Points({2027: 5})


def test_expiry_schedule_sums_to_the_balance() -> None:
    points = Points({2027: 5, 2026: 7})
    schedule = expiry_schedule(points, 0)
    assert [p for p, _ in schedule] == [7, 5]
    assert sum(p for p, _ in schedule) == points.balance


def test_a_change_after_expiry_writes_the_expire_entry_first() -> None:
    member = Member("m1", "o1", datetime(2026, 1, 1, tzinfo=UTC), seq=3, points=Points({2026: 100}))
    now = datetime(2027, 2, 1, tzinfo=UTC)
    change = plan_change(member, delta=10, reason="admin_adjust", now=now, keep_years=0)
    assert [(e.seq, e.reason, e.delta, e.balance_after) for e in change.entries] == [
        (4, "expire", -100, 0), (5, "admin_adjust", 10, 10)]
    assert change.points == Points({2027: 10}) and change.seq == 5


def test_ending_a_hold_early_moves_points_between_years_only_when_the_member_owes() -> None:
    """Why a cancel may end a hold without a ledger plan only while the member owes nothing (fixed
    with the analytics property test): a hold of 2026 points due back after 1 January 2027
    (keep_years 0: they have expired by then), and pending points maturing in 2027 before it."""
    hold = HeldPoints("c-1", {2026: 300}, datetime(2027, 1, 1, 1, tzinfo=UTC))  # 09:00 Shanghai
    pending = (PendingPoints("o-1", 200, datetime(2026, 12, 31, 17, tzinfo=UTC)),)  # 01:00 Shanghai, 1 January

    def ended_now(points: Points) -> Points:  # cancelled before midnight Shanghai
        return Points(points.lots, points.debt, points.pending, (HeldPoints("c-1", hold.lots, NEW_YEAR_EVE),))

    free, owing = Points({2026: 10}, 0, pending, (hold,)), Points({}, 250, pending, (hold,))
    assert by_earning_year(ended_now(free), 0) == by_earning_year(free, 0) == {2026: 310, 2027: 200}
    assert by_earning_year(owing, 0) == {2026: 300}  # the pending points pay the debt, the held ones expire
    assert by_earning_year(ended_now(owing), 0) == {2026: 50, 2027: 200}  # the held ones pay it first


@given(st.lists(st.tuples(st.integers(-500, 500), st.integers(0, 800)), max_size=40),
       st.integers(0, 2))
def test_balance_equals_sum_of_live_lots_and_sum_of_ledger_deltas(steps: list[tuple[int, int]],
                                                                  keep_years: int) -> None:
    """Any sequence of changes at moving times: the ledger always sums to the points held."""
    start = datetime(2025, 6, 1, tzinfo=UTC)
    member = Member("m1", "o1", start)
    total = 0
    for delta, days in steps:
        now = start + timedelta(days=days)
        change = plan_change(member, delta=delta, reason="admin_adjust", now=now, keep_years=keep_years)
        total += sum(e.delta for e in change.entries)
        member = Member("m1", "o1", start, seq=change.seq, points=change.points)
        assert change.entries[-1].balance_after == change.points.balance
        assert total == sum(change.points.lots.values()) - change.points.debt == change.points.balance
        assert all(p > 0 for p in change.points.lots.values())
        assert change.points.debt == 0 or not change.points.lots
        assert all(lot_expires_at(y, keep_years) > now for y in change.points.lots)
