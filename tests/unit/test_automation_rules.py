"""Lifecycle automations' pure rules (§8): the holdout, purchase streaks, entry keys, conversions,
and the lift and z-test of the results."""
from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.automations import (
    convert,
    enter,
    entering,
    in_control,
    job_key,
    lifecycle_key,
    streak,
    streak_key,
)
from chalicelib.domain.lift import lift_pct, result_view, significant
from chalicelib.domain.member import Member
from chalicelib.domain.orders import OrderDay
from chalicelib.domain.program import Automation, default_program

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 Shanghai


def _rule(trigger: str, period: int, **changes: object) -> Automation:
    values: dict[str, object] = {"id": "auto-1", "name": "自动化", "active": True, "trigger": trigger, "period": period,
                                 "coupon_template_id": None, "points": 10, "notice_template_id": None,
                                 "holdout_pct": 0, "attribution_days": 30}
    values.update(changes)
    return Automation(**values)  # type: ignore[arg-type]


def _days(*live: str, refunded: tuple[str, ...] = ()) -> dict[date, OrderDay]:
    days = {date.fromisoformat(d): OrderDay(1, 1, 100) for d in live}
    days.update({date.fromisoformat(d): OrderDay(1, 0, 0) for d in refunded})
    return days


def test_the_holdout_is_deterministic_and_close_to_its_share() -> None:
    ids = [f"m{n}" for n in range(20_000)]
    first = [in_control("win-back", i, 20) for i in ids]
    assert first == [in_control("win-back", i, 20) for i in ids]
    assert abs(sum(first) / len(ids) - 0.20) < 0.01
    assert not any(in_control("win-back", i, 0) for i in ids[:500])
    other = [in_control("other", i, 20) for i in ids]
    assert other != first  # each automation draws its own groups


def test_a_streak_counts_consecutive_months_with_a_live_order_ending_with_the_order_s() -> None:
    days = _days("2025-11-30", "2025-12-01", "2026-01-15", "2026-02-01", refunded=("2026-03-03",))
    assert streak(days, date(2026, 2, 1)) == (date(2025, 11, 1), 4)
    assert streak(days, date(2026, 1, 9)) == (date(2025, 11, 1), 3)
    assert streak(days, date(2026, 3, 3))[1] == 0  # a fully refunded month breaks it
    rule = _rule("purchase_streak", 2)
    assert streak_key(rule, days, date(2026, 2, 1)) == "2025-11#2"
    assert streak_key(rule, days, date(2026, 1, 15)) is None
    assert streak_key(rule, days, date(2025, 12, 1)) == "2025-11#1"


def test_job_keys_select_lapsed_new_and_at_risk_members() -> None:
    program = default_program()
    joined = datetime(2026, 5, 1, tzinfo=timezone.utc)
    lapsed = Member("m1", "o1", joined, orders_count=1, order_days=_days("2026-03-03"))
    assert job_key(_rule("lapsed", 90), lapsed, program, NOW) == "2026-03-03"
    assert job_key(_rule("lapsed", 91), lapsed, program, NOW) is None
    assert lifecycle_key(lapsed) == "o#2026-03-03"
    fresh = Member("m2", "o2", joined)
    assert job_key(_rule("no_first_order", 31), fresh, program, NOW) == "once"
    assert job_key(_rule("no_first_order", 32), fresh, program, NOW) is None
    assert lifecycle_key(fresh) == "j#2026-05-01"
    refunded = Member("m3", "o3", joined, orders_count=1, order_days=_days(refunded=("2026-05-02",)))
    assert lifecycle_key(refunded) == "o#2026-05-02"  # a refunded order is still the latest order
    silver = Member("m4", "o4", joined, growth={2025: 1500}, tier_code="silver")
    december = datetime(2026, 12, 20, 2, tzinfo=timezone.utc)
    assert job_key(_rule("tier_at_risk", 12), silver, program, december) == "2026"
    assert job_key(_rule("tier_at_risk", 11), silver, program, december) is None
    assert job_key(_rule("tier_at_risk", 12), Member("m5", "o5", joined, growth={2026: 1500}), program,
                   december) is None


