"""The points mall: rewards, redemptions and the gifts the merchant ships."""
from __future__ import annotations

import uuid

from helpers import Api


def reward(api: Api, **fields) -> dict:
    body = {"name": "帆布袋", "points_cost": 60, "kind": "gift", "stock": 10, **fields}
    status, created = api.call("POST", "/v1/admin/rewards", body, admin=True)
    assert status == 201, created
    return created


def redeem(api: Api, token: str, reward_id: str, request_id: str | None = None):
    return api.call("POST", f"/v1/rewards/{reward_id}/redeem", {"request_id": request_id or uuid.uuid4().hex},
                    token=token)


def test_a_gift_redemption_spends_points_once_and_waits_to_be_shipped(api: Api) -> None:
    gift = reward(api, per_member_limit=1)
    assert gift["stock"] == 10 and gift["stock_left"] == 10
    token, member = api.new_member()
    request_id = uuid.uuid4().hex
    status, body = redeem(api, token, gift["reward_id"], request_id)
    assert status == 201 and body["points_spent"] == 60 and body["balance"] == 40 and body["coupon"] is None
    assert redeem(api, token, gift["reward_id"], request_id) == (status, body)
    status, again = redeem(api, token, gift["reward_id"])
    assert (status, again["error"]["code"]) == (409, "LIMIT_REACHED")
    newest = api.ledger(token)[0]
    assert (newest["reason"], newest["delta"], newest["balance_after"], newest["note"]) == ("redeem", -60, 40, "帆布袋")
    pending = api.all_items("/v1/admin/fulfilments?status=pending", admin=True)
    mine = [f for f in pending if f["redemption_id"] == body["redemption_id"]]
    assert mine and mine[0]["member_id"] == member["member_id"] and mine[0]["status"] == "pending"
    status, shipped = api.call("POST", f"/v1/admin/fulfilments/{body['redemption_id']}/ship",
                               {"note": "顺丰 SF123"}, admin=True)
    assert status == 200 and shipped["status"] == "shipped" and shipped["note"] == "顺丰 SF123"
    listed = api.all_items("/v1/admin/rewards", admin=True)
    assert [(r["stock"], r["stock_left"]) for r in listed if r["reward_id"] == gift["reward_id"]] == [(10, 9)]


def test_insufficient_points_and_negative_balances_block_redemption(api: Api) -> None:
    expensive = reward(api, points_cost=101)
    token, member = api.new_member()
    status, body = redeem(api, token, expensive["reward_id"])
    assert (status, body["error"]["code"]) == (409, "INSUFFICIENT_POINTS")
    assert api.call("GET", "/v1/members/me", token=token)[1]["points"]["balance"] == 100
    assert [e["reason"] for e in api.ledger(token)] == ["signup_gift"]


def test_a_coupon_reward_issues_the_coupon_in_the_same_step(api: Api) -> None:
    status, template = api.call("POST", "/v1/admin/coupon-templates",
                                {"name": "无门槛5元", "kind": "amount_off", "amount_off_fen": 500,
                                 "validity": {"type": "relative", "days": 14}}, admin=True)
    coupon_reward = reward(api, name="5元券", kind="coupon", coupon_template_id=template["template_id"],
                           points_cost=50, stock=None)
    token, _ = api.new_member()
    status, body = redeem(api, token, coupon_reward["reward_id"])
    assert status == 201 and body["coupon"]["source"] == "redeem" and body["balance"] == 50
    wallet = api.call("GET", "/v1/coupons", token=token)[1]["items"]
    assert [c["coupon_id"] for c in wallet] == [body["coupon"]["coupon_id"]]


def test_stock_tiers_and_inactive_rewards(api: Api) -> None:
    last_one = reward(api, stock=1, points_cost=10)
    gold = reward(api, tiers=["gold"], points_cost=10)
    off = reward(api, active=False, points_cost=10)
    token, _ = api.new_member()
    other, _ = api.new_member()
    assert redeem(api, token, last_one["reward_id"])[0] == 201
    status, body = redeem(api, other, last_one["reward_id"])
    assert (status, body["error"]["code"]) == (409, "OUT_OF_STOCK")
    status, body = redeem(api, token, gold["reward_id"])
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    assert redeem(api, token, off["reward_id"])[0] == 404
    assert redeem(api, token, "r-nope")[0] == 404
    visible = {r["reward_id"] for r in api.call("GET", "/v1/rewards", token=token)[1]["items"]}
    assert last_one["reward_id"] in visible and gold["reward_id"] not in visible and off["reward_id"] not in visible
    browsing = {r["reward_id"] for r in api.call("GET", "/v1/rewards")[1]["items"]}
    assert last_one["reward_id"] in browsing and gold["reward_id"] not in browsing


def test_patching_a_reward(api: Api) -> None:
    gift = reward(api)
    status, patched = api.call("PATCH", f"/v1/admin/rewards/{gift['reward_id']}", {"points_cost": 80, "stock": 20},
                               admin=True)
    assert status == 200 and patched["points_cost"] == 80 and patched["stock_left"] == 20
    status, body = api.call("PATCH", f"/v1/admin/rewards/{gift['reward_id']}", {"kind": "coupon"}, admin=True)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
