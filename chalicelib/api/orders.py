"""Merchant API (§4) for orders, refunds, interaction events and jobs."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalice.app import Blueprint

from chalicelib import clock
from chalicelib.api.declare import ADMIN
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import (
    COUNT,
    INSTANT_TEXT,
    MAX_FEN,
    ORDER,
    ORDER_ANSWER,
    POINTS,
    REFUND_ANSWER,
    REQUEST_ID,
    fields,
)
from chalicelib.errors import ValidationError
from chalicelib.jobs.registry import JOBS, job_list, run_job
from chalicelib.schema import Arr, Bool, Enum, Instant, Int, Obj, Str, opt, req
from chalicelib.services import orders, points
from chalicelib.wiring import uow, wechat

bp = Blueprint(__name__)

ORDER_ID = Str(64, pattern="[A-Za-z0-9_.:-]{1,64}")
PAID_AT_FUTURE_TOLERANCE = timedelta(minutes=5)
PAID_AT_MAX_AGE = timedelta(days=400)
ITEM = Obj({"sku": req(Str(64)), "category": req(Str(64)), "quantity": req(Int(1, 100_000)),
            "price_fen": req(Int(0, MAX_FEN))}, name="OrderItem")
ORDER_REQUEST = Obj({
    "order_id": req(ORDER_ID), "member_id": req(Str(64)), "amount_fen": req(Int(0, MAX_FEN)),
    "subtotal_fen": opt(Int(0, MAX_FEN)), "paid_at": opt(Instant(nullable=True)),
    "coupon_id": opt(Str(64, nullable=True)), "store_id": opt(Str(64, nullable=True)),
    "items": opt(Arr(ITEM, 200, nullable=True)),
}, name="OrderRequest")
REFUND_REQUEST = Obj({"refund_id": req(ORDER_ID), "amount_fen": req(Int(1, MAX_FEN))}, name="RefundRequest")
EVENT_REQUEST = Obj({"request_id": req(REQUEST_ID), "type": req(Str(32)), "ref": opt(Str(64, nullable=True))},
                    name="InteractionEvent")
EVENT_ANSWER = Obj(fields(points_awarded=COUNT, balance=POINTS), name="InteractionRecorded")
JOB_ANSWER = Obj({**fields(job=Str(64), as_of=INSTANT_TEXT, dry_run=Bool())}, name="JobRun", open=True,
                 description="The job's counts follow, one integer per outcome.")
JOB_LIST = Obj(fields(items=Arr(Obj(fields(
    name=Enum(sorted(JOBS)), title=Str(64), summary=Str(200), schedule=Str(64), counts=Arr(Str(64), 32),
), name="Job"), len(JOBS))), name="JobList")


@route(bp, "POST", "/v1/admin/orders", ADMIN, "Record a paid order", status=201, body=ORDER_REQUEST,
       answer=ORDER_ANSWER, refusals=(404, 409))
def record_order(call: Call) -> tuple[int, Any]:
    body = call.body
    subtotal = body.get("subtotal_fen")
    if subtotal is not None and subtotal < body["amount_fen"]:
        raise ValidationError("subtotal_fen 不能小于 amount_fen", "subtotal_fen")
    return orders.record_order(uow(), orders.OrderRequest(
        order_id=body["order_id"], member_id=body["member_id"], amount_fen=body["amount_fen"],
        subtotal_fen=subtotal, paid_at=paid_at_checked(body.get("paid_at")), coupon_id=body.get("coupon_id"),
        store_id=body.get("store_id"), items=body.get("items"),
    ), wechat())


@route(bp, "GET", "/v1/admin/orders/{order_id}", ADMIN, "An order with its refunds", answer=ORDER,
       path_schemas={"order_id": ORDER_ID})
def get_order(call: Call) -> dict[str, Any]:
    return orders.get_order(uow(), call.params["order_id"])


@route(bp, "POST", "/v1/admin/orders/{order_id}/refunds", ADMIN, "Record a refund", status=201,
       body=REFUND_REQUEST, answer=REFUND_ANSWER, refusals=(409,), path_schemas={"order_id": ORDER_ID})
def record_refund(call: Call) -> tuple[int, Any]:
    return orders.record_refund(uow(), call.params["order_id"], call.body["refund_id"], call.body["amount_fen"])


@route(bp, "POST", "/v1/admin/members/{member_id}/events", ADMIN, "Record an interaction event", status=201,
       body=EVENT_REQUEST, answer=EVENT_ANSWER, refusals=(409,))
def record_event(call: Call) -> tuple[int, Any]:
    return points.record_event(uow(), call.params["member_id"], request_id=call.body["request_id"],
                               kind=call.body["type"], ref=call.body.get("ref"), actor=call.actor or "")


@route(bp, "GET", "/v1/admin/jobs", ADMIN, "The jobs: name, title, schedule (EventBridge cron, UTC) and counts",
       answer=JOB_LIST)
def jobs(call: Call) -> dict[str, Any]:
    return {"items": job_list()}


@route(bp, "POST", "/v1/admin/jobs/{job}/run", ADMIN, "Run a job now (dry run first)",
       body=Obj({"dry_run": opt(Bool())}, name="JobRunRequest"), answer=JOB_ANSWER,
       path_schemas={"job": Enum(sorted(JOBS))})
def run(call: Call) -> dict[str, Any]:
    return run_job(call.params["job"], clock.now(), dry_run=call.body.get("dry_run", False))


def paid_at_checked(paid_at: Any) -> Any:
    """A `paid_at` sent (or None), if within the last 400 days and not ahead of the clock by more
    than 5 minutes (else a ValidationError naming it)."""
    if paid_at is None:
        return None
    now = clock.now()
    if not now - PAID_AT_MAX_AGE <= paid_at <= now + PAID_AT_FUTURE_TOLERANCE:
        raise ValidationError("paid_at 应在最近 400 天内，且不能晚于当前时间", "paid_at")
    return paid_at
