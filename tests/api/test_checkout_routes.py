"""Checkout holds (§9) over HTTP: the Checkout shape, holds seen at once on the member, the wallet,
the picker and every spending route, confirm into an order, cancel (also while the member owes
points, and after the account closed), the test clock moving past `expires_at`, a full refund, and
bad input."""
from __future__ import annotations

from typing import Any

import pytest
from helpers import Api, assert_error_body, new_user

NOW = "2031-05-06T10:00:00+08:00"
CASH = {"enabled": True, "points_per_yuan": 100, "max_pct_of_amount": 50}


@pytest.fixture
def shop(api: Api, clock, program) -> dict[str, Any]:
    """Points at checkout on, the clock at NOW, and a member holding 1,100 points and a 满100减20."""
    clock(NOW)
    edited, put = program
    edited["points_redemption"] = CASH
    put()
    token, member = api.new_member()
    member_id = member["member_id"]
    assert api.call("POST", f"/v1/admin/members/{member_id}/points",
                    {"request_id": new_user(), "delta": 1_000, "reason": "测试"}, admin=True)[0] == 201
    template = api.call("POST", "/v1/admin/coupon-templates",
                        {"name": "满100减20", "kind": "amount_off", "amount_off_fen": 2_000, "min_spend_fen": 10_000,
                         "validity": {"type": "relative", "days": 30}, "claimable": True}, admin=True)[1]
    coupon = api.call("POST", f"/v1/coupon-center/{template['template_id']}/claim", {"request_id": "c1"},
                      token=token)[1]
    return {"token": token, "member_id": member_id, "coupon_id": coupon["coupon_id"]}


def hold(api: Api, shop: dict[str, Any], **body: Any) -> tuple[int, Any]:
    sent = {"checkout_id": new_user(), "member_id": shop["member_id"], "subtotal_fen": 20_000,
            "coupon_id": shop["coupon_id"], "points_to_use": 500, **body}
    return api.call("POST", "/v1/admin/checkouts", sent, admin=True)


