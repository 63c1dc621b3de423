"""Orders and refunds against the in-memory unit of work: the earn formula, growth and tiers,
idempotency by order_id / refund_id, coupons used and given back, referral rewards on the first
order only, pending points, proportional clawback, and lost races."""
from __future__ import annotations

import pytest
from builders import RacingUnitOfWork, Shop, at, round_trips, set_now, snapshot

from chalicelib.errors import (
    CouponNotUsable,
    NotFound,
    OrderConflict,
    RefundExceedsOrder,
    ValidationError,
)
from chalicelib.services import members, orders
from chalicelib.store.parts import StaleRead

# ---- the earn formula, growth and tiers ----------------------------------------------------------


def test_an_order_is_one_read_and_one_write(shop: Shop, uow) -> None:
    who = shop.member()
    (status, body), trips = round_trips(uow, lambda: shop.order(who.member_id, 12_345, order_id="o-1"))
    assert (status, trips) == (201, 2)
    assert body == {"order_id": "o-1", "points_awarded": 123, "balance": 223,
                    "growth": {"value": 123, "next_tier": "silver", "to_next": 877, "keep": None},
                    "tier": {"code": "normal", "name": "普通会员", "points_multiplier_pct": 100},
                    "coupon": None, "discount_fen": 0}
    assert [(e.delta, e.reason, e.ref) for e in shop.ledger(who.member_id)][0] == (123, "order", "o-1")


def test_the_tier_multiplier_is_the_tier_before_the_order_and_upgrades_are_immediate(shop: Shop) -> None:
    who = shop.member()
    first = shop.order(who.member_id, 500_000)[1]  # 5000 yuan: gold from now on
    assert (first["points_awarded"], first["tier"]["code"]) == (5000, "gold")
    assert shop.order(who.member_id, 10_000)[1]["points_awarded"] == 200  # gold earns double
    assert shop.view(who)["tier"]["code"] == "gold"


@pytest.mark.parametrize("paid_on, birthday, points", [
    (at(2026, 3, 18), None, 200),  # member day
    (at(2026, 3, 10), "1990-03-21", 200),  # birth month
    (at(2026, 3, 28), "1990-03-21", 200),  # both: the larger, not the product
    (at(2026, 3, 10), "1990-04-21", 100),
])
def test_campaigns_take_the_larger_of_member_day_and_birth_month(shop: Shop, paid_on, birthday, points) -> None:
    set_now(paid_on)
    who = shop.member(birthday=birthday)
    assert shop.order(who.member_id, 10_000)[1]["points_awarded"] == points


def test_growth_counts_this_and_last_year_and_the_tier_falls_without_a_job(shop: Shop) -> None:
    who = shop.member()
    shop.order(who.member_id, 120_000)  # 1200 yuan in 2026: silver
    set_now(at(2027, 12, 31, 23, 59, 59))
    assert (shop.view(who)["growth"]["value"], shop.view(who)["tier"]["code"]) == (1200, "silver")
    set_now(at(2028, 1, 1, 0, 0, 0))
    assert (shop.view(who)["growth"]["value"], shop.view(who)["tier"]["code"]) == (0, "normal")


def test_a_tier_regained_at_the_same_instant_is_recorded(shop: Shop) -> None:
    who = shop.member()
    shop.order(who.member_id, 100_000, order_id="o-up")  # silver
    shop.refund("o-up", 1)  # 999 yuan: normal again
    assert shop.order(who.member_id, 100)[1]["tier"]["code"] == "silver"


def test_the_growth_to_keep_the_tier_by_the_coming_new_year_is_shown(shop: Shop) -> None:
    set_now(at(2025, 6, 1))
    at_risk, safe, normal = shop.member(), shop.member(), shop.member()
    shop.order(at_risk.member_id, 600_000)  # 6000 yuan in 2025: gold until 2027
    set_now(at(2026, 3, 10))
    shop.order(at_risk.member_id, 100_000)  # 1000 of them in 2026
    shop.order(safe.member_id, 600_000)  # all of it in 2026
    assert shop.view(at_risk)["growth"]["keep"] == {"tier": "gold", "to_keep": 4000,
                                                    "by": "2027-01-01T00:00:00+08:00"}
    assert shop.view(safe)["growth"]["keep"] is None
    assert shop.view(normal)["growth"]["keep"] is None


