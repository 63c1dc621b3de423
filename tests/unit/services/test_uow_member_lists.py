"""The member's own lists (ledger, wallet, redemptions) against the in-memory unit of work: every page
checks that the token's member is live and still its openid's, cursors are bound to their member,
and the merchant's member sub-lists show the same items (a closed or unknown member is not found).
Redemptions keep a gift's shipping address."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from builders import Shop, at, new_id, round_trips, set_now, snapshot

from chalicelib.domain.tokens import Principal
from chalicelib.errors import IdempotencyKeyReused, NotAMember, NotFound, ValidationError
from chalicelib.services import coupons, members, points, rewards

ADDRESS = {"name": "王小明", "phone": "13812345678", "region": "上海市 徐汇区", "detail": "漕溪北路 1 号 2 楼"}


def _redeem(shop: Shop, who: Principal, reward_id: str, address: dict[str, str] | None = None,
            request_id: str | None = None) -> dict[str, Any]:
    status, body = rewards.redeem(shop.uow, who, reward_id, request_id or new_id("r"), address)
    assert status == 201, body
    return body


# ---- redemptions -----------------------------------------------------------------------------------

def test_a_gift_keeps_its_address_and_the_member_follows_its_shipping(shop: Shop, uow) -> None:
    who = shop.member()
    gift = shop.reward(points_cost=30)["reward_id"]
    redemption_id = _redeem(shop, who, gift, ADDRESS)["redemption_id"]
    mine = rewards.member_redemptions(uow, who, limit=20, cursor=None)
    assert mine == {"items": [{"redemption_id": redemption_id, "reward_id": gift, "reward_name": "帆布袋",
                               "kind": "gift", "points_spent": 30, "created_at": "2026-03-10T10:00:00+08:00",
                               "coupon_id": None, "address": ADDRESS, "fulfilment": "pending", "shipped_at": None,
                               "note": None}], "next_cursor": None}
    pending = rewards.fulfilments(uow, "pending", limit=10, cursor=None)["items"]
    assert [(f["redemption_id"], f["address"]) for f in pending] == [(redemption_id, ADDRESS)]
    set_now(at(2026, 3, 11, 9, 0))
    rewards.mark_shipped(uow, redemption_id, "顺丰 SF1")
    shipped = rewards.member_redemptions(uow, who, limit=20, cursor=None)["items"][0]
    assert (shipped["fulfilment"], shipped["shipped_at"], shipped["note"]) == \
        ("shipped", "2026-03-11T09:00:00+08:00", "顺丰 SF1")


def test_a_coupon_reward_ignores_an_address_and_names_its_coupon(shop: Shop, uow) -> None:
    who = shop.member()
    template_id = shop.template()["template_id"]
    reward_id = shop.reward(kind="coupon", coupon_template_id=template_id, points_cost=10)["reward_id"]
    body = _redeem(shop, who, reward_id, ADDRESS)
    item = rewards.member_redemptions(uow, who, limit=20, cursor=None)["items"][0]
    assert (item["kind"], item["coupon_id"], item["address"], item["fulfilment"]) == \
        ("coupon", body["coupon"]["coupon_id"], None, None)
    assert rewards.fulfilments(uow, "pending", limit=10, cursor=None)["items"] == []


def test_a_request_id_reused_with_another_address_is_refused(shop: Shop, uow) -> None:
    who = shop.member()
    gift = shop.reward(points_cost=10)["reward_id"]
    first = _redeem(shop, who, gift, ADDRESS, request_id="same")
    before = snapshot(uow)
    assert rewards.redeem(uow, who, gift, "same", ADDRESS) == (201, first)
    with pytest.raises(IdempotencyKeyReused):
        rewards.redeem(uow, who, gift, "same", {**ADDRESS, "detail": "别处"})
    with pytest.raises(IdempotencyKeyReused):
        rewards.redeem(uow, who, gift, "same")
    assert snapshot(uow) == before


def test_redemptions_are_newest_first_a_page_per_two_round_trips(shop: Shop, uow) -> None:
    who, other = shop.member(), shop.member()
    gift = shop.reward(points_cost=1)["reward_id"]
    made = []
    for minute in range(5):
        set_now(at(2026, 3, 10, 11, minute))
        made.append(_redeem(shop, who, gift)["redemption_id"])
    _redeem(shop, other, gift)
    page, trips = round_trips(uow, lambda: rewards.member_redemptions(uow, who, limit=2, cursor=None))
    assert trips == 2
    seen = [r["redemption_id"] for r in page["items"]]
    while page["next_cursor"]:
        page = rewards.member_redemptions(uow, who, limit=2, cursor=page["next_cursor"])
        seen += [r["redemption_id"] for r in page["items"]]
    assert seen == made[::-1]
    cursor = rewards.member_redemptions(uow, who, limit=2, cursor=None)["next_cursor"]
    with pytest.raises(ValidationError):  # a cursor is bound to its member
        rewards.member_redemptions(uow, other, limit=2, cursor=cursor)


# ---- every page checks the token's member -----------------------------------------------------------

def _lists(uow: Any) -> dict[str, Callable[[Principal, str | None], dict[str, Any]]]:
    return {
        "ledger": lambda who, cursor: points.ledger_page(uow, who, limit=1, cursor=cursor),
        "wallet": lambda who, cursor: coupons.wallet(uow, who, "unused", limit=1, cursor=cursor),
        "redemptions": lambda who, cursor: rewards.member_redemptions(uow, who, limit=1, cursor=cursor),
    }


def _busy_member(shop: Shop) -> Principal:
    """A member with two entries, coupons and redemptions on every list."""
    who = shop.member()
    gift = shop.reward(points_cost=1)["reward_id"]
    for _ in range(2):
        shop.coupon(who)
        _redeem(shop, who, gift)
    return who


@pytest.mark.parametrize("name", ["ledger", "wallet", "redemptions"])
def test_a_closed_accounts_token_reads_no_page_of_it(shop: Shop, uow, name: str) -> None:
    who = _busy_member(shop)
    read = _lists(uow)[name]
    cursor = read(who, None)["next_cursor"]
    assert cursor
    members.delete_me(uow, who)
    for page_cursor in (None, cursor):
        with pytest.raises(NotAMember):
            read(who, page_cursor)


@pytest.mark.parametrize("name", ["ledger", "wallet", "redemptions"])
def test_a_token_reads_only_its_openids_member(shop: Shop, uow, name: str) -> None:
    who, other = _busy_member(shop), _busy_member(shop)
    read = _lists(uow)[name]
    cursor = read(who, None)["next_cursor"]
    stale = Principal(other.openid, who.member_id)  # names a member that is not its openid's
    with pytest.raises(ValidationError):  # resolved to `other`, whose list the cursor is not of
        read(stale, cursor)
    if name != "ledger":  # its first page trusts the signed token's member id: one Query (see ledger_page)
        assert read(stale, None) == read(other, None)


# ---- the merchant's member sub-lists -----------------------------------------------------------------

def test_the_merchant_sees_the_same_items_as_the_member(shop: Shop, uow) -> None:
    who = _busy_member(shop)
    mid = who.member_id
    assert points.ledger_for_admin(uow, mid, limit=1, cursor=None) == points.ledger_page(uow, who, limit=1, cursor=None)
    assert coupons.wallet_for_admin(uow, mid, "unused", limit=5, cursor=None) == \
        coupons.wallet(uow, who, "unused", limit=5, cursor=None)
    first = rewards.redemptions_for_admin(uow, mid, limit=1, cursor=None)
    assert first == rewards.member_redemptions(uow, who, limit=1, cursor=None)
    assert rewards.redemptions_for_admin(uow, mid, limit=1, cursor=first["next_cursor"])["next_cursor"] is None


def test_the_merchant_gets_not_found_for_a_closed_or_unknown_member(shop: Shop, uow) -> None:
    who = _busy_member(shop)
    members.delete_me(uow, who)
    for member_id in (who.member_id, "m-nobody"):
        for read in (lambda: points.ledger_for_admin(uow, member_id, limit=5, cursor=None),
                     lambda: coupons.wallet_for_admin(uow, member_id, "used", limit=5, cursor=None),
                     lambda: rewards.redemptions_for_admin(uow, member_id, limit=5, cursor=None)):
            with pytest.raises(NotFound):
                read()