def points(api: Api, shop: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = api.call("GET", "/v1/members/me", token=shop["token"])[1]["points"]
    return value


def test_a_hold_shows_at_once_and_confirm_records_the_order(api: Api, shop) -> None:
    status, checkout = hold(api, shop, checkout_id="co-1")
    assert status == 201, checkout
    assert {k: checkout[k] for k in ("status", "coupon_discount_fen", "points_used", "points_discount_fen",
                                     "amount_due_fen", "expires_at", "order_id")} == {
        "status": "held", "coupon_discount_fen": 2_000, "points_used": 500, "points_discount_fen": 500,
        "amount_due_fen": 17_500, "expires_at": "2031-05-06T10:15:00+08:00", "order_id": None}
    assert checkout["coupon"]["held"] is True
    assert (points(api, shop)["balance"], points(api, shop)["held"]) == (600, 500)
    wallet = api.call("GET", "/v1/coupons?status=unused", token=shop["token"])[1]["items"]
    assert [c["held"] for c in wallet] == [True]
    assert api.call("GET", "/v1/coupons/usable?subtotal_fen=20000", token=shop["token"])[1]["items"] == []
    order = {"order_id": new_user(), "member_id": shop["member_id"], "amount_fen": 18_000, "subtotal_fen": 20_000,
             "coupon_id": shop["coupon_id"]}
    status, refused = api.call("POST", "/v1/admin/orders", order, admin=True)
    assert (status, refused["error"]["code"]) == (409, "COUPON_NOT_USABLE")
    assert api.call("GET", "/v1/admin/checkouts/co-1", admin=True) == (200, checkout)

    status, paid = api.call("POST", "/v1/admin/checkouts/co-1/confirm", {"order_id": "ord-1", "amount_fen": 17_500},
                            admin=True)
    assert status == 201, paid
    assert (paid["points_awarded"], paid["points_used"], paid["points_discount_fen"], paid["discount_fen"],
            paid["balance"]) == (175, 500, 500, 2_000, 775)
    assert api.call("POST", "/v1/admin/checkouts/co-1/confirm", {"order_id": "ord-1", "amount_fen": 17_500},
                    admin=True) == (201, paid)
    assert api.call("GET", "/v1/admin/orders/ord-1", admin=True)[1]["points_used"] == 500
    ledger = api.ledger(shop["token"])
    assert [(e["delta"], e["reason"], e["ref"]) for e in ledger[:2]] == [(175, "order", "ord-1"),
                                                                         (-500, "checkout", "ord-1")]
    confirmed = api.call("GET", "/v1/admin/checkouts/co-1", admin=True)[1]
    assert (confirmed["status"], confirmed["order_id"], confirmed["coupon"]["status"]) == ("confirmed", "ord-1",
                                                                                         "used")
    status, closed = api.call("POST", "/v1/admin/checkouts/co-1/cancel", {}, admin=True)
    assert (status, closed["error"]["code"]) == (409, "HOLD_CLOSED")

    api.call("POST", "/v1/admin/orders/ord-1/refunds", {"refund_id": "r-1", "amount_fen": 17_500}, admin=True)
    assert points(api, shop)["balance"] == 1_100
    assert [c["coupon_id"] for c in api.call("GET", "/v1/coupons", token=shop["token"])[1]["items"]] == \
        [shop["coupon_id"]]


def test_a_hold_lapses_when_the_clock_passes_expires_at(api: Api, shop, clock) -> None:
    assert hold(api, shop, checkout_id="co-2", expires_in_s=60)[0] == 201
    clock("2031-05-06T10:00:59+08:00")
    assert points(api, shop)["held"] == 500
    clock("2031-05-06T10:01:00+08:00")
    assert (points(api, shop)["balance"], points(api, shop)["held"]) == (1_100, 0)
    lapsed = api.call("GET", "/v1/admin/checkouts/co-2", admin=True)[1]
    assert (lapsed["status"], lapsed["coupon"]["held"]) == ("expired", False)
    api.call("POST", f"/v1/admin/members/{shop['member_id']}/points",
             {"request_id": new_user(), "delta": -1_000, "reason": "测试"}, admin=True)
    status, late = api.call("POST", "/v1/admin/checkouts/co-2/confirm", {"order_id": new_user(), "amount_fen": 17_500},
                            admin=True)
    assert (status, late["error"]["code"]) == (409, "HOLD_EXPIRED")
    assert api.call("POST", "/v1/admin/jobs/checkout-expiry/run", {}, admin=True)[1]["holds_expired"] >= 1
    assert api.call("GET", "/v1/admin/checkouts/co-2", admin=True)[1]["status"] == "expired"
    assert api.call("POST", "/v1/admin/jobs/checkout-expiry/run", {}, admin=True)[1]["holds_expired"] == 0


def test_cancel_releases_and_again_changes_nothing(api: Api, shop) -> None:
    hold(api, shop, checkout_id="co-3")
    status, cancelled = api.call("POST", "/v1/admin/checkouts/co-3/cancel", {}, admin=True)
    assert (status, cancelled["status"], cancelled["coupon"]["held"]) == (200, "cancelled", False)
    assert api.call("POST", "/v1/admin/checkouts/co-3/cancel", {}, admin=True) == (200, cancelled)
    assert (points(api, shop)["balance"], points(api, shop)["held"]) == (1_100, 0)
    status, refused = api.call("POST", "/v1/admin/checkouts/co-3/confirm", {"order_id": new_user(), "amount_fen": 17_500},
                               admin=True)
    assert (status, refused["error"]["code"]) == (409, "HOLD_CLOSED")


def test_cancel_while_the_member_owes_points_or_after_the_account_closed(api: Api, shop) -> None:
    """The store refuses the cancel's unread end of the hold when the member owes points or has
    closed the account; the hold is then ended from the member as read."""
    order = {"order_id": new_user(), "member_id": shop["member_id"], "amount_fen": 50_000}
    assert api.call("POST", "/v1/admin/orders", order, admin=True)[0] == 201  # 500 points: 1,600
    assert hold(api, shop, checkout_id="co-6", coupon_id=None, points_to_use=1_600, subtotal_fen=400_000)[0] == 201
    api.call("POST", f"/v1/admin/orders/{order['order_id']}/refunds", {"refund_id": "r-1", "amount_fen": 50_000},
             admin=True)  # claws back 500 of the 0 left
    assert (points(api, shop)["balance"], points(api, shop)["held"]) == (-500, 1_600)
    assert api.call("POST", "/v1/admin/checkouts/co-6/cancel", {}, admin=True)[1]["status"] == "cancelled"
    assert (points(api, shop)["balance"], points(api, shop)["held"]) == (1_100, 0)
    assert hold(api, shop, checkout_id="co-7")[0] == 201
    assert api.call("DELETE", "/v1/members/me", token=shop["token"])[0] == 204
    assert api.call("POST", "/v1/admin/checkouts/co-7/cancel", {}, admin=True)[1]["status"] == "cancelled"


@pytest.mark.parametrize("body, status, code, field", [
    ({"subtotal_fen": 200.5}, 400, "VALIDATION_ERROR", "subtotal_fen"),
    ({"expires_in_s": 59}, 400, "VALIDATION_ERROR", "expires_in_s"),
    ({"expires_in_s": 3_601}, 400, "VALIDATION_ERROR", "expires_in_s"),
    ({"points_to_use": 150}, 400, "VALIDATION_ERROR", "points_to_use"),
    ({"points_to_use": -100}, 400, "VALIDATION_ERROR", "points_to_use"),
    ({"tip_fen": 1}, 400, "VALIDATION_ERROR", "tip_fen"),
    ({"points_to_use": 9_100}, 409, "LIMIT_REACHED", None),
    ({"points_to_use": 2_000, "subtotal_fen": 1_000_000}, 409, "INSUFFICIENT_POINTS", None),
    ({"subtotal_fen": 9_999}, 409, "COUPON_NOT_USABLE", None),
    ({"coupon_id": "not-mine"}, 409, "COUPON_NOT_USABLE", None),
    ({"member_id": "m-unknown"}, 404, "NOT_FOUND", None),
])
def test_bad_holds_are_refused_and_change_nothing(api: Api, shop, body, status, code, field) -> None:
    got, refused = hold(api, shop, **body)
    assert (got, refused["error"]["code"], refused["error"].get("field")) == (status, code, field)
    assert_error_body(refused)
    assert (points(api, shop)["balance"], points(api, shop)["held"]) == (1_100, 0)


def test_points_at_checkout_off_is_a_validation_error(api: Api, shop, program) -> None:
    edited, put = program
    edited["points_redemption"] = {**CASH, "enabled": False}
    put()
    status, refused = hold(api, shop)
    assert (status, refused["error"]["field"]) == (400, "points_to_use")
    assert hold(api, shop, points_to_use=0)[0] == 201


def test_unknown_checkouts_and_the_admin_key(api: Api, shop) -> None:
    assert api.call("GET", "/v1/admin/checkouts/nope", admin=True)[0] == 404
    assert api.call("POST", "/v1/admin/checkouts/nope/cancel", {}, admin=True)[0] == 404
    assert api.call("POST", "/v1/admin/checkouts/nope/confirm", {"order_id": "x", "amount_fen": 1}, admin=True)[0] == 404
    assert api.call("GET", "/v1/admin/checkouts/nope")[0] == 401
    status, conflict = hold(api, shop, checkout_id="co-4")
    assert status == 201
    again = hold(api, shop, checkout_id="co-4", points_to_use=600)
    assert (again[0], again[1]["error"]["code"]) == (409, "ORDER_CONFLICT")