def test_growth_belongs_to_the_year_the_order_was_paid(shop: Shop) -> None:
    set_now(at(2026, 1, 3))
    who = shop.member()
    body = shop.order(who.member_id, 150_000, paid_at=at(2025, 12, 30, 20, 0))
    assert (body[1]["growth"]["value"], body[1]["tier"]["code"]) == (1500, "silver")
    set_now(at(2027, 1, 1, 0, 0, 0))  # 2025 is no longer this or last year
    assert (shop.view(who)["growth"]["value"], shop.view(who)["tier"]["code"]) == (0, "normal")


def test_points_of_an_order_paid_before_the_return_window_closed_are_spendable_at_once(shop: Shop) -> None:
    shop.set_program(order_points_pending_days=7)
    who = shop.member()
    body = shop.order(who.member_id, 10_000, paid_at=at(2026, 3, 3, 9, 0))
    assert (body[1]["balance"], shop.view(who)["points"]["pending"]) == (200, 0)


# ---- idempotency by order_id ---------------------------------------------------------------------

def test_an_order_replayed_answers_the_same_and_changes_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    first = shop.order(who.member_id, 8_800, order_id="o-r")
    before = snapshot(uow)
    assert shop.order(who.member_id, 8_800, order_id="o-r") == first
    assert snapshot(uow) == before
    with pytest.raises(OrderConflict):
        shop.order(who.member_id, 8_801, order_id="o-r")
    assert snapshot(uow) == before


def test_an_order_of_an_unknown_member_is_not_found_and_writes_nothing(uow, shop: Shop) -> None:
    with pytest.raises(NotFound):
        shop.order("m-nobody", 1_000)
    assert snapshot(uow) == {}


def test_an_order_that_lost_a_race_is_recorded_once(shop: Shop, uow) -> None:
    who = shop.member()
    uow.fail_next_write(StaleRead())
    assert shop.order(who.member_id, 5_000, order_id="o-s")[1]["balance"] == 150
    assert [e.delta for e in shop.ledger(who.member_id)] == [50, 100]


