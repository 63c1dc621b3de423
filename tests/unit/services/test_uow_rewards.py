"""The points mall against the in-memory unit of work: rewards, redemptions (points, stock, limit
and coupon together or nothing), idempotency, races and outages, and the gifts the merchant ships."""
from __future__ import annotations

import pytest
from builders import RacingUnitOfWork, Shop, round_trips, snapshot

from chalicelib.domain.tokens import Principal
from chalicelib.errors import (
    Forbidden,
    IdempotencyKeyReused,
    InsufficientPoints,
    LimitReached,
    NotAMember,
    NotFound,
    OutOfStock,
    StoreUnavailable,
    ValidationError,
)
from chalicelib.services import rewards
from chalicelib.store.parts import StaleRead

# ---- the catalog ---------------------------------------------------------------------------------


def test_rewards_are_created_patched_and_listed_by_tier(shop: Shop, uow) -> None:
    bag = shop.reward(stock=2)
    gold = shop.reward(name="金卡礼盒", tiers=["gold"])
    shop.reward(name="下架了", active=False)
    assert (bag["stock"], bag["stock_left"], bag["kind"]) == (2, 2, "gift")
    patched = rewards.patch_reward(uow, bag["reward_id"], {"points_cost": 80})
    assert (patched["points_cost"], patched["name"]) == (80, "帆布袋")
    with pytest.raises(ValidationError):
        rewards.patch_reward(uow, bag["reward_id"], {"kind": "coupon"})
    normal, rich = shop.member(), shop.member()
    shop.order(rich.member_id, 600_000)
    offered = {who: {r["reward_id"] for r in rewards.list_for_member(uow, who)["items"]}
               for who in (None, normal, rich)}
    assert offered == {None: {bag["reward_id"]}, normal: {bag["reward_id"]},
                       rich: {bag["reward_id"], gold["reward_id"]}}


def test_the_merchant_pages_through_rewards_and_reads_one(shop: Shop, uow) -> None:
    created = {shop.reward(name=f"奖品{i}", stock=i)["reward_id"] for i in range(3)}
    first = rewards.list_for_admin(uow, limit=2)
    rest = rewards.list_for_admin(uow, limit=2, cursor=first["next_cursor"])
    assert (len(first["items"]), len(rest["items"]), rest["next_cursor"]) == (2, 1, None)
    assert {r["reward_id"] for r in first["items"] + rest["items"]} == created
    one = first["items"][0]
    assert rewards.get_reward(uow, one["reward_id"]) == one and "stock" in one
    with pytest.raises(NotFound):
        rewards.get_reward(uow, "r-none")
    with pytest.raises(ValidationError):
        rewards.list_for_admin(uow, limit=2, cursor="not-a-cursor")


def test_a_coupon_reward_needs_an_existing_template(shop: Shop) -> None:
    with pytest.raises(NotFound):
        shop.reward(kind="coupon", coupon_template_id="t-none")


# ---- redemptions ---------------------------------------------------------------------------------

def test_a_gift_redemption_is_one_read_and_one_write_and_waits_to_be_shipped(shop: Shop, uow) -> None:
    who = shop.member()
    reward = shop.reward(points_cost=60, stock=5)
    (status, body), trips = round_trips(uow, lambda: shop.redeem(who, reward["reward_id"]))
    assert (status, trips) == (201, 2)
    assert (body["reward_id"], body["points_spent"], body["balance"], body["coupon"]) == \
        (reward["reward_id"], 60, 40, None)
    entry = shop.ledger(who.member_id)[0]
    assert (entry.reason, entry.delta, entry.ref, entry.note) == ("redeem", -60, body["redemption_id"], "帆布袋")
    pending = rewards.fulfilments(uow, "pending", limit=10, cursor=None)["items"]
    assert [(f["redemption_id"], f["member_id"], f["status"]) for f in pending] == \
        [(body["redemption_id"], who.member_id, "pending")]
    assert rewards.list_for_admin(uow)["items"][0]["stock_left"] == 4


def test_shipping_a_gift_is_recorded_once(shop: Shop, uow) -> None:
    who = shop.member()
    redemption_id = shop.redeem(who, shop.reward()["reward_id"])[1]["redemption_id"]
    shipped = rewards.mark_shipped(uow, redemption_id, "顺丰 SF123")
    assert (shipped["status"], shipped["note"], shipped["shipped_at"]) == \
        ("shipped", "顺丰 SF123", "2026-03-10T10:00:00+08:00")
    assert rewards.mark_shipped(uow, redemption_id, "again") == shipped
    assert rewards.fulfilments(uow, "pending", limit=10, cursor=None)["items"] == []
    assert len(rewards.fulfilments(uow, "shipped", limit=10, cursor=None)["items"]) == 1
    with pytest.raises(NotFound):
        rewards.mark_shipped(uow, "d-none", None)


