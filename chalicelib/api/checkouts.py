"""Merchant API (§9): checkout holds — reserve the member's coupon and points while they pay, then
confirm into an order or cancel."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.declare import ADMIN
from chalicelib.api.http import Call, route
from chalicelib.api.orders import ITEM, ORDER_ID, paid_at_checked
from chalicelib.api.shapes import COUNT, COUPON, FEN, ID, INSTANT_TEXT, MAX_FEN, ORDER_ANSWER, fields, nullable
from chalicelib.domain.checkouts import CANCELLED, CONFIRMED, EXPIRED, HELD
from chalicelib.schema import Arr, Enum, Instant, Int, Obj, Schema, Str, opt, req
from chalicelib.services import checkouts
from chalicelib.wiring import uow, wechat

bp = Blueprint(__name__)

DEFAULT_EXPIRES_IN_S = 900
MAX_POINTS = 10**11
CHECKOUT = Obj(fields(
    checkout_id=ID, member_id=ID, status=Enum([HELD, CONFIRMED, CANCELLED, EXPIRED]), subtotal_fen=FEN,
    coupon=nullable(COUPON), coupon_discount_fen=FEN, points_used=COUNT, points_discount_fen=FEN,
    amount_due_fen=FEN, expires_at=INSTANT_TEXT, order_id=nullable(ID),
), name="Checkout")
HOLD_REQUEST = Obj({
    "checkout_id": req(ORDER_ID), "member_id": req(Str(64)), "subtotal_fen": req(Int(0, MAX_FEN)),
    "coupon_id": opt(Str(64, nullable=True)), "points_to_use": opt(Int(0, MAX_POINTS, nullable=True)),
    "expires_in_s": opt(Int(60, 3600, nullable=True, description="How long the hold lasts (default 900).")),
}, name="CheckoutRequest")
CONFIRM_REQUEST = Obj({
    "order_id": req(ORDER_ID), "amount_fen": req(Int(0, MAX_FEN)), "paid_at": opt(Instant(nullable=True)),
    "store_id": opt(Str(64, nullable=True)), "items": opt(Arr(ITEM, 200, nullable=True)),
}, name="CheckoutConfirmRequest")
CONFIRMED_ANSWER = ORDER_ANSWER.extend("CheckoutConfirmed", fields(points_used=COUNT, points_discount_fen=FEN))
CHECKOUT_PATH: dict[str, Schema] = {"checkout_id": ORDER_ID}


@route(bp, "POST", "/v1/admin/checkouts", ADMIN, "Hold a coupon and points while the member pays", status=201,
       body=HOLD_REQUEST, answer=CHECKOUT, refusals=(404, 409))
def hold(call: Call) -> tuple[int, Any]:
    body = call.body
    return checkouts.hold(uow(), checkouts.HoldRequest(
        checkout_id=body["checkout_id"], member_id=body["member_id"], subtotal_fen=body["subtotal_fen"],
        coupon_id=body.get("coupon_id"), points_to_use=body.get("points_to_use") or 0,
        expires_in_s=body.get("expires_in_s") or DEFAULT_EXPIRES_IN_S))


@route(bp, "GET", "/v1/admin/checkouts/{checkout_id}", ADMIN, "A checkout hold", answer=CHECKOUT,
       path_schemas=CHECKOUT_PATH)
def get(call: Call) -> dict[str, Any]:
    return checkouts.get(uow(), call.params["checkout_id"])


@route(bp, "POST", "/v1/admin/checkouts/{checkout_id}/confirm", ADMIN, "Confirm a checkout into an order",
       status=201, body=CONFIRM_REQUEST, answer=CONFIRMED_ANSWER, refusals=(404, 409), path_schemas=CHECKOUT_PATH)
def confirm(call: Call) -> tuple[int, Any]:
    body = call.body
    return checkouts.confirm(uow(), call.params["checkout_id"], checkouts.Payment(
        order_id=body["order_id"], amount_fen=body["amount_fen"], paid_at=paid_at_checked(body.get("paid_at")),
        store_id=body.get("store_id"), items=body.get("items")), wechat())


@route(bp, "POST", "/v1/admin/checkouts/{checkout_id}/cancel", ADMIN, "Cancel a checkout hold",
       body=Obj({}, name="CheckoutCancelRequest"), answer=CHECKOUT, refusals=(404, 409), path_schemas=CHECKOUT_PATH)
def cancel(call: Call) -> dict[str, Any]:
    return checkouts.cancel(uow(), call.params["checkout_id"])