def test_the_same_order_recorded_first_by_another_instance_is_replayed(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    who = shop.member()
    racing.before_next_write(lambda: shop.order(who.member_id, 5_000, order_id="o-twice"))
    status, body = shop.order(who.member_id, 5_000, order_id="o-twice")
    assert (status, body["points_awarded"], body["balance"]) == (201, 50, 150)
    assert [e.delta for e in shop.ledger(who.member_id)] == [50, 100]


# ---- coupons on orders ---------------------------------------------------------------------------

def test_a_usable_coupon_is_used_by_the_order(shop: Shop, uow) -> None:
    who = shop.member()
    coupon_id = shop.coupon(who)
    (status, body), trips = round_trips(uow, lambda: shop.order(
        who.member_id, 10_000, subtotal_fen=12_000, coupon_id=coupon_id, order_id="o-c"))
    assert (status, trips, body["discount_fen"]) == (201, 2, 2_000)
    assert (body["coupon"]["status"], body["coupon"]["order_id"]) == ("used", "o-c")
    assert [c["coupon_id"] for c in shop.wallet(who, "used")] == [coupon_id]
    assert shop.wallet(who, "unused") == []


def _unusable_coupons(shop: Shop, who, other) -> dict[str, tuple[str, int]]:
    used = shop.coupon(who)
    shop.order(who.member_id, 10_000, subtotal_fen=12_000, coupon_id=used)
    expiring = shop.coupon(who, shop.template(validity={"type": "relative", "days": 1})["template_id"])
    return {"below min_spend": (shop.coupon(who), 9_999), "another member's": (shop.coupon(other), 12_000),
            "used": (used, 12_000), "unknown": ("c-nope", 12_000), "expired": (expiring, 12_000)}


@pytest.mark.parametrize("case", ["below min_spend", "another member's", "used", "unknown", "expired"])
def test_an_unusable_coupon_refuses_the_order_and_nothing_changes(shop: Shop, uow, case: str) -> None:
    who, other = shop.member(), shop.member()
    coupon_id, subtotal = _unusable_coupons(shop, who, other)[case]
    set_now(at(2026, 3, 11, 10, 0))  # the one-day coupon has just expired
    before = snapshot(uow)
    with pytest.raises(CouponNotUsable):
        shop.order(who.member_id, subtotal - 2_000, subtotal_fen=subtotal, coupon_id=coupon_id)
    assert snapshot(uow) == before


def test_paying_more_than_the_subtotal_less_the_coupon_is_refused(shop: Shop, uow) -> None:
    who = shop.member()
    coupon_id = shop.coupon(who)
    before = snapshot(uow)
    for amount in (10_001, 12_000):
        with pytest.raises(ValidationError) as refused:
            shop.order(who.member_id, amount, subtotal_fen=12_000, coupon_id=coupon_id)
        assert refused.value.field == "amount_fen"
    with pytest.raises(CouponNotUsable):  # the coupon's own checks come first
        shop.order(who.member_id, 9_999, subtotal_fen=9_999, coupon_id=coupon_id)
    assert snapshot(uow) == before
    assert shop.order(who.member_id, 9_000, subtotal_fen=12_000, coupon_id=coupon_id)[1]["discount_fen"] == 2_000


def test_without_a_subtotal_the_amount_is_the_subtotal_and_is_not_compared(shop: Shop) -> None:
    who = shop.member()
    body = shop.order(who.member_id, 12_000, coupon_id=shop.coupon(who))[1]
    assert (body["discount_fen"], body["coupon"]["status"]) == (2_000, "used")


def test_the_merchant_reads_an_order_with_its_refunds(shop: Shop, uow) -> None:
    who = shop.member()
    coupon_id = shop.coupon(who)
    shop.order(who.member_id, 10_000, order_id="o-read", subtotal_fen=12_000, coupon_id=coupon_id)
    shop.refund("o-read", 3_000, refund_id="f-a")
    set_now(at(2026, 3, 11, 9, 0))
    shop.refund("o-read", 1_000, refund_id="f-b")
    shop.refund("o-read", 1_000, refund_id="f-b")  # a replay records nothing more
    order, trips = round_trips(uow, lambda: orders.get_order(uow, "o-read"))
    assert trips == 2
    assert order == {"order_id": "o-read", "member_id": who.member_id, "amount_fen": 10_000, "subtotal_fen": 12_000,
                     "paid_at": "2026-03-10T10:00:00+08:00", "points_awarded": 100, "points_clawed_back": 40,
                     "coupon_id": coupon_id, "discount_fen": 2_000, "points_used": 0,
                     "refunds": [{"refund_id": "f-a", "amount_fen": 3_000, "created_at": "2026-03-10T10:00:00+08:00"},
                                 {"refund_id": "f-b", "amount_fen": 1_000, "created_at": "2026-03-11T09:00:00+08:00"}]}
    with pytest.raises(NotFound):
        orders.get_order(uow, "o-none")


# ---- refunds -------------------------------------------------------------------------------------

def test_a_refund_claws_back_in_proportion_in_three_round_trips(shop: Shop, uow) -> None:
    who = shop.member()
    shop.order(who.member_id, 10_100, order_id="o-p")  # 101 points, 101 yuan
    clawed = []
    for amount in (3_333, 3_333, 3_434):
        (status, body), trips = round_trips(uow, lambda amount=amount: shop.refund("o-p", amount))
        assert (status, trips) == (201, 3)
        clawed.append(body["points_clawed_back"])
    assert clawed == [33, 33, 35]  # 101*3333//10100, 101*6666//10100 - 33, 101 - 66
    view = shop.view(who)
    assert (view["points"]["balance"], view["growth"]["value"]) == (100, 0)


def test_a_refund_replays_and_a_reused_refund_id_is_an_order_conflict(shop: Shop, uow) -> None:
    who = shop.member()
    shop.order(who.member_id, 10_000, order_id="o-f")
    first = shop.refund("o-f", 4_000, refund_id="f-1")
    before = snapshot(uow)
    assert shop.refund("o-f", 4_000, refund_id="f-1") == first
    with pytest.raises(OrderConflict):
        shop.refund("o-f", 5_000, refund_id="f-1")
    assert snapshot(uow) == before


def test_refunds_beyond_the_order_are_refused_and_write_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    shop.order(who.member_id, 10_000, order_id="o-x")
    shop.refund("o-x", 6_000)
    before = snapshot(uow)
    with pytest.raises(RefundExceedsOrder):
        shop.refund("o-x", 4_001)
    with pytest.raises(NotFound):
        shop.refund("o-none", 1)
    assert snapshot(uow) == before


def test_a_clawback_may_leave_the_balance_negative(shop: Shop) -> None:
    who = shop.member()
    shop.order(who.member_id, 20_000, order_id="o-n")
    shop.adjust(who.member_id, -300)
    body = shop.refund("o-n", 20_000)[1]
    assert (body["points_clawed_back"], body["balance"]) == (200, -200)
    assert shop.ledger(who.member_id)[0].balance_after == -200
    assert shop.adjust(who.member_id, 250)[1]["balance"] == 50  # new points pay the debt first


def test_a_full_refund_gives_the_coupon_back_a_partial_one_does_not(shop: Shop) -> None:
    who = shop.member()
    coupon_id = shop.coupon(who)
    shop.order(who.member_id, 10_000, subtotal_fen=12_000, coupon_id=coupon_id, order_id="o-g")
    shop.refund("o-g", 9_999)
    assert shop.wallet(who, "unused") == []
    shop.refund("o-g", 1)
    back = shop.wallet(who, "unused")
    assert [(c["coupon_id"], c["used_at"], c["order_id"]) for c in back] == [(coupon_id, None, None)]
    assert shop.order(who.member_id, 10_000, subtotal_fen=12_000, coupon_id=coupon_id)[0] == 201


def test_an_expired_coupon_is_not_given_back(shop: Shop) -> None:
    who = shop.member()
    coupon_id = shop.coupon(who, shop.template(validity={"type": "relative", "days": 2})["template_id"])
    shop.order(who.member_id, 10_000, subtotal_fen=12_000, coupon_id=coupon_id, order_id="o-e")
    set_now(at(2026, 3, 13))
    shop.refund("o-e", 10_000)
    assert shop.wallet(who, "unused") == [] and shop.wallet(who, "expired") == []
    assert [c["coupon_id"] for c in shop.wallet(who, "used")] == [coupon_id]


# ---- referral rewards ----------------------------------------------------------------------------

def test_referral_rewards_both_sides_on_the_first_order_only(shop: Shop, uow) -> None:
    inviter = shop.member()
    code = shop.view(inviter)["referral_code"]
    invitee = shop.member(referral_code=code)
    assert shop.balance(inviter) == 100 and shop.balance(invitee) == 100  # nothing before an order
    (status, body), trips = round_trips(uow, lambda: shop.order(invitee.member_id, 1_000, order_id="o-1st"))
    assert (trips, body["points_awarded"], body["balance"]) == (3, 10, 210)
    assert shop.balance(inviter) == 300
    assert [(e.reason, e.delta, e.ref) for e in shop.ledger(invitee.member_id)[:2]] == \
        [("referral", 100, "o-1st"), ("order", 10, "o-1st")]
    shop.refund("o-1st", 1_000)
    shop.order(invitee.member_id, 1_000)
    assert (shop.balance(inviter), shop.balance(invitee)) == (300, 210)
    assert [e.reason for e in shop.ledger(inviter.member_id)].count("referral") == 1


def test_an_inviter_who_left_leaves_the_invitee_their_reward(shop: Shop, uow) -> None:
    inviter = shop.member()
    invitee = shop.member(referral_code=shop.view(inviter)["referral_code"])
    members.delete_me(uow, inviter)
    assert shop.order(invitee.member_id, 1_000)[1]["balance"] == 210


# ---- pending points ------------------------------------------------------------------------------

def test_pending_points_are_not_spendable_until_the_return_window_closes(shop: Shop) -> None:
    shop.set_program(order_points_pending_days=7)
    who = shop.member()
    body = shop.order(who.member_id, 30_000, order_id="o-w")[1]
    assert (body["points_awarded"], body["balance"]) == (300, 100)
    assert shop.view(who)["points"]["pending"] == 300
    set_now(at(2026, 3, 17, 9, 59, 59))
    assert (shop.view(who)["points"]["balance"], shop.view(who)["points"]["pending"]) == (100, 300)
    set_now(at(2026, 3, 17, 10, 0, 0))
    assert (shop.view(who)["points"]["balance"], shop.view(who)["points"]["pending"]) == (400, 0)
    shop.adjust(who.member_id, -400)  # the write settles the matured points first
    assert [(e.reason, e.delta, e.balance_after) for e in shop.ledger(who.member_id)[:2]] == \
        [("admin_adjust", -400, 0), ("order", 300, 400)]


def test_a_refund_inside_the_window_cancels_pending_points(shop: Shop) -> None:
    shop.set_program(order_points_pending_days=7)
    who = shop.member()
    shop.order(who.member_id, 30_000, order_id="o-w")
    body = shop.refund("o-w", 10_000)[1]
    assert (body["points_clawed_back"], body["balance"]) == (100, 100)
    assert shop.view(who)["points"]["pending"] == 200
    assert [e.reason for e in shop.ledger(who.member_id)] == ["signup_gift"]
    set_now(at(2026, 3, 20))
    assert shop.balance(who) == 300
