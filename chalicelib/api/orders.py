"""Merchant API (§4) for orders, refunds, interaction events and jobs."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from chalice.app import Blueprint

from chalicelib import clock
from chalicelib.api.http import ADMIN, Call, endpoint
from chalicelib.domain.validation import (
    ID_MAX,
    read_int,
    read_request_id,
    read_str,
    reject_unknown,
    require_object,
)
from chalicelib.errors import NotFound, ValidationError
from chalicelib.jobs.registry import run_job
from chalicelib.services import orders, points
from chalicelib.wiring import uow

bp = Blueprint(__name__)

ORDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_FEN = 10**11
MAX_ITEMS = 200
PAID_AT_FUTURE_TOLERANCE = timedelta(minutes=5)
PAID_AT_MAX_AGE = timedelta(days=400)


@bp.route("/v1/admin/orders", methods=["POST"])
@endpoint(ADMIN)
def record_order(call: Call) -> tuple[int, Any]:
    body = call.body
    reject_unknown(body, ("order_id", "member_id", "amount_fen", "subtotal_fen", "paid_at", "coupon_id",
                          "store_id", "items"))
    amount = read_int(body, "amount_fen", minimum=0, maximum=MAX_FEN)
    subtotal = read_int(body, "subtotal_fen", minimum=0, maximum=MAX_FEN, default=amount)
    if subtotal < amount:
        raise ValidationError("subtotal_fen must not be less than amount_fen")
    return orders.record_order(uow(), orders.OrderRequest(
        order_id=read_str(body, "order_id", max_length=ID_MAX, pattern=ORDER_ID),
        member_id=read_str(body, "member_id", max_length=ID_MAX),
        amount_fen=amount,
        subtotal_fen=subtotal,
        paid_at=_paid_at(body),
        coupon_id=read_str(body, "coupon_id", max_length=ID_MAX, default=None, nullable=True),
        store_id=read_str(body, "store_id", max_length=ID_MAX, default=None, nullable=True),
        items=_items(body),
    ))


@bp.route("/v1/admin/orders/{order_id}/refunds", methods=["POST"])
@endpoint(ADMIN)
def record_refund(call: Call) -> tuple[int, Any]:
    reject_unknown(call.body, ("refund_id", "amount_fen"))
    order_id = call.params["order_id"]
    if not ORDER_ID.match(order_id):
        raise NotFound("订单不存在")
    return orders.record_refund(
        uow(),
        order_id,
        read_str(call.body, "refund_id", max_length=ID_MAX, pattern=ORDER_ID),
        read_int(call.body, "amount_fen", minimum=1, maximum=MAX_FEN),
    )


@bp.route("/v1/admin/members/{member_id}/events", methods=["POST"])
@endpoint(ADMIN)
def record_event(call: Call) -> tuple[int, Any]:
    reject_unknown(call.body, ("request_id", "type", "ref"))
    return points.record_event(
        uow(),
        call.params["member_id"],
        request_id=read_request_id(call.body),
        kind=read_str(call.body, "type", max_length=32),
        ref=read_str(call.body, "ref", max_length=ID_MAX, default=None, nullable=True),
        actor=call.actor or "",
    )


@bp.route("/v1/admin/jobs/{job}/run", methods=["POST"])
@endpoint(ADMIN)
def run(call: Call) -> dict[str, Any]:
    reject_unknown(call.body, ("dry_run",))
    dry_run = call.body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ValidationError("dry_run must be true or false")
    return run_job(call.params["job"], clock.now(), dry_run=dry_run)


def _paid_at(body: dict[str, Any]) -> Any:
    text = read_str(body, "paid_at", max_length=64, default=None, nullable=True)
    if text is None:
        return None
    try:
        paid_at = clock.parse_instant(text)
    except ValueError:
        raise ValidationError("paid_at must be an ISO 8601 timestamp with an offset") from None
    now = clock.now()
    if not now - PAID_AT_MAX_AGE <= paid_at <= now + PAID_AT_FUTURE_TOLERANCE:
        raise ValidationError("paid_at must be within the last 400 days and not in the future")
    return paid_at


def _items(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    if body.get("items") is None:
        return None
    raw = body["items"]
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        raise ValidationError(f"items must be a list of at most {MAX_ITEMS}")
    items = []
    for i, value in enumerate(raw):
        prefix = f"items[{i}]."
        item = require_object(value, f"items[{i}]")
        reject_unknown(item, ("sku", "category", "quantity", "price_fen"), prefix)
        items.append({
            "sku": read_str(item, "sku", max_length=ID_MAX, prefix=prefix),
            "category": read_str(item, "category", max_length=ID_MAX, prefix=prefix),
            "quantity": read_int(item, "quantity", minimum=1, maximum=100_000, prefix=prefix),
            "price_fen": read_int(item, "price_fen", minimum=0, maximum=MAX_FEN, prefix=prefix),
        })
    return items