def test_an_occurrence_enters_once_and_orders_in_the_window_convert_it_once() -> None:
    rule = _rule("lapsed", 30, attribution_days=2)
    member = Member("m1", "o1", NOW)
    item = entering(rule, member, "2026-03-03")
    assert item is not None and not item.control
    member, counts = enter(member, [item], NOW)
    assert counts == Counter({"auto-1.tn": 1})
    assert entering(rule, member, "2026-03-03") is None and entering(rule, member, "2026-07-01") is not None
    assert entering(_rule("lapsed", 30, active=False), Member("m2", "o2", NOW), "2026-03-03") is None
    streaked = Member("m3", "o3", NOW, entered={"auto-1": "2026-01#2"})
    assert entering(_rule("purchase_streak", 3), streaked, "2026-01#1") is None  # a late order in March
    assert entering(_rule("purchase_streak", 3), streaked, "2026-01#3") is not None
    assert entering(_rule("purchase_streak", 3), streaked, "2026-09#1") is not None  # a new streak
    member, counts = convert(member, "o-1", NOW, 500, NOW)  # paid at the entry's instant: not after it
    assert counts == Counter()
    member, counts = convert(member, "o-2", NOW + timedelta(hours=47), 500, NOW + timedelta(hours=47))
    assert counts == Counter({"auto-1.tx": 1, "auto-1.tr": 500})
    member, counts = convert(member, "o-3", NOW + timedelta(hours=48), 300, NOW + timedelta(hours=48))
    assert counts == Counter({"auto-1.tr": 300})  # converted already: revenue only
    member, counts = convert(member, "o-4", NOW + timedelta(hours=49), 300, NOW + timedelta(days=40))
    assert counts == Counter() and member.open_entries == ()  # past the window, and dropped 30 days on


def test_a_streak_entry_is_not_converted_by_its_own_order() -> None:
    rule = _rule("purchase_streak", 1)
    member, _ = enter(Member("m1", "o1", NOW), [entering(rule, Member("m1", "o1", NOW), "2026-06#1")],  # type: ignore[list-item]
                      NOW - timedelta(hours=1), order_id="o-1")
    assert convert(member, "o-1", NOW, 900, NOW)[1] == Counter()
    assert convert(member, "o-2", NOW, 900, NOW)[1] == Counter({"auto-1.tx": 1, "auto-1.tr": 900})


@pytest.mark.parametrize(("t", "tc", "c", "cc", "lift", "sig"), [
    (1000, 120, 1000, 90, 33, True),    # z = 2.19
    (100, 12, 100, 9, 33, False),       # z = 0.69
    (1000, 90, 1000, 120, -25, True),
    (500, 50, 0, 0, None, False),       # no control group
    (500, 50, 100, 0, None, True),      # control rate 0: no lift; z = 3.45
    (0, 0, 100, 10, None, False),       # no treated group
    (10, 0, 10, 0, None, False),        # nobody converted: no variance
    (3, 1, 3, 3, -67, False),
])
def test_lift_and_the_pooled_two_proportion_z_test(t: int, tc: int, c: int, cc: int, lift: int | None,
                                                  sig: bool) -> None:
    assert lift_pct(t, tc, c, cc) == lift
    assert significant(t, tc, c, cc) is sig
    if t and c and cc:
        assert lift == math.floor(100 * (tc / t) / (cc / c) + 1e-9) - 100


def test_the_z_test_s_edge_is_1_96() -> None:
    # pooled 0.5, n = 100 + 100: z = (p1 - p2) / 0.0707; 0.14 apart is z = 1.98, 0.12 apart z = 1.70
    assert significant(100, 57, 100, 43) and not significant(100, 56, 100, 44)


def test_a_result_view_reads_the_counters_of_its_automation() -> None:
    counters = Counter({"a.tn": 10, "a.tx": 4, "a.tr": 9000, "a.cn": 5, "a.cx": 1, "a.cr": 100, "b.tn": 7})
    assert result_view("a", "回归礼包", counters) == {
        "id": "a", "name": "回归礼包", "treated": 10, "control": 5, "treated_converted": 4, "control_converted": 1,
        "treated_revenue_fen": 9000, "control_revenue_fen": 100, "lift_pct": 100, "significant": False}