def test_a_coupon_reward_puts_the_coupon_in_the_wallet(shop: Shop) -> None:
    who = shop.member()
    template = shop.template(name="兑换券", claimable=False, total_stock=3)
    reward = shop.reward(name="20元券", kind="coupon", coupon_template_id=template["template_id"], points_cost=50)
    body = shop.redeem(who, reward["reward_id"])[1]
    assert (body["coupon"]["name"], body["coupon"]["source"], body["balance"]) == ("兑换券", "redeem", 50)
    assert [c["coupon_id"] for c in shop.wallet(who)] == [body["coupon"]["coupon_id"]]
    assert rewards.fulfilments(shop.uow, "pending", limit=10, cursor=None)["items"] == []


def test_a_redemption_replayed_answers_the_same_and_changes_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    first_reward, other_reward = shop.reward(points_cost=10), shop.reward(points_cost=10)
    first = shop.redeem(who, first_reward["reward_id"], request_id="redeem-1")
    before = snapshot(uow)
    assert shop.redeem(who, first_reward["reward_id"], request_id="redeem-1") == first
    with pytest.raises(IdempotencyKeyReused):
        shop.redeem(who, other_reward["reward_id"], request_id="redeem-1")
    assert snapshot(uow) == before


def _refused(shop: Shop, case: str) -> tuple[Principal, str]:
    """A member and a reward they may not redeem, for the reason `case`."""
    who = shop.member()  # 100 points
    if case == "insufficient points":
        return who, shop.reward(points_cost=101)["reward_id"]
    if case == "negative balance":
        shop.order(who.member_id, 50_000, order_id="o-neg")
        shop.adjust(who.member_id, -600)
        shop.refund("o-neg", 50_000)  # balance -500
        return who, shop.reward(points_cost=1)["reward_id"]
    if case == "out of stock":
        reward_id = shop.reward(stock=1, points_cost=1)["reward_id"]
        shop.redeem(shop.member(), reward_id)
        return who, reward_id
    if case == "limit":
        reward_id = shop.reward(per_member_limit=1, points_cost=1)["reward_id"]
        shop.redeem(who, reward_id)
        return who, reward_id
    if case == "tier":
        return who, shop.reward(tiers=["gold"], points_cost=1)["reward_id"]
    if case == "inactive":
        return who, shop.reward(active=False, points_cost=1)["reward_id"]
    if case == "unknown":
        return who, "r-none"
    if case == "visitor":
        return Principal("o-visitor", None), shop.reward(points_cost=1)["reward_id"]
    template = shop.template(claimable=False, total_stock=0 if case == "coupon out of stock" else None,
                             per_member_limit=1)
    reward_id = shop.reward(kind="coupon", coupon_template_id=template["template_id"], points_cost=1)["reward_id"]
    if case == "coupon limit":
        shop.redeem(who, reward_id)
    return who, reward_id


@pytest.mark.parametrize("case, error", [
    ("insufficient points", InsufficientPoints), ("negative balance", InsufficientPoints),
    ("out of stock", OutOfStock), ("limit", LimitReached), ("tier", Forbidden), ("inactive", NotFound),
    ("unknown", NotFound), ("coupon out of stock", OutOfStock), ("coupon limit", LimitReached),
    ("visitor", NotAMember),
])
def test_a_refused_redemption_writes_nothing(shop: Shop, uow, case: str, error: type[Exception]) -> None:
    who, reward_id = _refused(shop, case)
    before = snapshot(uow)
    with pytest.raises(error):
        shop.redeem(who, reward_id)
    assert snapshot(uow) == before


# ---- races and outages ---------------------------------------------------------------------------

def test_a_redemption_that_lost_a_race_is_made_once(shop: Shop, uow) -> None:
    who = shop.member()
    reward_id = shop.reward(points_cost=30, stock=3)["reward_id"]
    uow.fail_next_write(StaleRead())
    assert shop.redeem(who, reward_id)[1]["balance"] == 70
    assert [e.delta for e in shop.ledger(who.member_id)] == [-30, 100]
    assert rewards.list_for_admin(uow)["items"][0]["stock_left"] == 2


def test_two_members_racing_for_the_last_gift_one_gets_it(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    reward_id = shop.reward(points_cost=10, stock=1)["reward_id"]
    first, second = shop.member(), shop.member()
    racing.before_next_write(lambda: shop.redeem(first, reward_id))
    with pytest.raises(OutOfStock):
        shop.redeem(second, reward_id)
    assert (shop.balance(first), shop.balance(second)) == (90, 100)


def test_points_spent_by_a_parallel_redemption_are_not_spent_twice(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    who = shop.member()
    bag, cup = shop.reward(points_cost=70)["reward_id"], shop.reward(name="杯子", points_cost=70)["reward_id"]
    racing.before_next_write(lambda: shop.redeem(who, bag))
    with pytest.raises(InsufficientPoints):
        shop.redeem(who, cup)
    assert shop.balance(who) == 30


def test_an_outage_surfaces_as_store_unavailable_and_writes_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    reward_id = shop.reward(points_cost=30)["reward_id"]
    before = snapshot(uow)
    uow.fail_next_write(StoreUnavailable())
    with pytest.raises(StoreUnavailable):
        shop.redeem(who, reward_id, request_id="redeem-down")
    assert snapshot(uow) == before
    assert shop.redeem(who, reward_id, request_id="redeem-down")[1]["balance"] == 70
