"""RFM scoring (§7): every segment, the window's edges, refunds, dates after the day scored, and the
snapshot's view of the job's counters."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.member import Member
from chalicelib.domain.orders import OrderDay
from chalicelib.domain.program import RfmRules
from chalicelib.domain.rfm import (
    CODES,
    SEGMENTS,
    Rfm,
    SnapshotRun,
    Tagged,
    members_counter,
    migration_counter,
    monetary_counter,
    rfm_at,
    snapshot_view,
)

RULES = RfmRules(window_days=365, recent_days=90, frequent_orders=2, high_spend_fen=100_000)
DAY = date(2026, 12, 8)
HIGH, LOW = 60_000, 10_000  # two high orders reach high_spend_fen, two low ones do not


def days_ago(n: int) -> date:
    return DAY - timedelta(days=n)


def one(amount: int, *, live: int = 1) -> OrderDay:
    return OrderDay(1, live, amount)


@pytest.mark.parametrize(("orders", "segment"), [
    ({days_ago(10): one(HIGH), days_ago(20): one(HIGH)}, "important_value"),
    ({days_ago(10): one(2 * HIGH)}, "important_develop"),
    ({days_ago(100): one(HIGH), days_ago(200): one(HIGH)}, "important_keep"),
    ({days_ago(100): one(2 * HIGH)}, "important_winback"),
    ({days_ago(10): one(LOW), days_ago(20): one(LOW)}, "general_value"),
    ({days_ago(10): one(LOW)}, "general_develop"),
    ({days_ago(100): one(LOW), days_ago(200): one(LOW)}, "general_keep"),
    ({days_ago(100): one(LOW)}, "general_winback"),
    ({days_ago(365): one(LOW)}, "lost"),
    ({}, "prospect"),
])
def test_every_segment(orders: dict[date, OrderDay], segment: str) -> None:
    assert rfm_at(orders, RULES, DAY).segment == segment


def test_the_segments_are_the_contracts_table_in_order() -> None:
    assert CODES == ("important_value", "important_develop", "important_keep", "important_winback",
                     "general_value", "general_develop", "general_keep", "general_winback", "lost", "prospect")
    assert dict(SEGMENTS)["important_value"] == "重要价值客户" and dict(SEGMENTS)["prospect"] == "潜在客户"


def test_the_figures() -> None:
    orders = {days_ago(3): OrderDay(2, 2, 30_000), days_ago(40): one(5_000)}
    assert rfm_at(orders, RULES, DAY) == Rfm(3, 3, 35_000, "general_value")
    assert rfm_at(orders, RULES, DAY).view() == {"recency_days": 3, "frequency": 3, "monetary_fen": 35_000,
                                                 "segment": "general_value"}


def test_the_window_is_open_at_its_start_and_closed_at_the_day() -> None:
    assert rfm_at({days_ago(364): one(LOW)}, RULES, DAY) == Rfm(364, 1, LOW, "general_winback")
    assert rfm_at({days_ago(365): one(LOW)}, RULES, DAY) == Rfm(None, 0, 0, "lost")
    assert rfm_at({DAY: one(LOW)}, RULES, DAY) == Rfm(0, 1, LOW, "general_develop")


def test_thresholds_are_inclusive() -> None:
    at_edges = {days_ago(90): one(50_000), days_ago(91): one(50_000)}
    assert rfm_at(at_edges, RULES, DAY) == Rfm(90, 2, 100_000, "important_value")
    below = {days_ago(91): one(50_000), days_ago(92): one(49_999)}
    assert rfm_at(below, RULES, DAY) == Rfm(91, 2, 99_999, "general_keep")


def test_refunds_net_the_spend_and_a_full_refund_drops_the_order() -> None:
    partly = {days_ago(5): OrderDay(1, 1, HIGH * 2 - 1)}  # a 1-fen refund of a 120,000 order
    assert rfm_at(partly, RULES, DAY) == Rfm(5, 1, 119_999, "important_develop")
    # the newest order fully refunded: recency from the older one, which alone counts
    refunded = {days_ago(5): OrderDay(1, 0, 0), days_ago(50): one(LOW)}
    assert rfm_at(refunded, RULES, DAY) == Rfm(50, 1, LOW, "general_develop")
    # one of two orders on a day fully refunded
    assert rfm_at({days_ago(5): OrderDay(2, 1, LOW)}, RULES, DAY) == Rfm(5, 1, LOW, "general_develop")


def test_fully_refunded_orders_alone_leave_a_prospect_or_a_lost_member() -> None:
    assert rfm_at({days_ago(5): OrderDay(1, 0, 0)}, RULES, DAY).segment == "prospect"
    assert rfm_at({days_ago(400): OrderDay(1, 0, 0)}, RULES, DAY).segment == "prospect"
    assert rfm_at({days_ago(400): one(LOW), days_ago(5): OrderDay(1, 0, 0)}, RULES, DAY) == Rfm(None, 0, 0, "lost")


def test_dates_after_the_day_are_ignored() -> None:
    assert rfm_at({DAY + timedelta(days=1): one(HIGH)}, RULES, DAY) == Rfm(None, 0, 0, "prospect")
    later = {days_ago(30): one(LOW), DAY + timedelta(days=1): one(HIGH)}
    assert rfm_at(later, RULES, DAY) == Rfm(30, 1, LOW, "general_develop")


def test_the_rules_are_the_programs() -> None:
    orders = {days_ago(20): one(500)}
    strict = RfmRules(window_days=30, recent_days=10, frequent_orders=1, high_spend_fen=500)
    assert rfm_at(orders, strict, DAY).segment == "important_keep"
    assert rfm_at(orders, RfmRules(window_days=20, recent_days=10, frequent_orders=1, high_spend_fen=1), DAY
                  ).segment == "lost"


def test_the_segment_before_a_run() -> None:
    member = Member("m1", "o1", datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert Tagged(member, None).before(DAY) == "prospect"
    assert Tagged(member, "lost", DAY - timedelta(days=1), "prospect").before(DAY) == "lost"
    # a second run of the day compares with what the first replaced
    assert Tagged(member, "lost", DAY, "general_keep").before(DAY) == "general_keep"
    assert Tagged(member, "general_develop", DAY, None).before(DAY) == "prospect"


def test_the_snapshot_view() -> None:
    at = datetime(2026, 12, 7, 17, tzinfo=timezone.utc)
    latest, previous = SnapshotRun(DAY, at, "r2"), SnapshotRun(DAY - timedelta(days=1), at - timedelta(days=1), "r1")
    counts = Counter({members_counter("lost"): 3, monetary_counter("lost"): 0, members_counter("general_develop"): 2,
                      monetary_counter("general_develop"): 700, migration_counter("prospect", "general_develop"): 2,
                      migration_counter("general_winback", "lost"): 1})
    view = snapshot_view(counts, latest, previous)
    assert view["as_of"] == "2026-12-08T01:00:00+08:00" and view["previous_as_of"] == "2026-12-07T01:00:00+08:00"
    assert [s["segment"] for s in view["segments"]] == list(CODES)
    assert view["segments"][5] == {"segment": "general_develop", "name": "一般发展客户", "members": 2,
                                   "monetary_fen": 700}
    assert view["segments"][0] == {"segment": "important_value", "name": "重要价值客户", "members": 0,
                                   "monetary_fen": 0}
    assert view["migrations"] == [{"from": "general_winback", "to": "lost", "members": 1},
                                  {"from": "prospect", "to": "general_develop", "members": 2}]
    assert snapshot_view(counts, latest, None)["migrations"] == []
    empty = snapshot_view(Counter(), None, None)
    assert (empty["as_of"], empty["previous_as_of"], empty["migrations"]) == (None, None, [])
    assert [s["members"] for s in empty["segments"]] == [0] * 10
