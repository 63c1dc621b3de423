"""Merchant API (§4) for the program, members, manual points adjustments and the test clock."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import clock, messages
from chalicelib.api.declare import ADMIN
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import (
    ADMIN_MEMBER,
    COUPON,
    COUPON_STATUS,
    INSTANT_TEXT,
    LEDGER_ENTRY,
    PAGE_QUERY,
    POINTS,
    REDEMPTION,
    REQUEST_ID,
    fields,
    list_of,
    page_of,
)
from chalicelib.config import settings
from chalicelib.domain.program_schema import PROGRAM
from chalicelib.errors import NotFound, ValidationError
from chalicelib.schema import Instant, Int, Obj, Str, req
from chalicelib.services import coupons, members, points, program, rewards
from chalicelib.wiring import uow

bp = Blueprint(__name__)

MAX_ADJUST = 10_000_000
ADJUSTMENT = Obj({"request_id": req(REQUEST_ID), "delta": req(Int(-MAX_ADJUST, MAX_ADJUST)),
                  "reason": req(Str(500, multiline=True))}, name="PointsAdjustment")
ADJUSTED = Obj(fields(balance=POINTS, entry=LEDGER_ENTRY), name="PointsAdjusted")
CLOCK = Obj(fields(now=INSTANT_TEXT), name="TestClock")


@route(bp, "GET", "/v1/admin/program", ADMIN, "The program", answer=PROGRAM)
def get_program(call: Call) -> dict[str, Any]:
    return program.get_program(uow())


@route(bp, "PUT", "/v1/admin/program", ADMIN, "Replace the program (validated as a whole)", body=PROGRAM,
       answer=PROGRAM)
def put_program(call: Call) -> dict[str, Any]:
    return program.replace_program(uow(), call.body)


@route(bp, "GET", "/v1/admin/members", ADMIN, "Look members up by phone",
       query={"phone": Str(20, pattern="\\+?[0-9]{5,19}")}, answer=list_of(ADMIN_MEMBER, "AdminMemberList", 100))
def find_members(call: Call) -> dict[str, Any]:
    if "phone" not in call.query:
        raise ValidationError(messages.REQUIRED.format("phone"), "phone")
    return members.find_by_phone(uow(), call.query["phone"])


@route(bp, "GET", "/v1/admin/members/{member_id}", ADMIN, "A member, as the merchant sees them",
       answer=ADMIN_MEMBER)
def get_member(call: Call) -> dict[str, Any]:
    return members.get_member_for_admin(uow(), call.params["member_id"])


@route(bp, "GET", "/v1/admin/members/{member_id}/ledger", ADMIN, "A member's ledger, newest first",
       query=PAGE_QUERY, answer=page_of(LEDGER_ENTRY, "LedgerPage"))
def member_ledger(call: Call) -> dict[str, Any]:
    return points.ledger_for_admin(uow(), call.params["member_id"], **call.page)


@route(bp, "GET", "/v1/admin/members/{member_id}/coupons", ADMIN, "A member's coupons",
       query={"status": COUPON_STATUS, **PAGE_QUERY}, answer=page_of(COUPON, "CouponPage"))
def member_coupons(call: Call) -> dict[str, Any]:
    return coupons.wallet_for_admin(uow(), call.params["member_id"], call.query.get("status", "unused"), **call.page)


@route(bp, "GET", "/v1/admin/members/{member_id}/redemptions", ADMIN, "A member's redemptions, newest first",
       query=PAGE_QUERY, answer=page_of(REDEMPTION, "RedemptionPage"))
def member_redemptions(call: Call) -> dict[str, Any]:
    return rewards.redemptions_for_admin(uow(), call.params["member_id"], **call.page)


@route(bp, "POST", "/v1/admin/members/{member_id}/points", ADMIN, "Adjust a member's points (audited)",
       status=201, body=ADJUSTMENT, answer=ADJUSTED, refusals=(409,))
def adjust_points(call: Call) -> tuple[int, Any]:
    if call.body["delta"] == 0:
        raise ValidationError(messages.MUST_DIFFER_FROM_ZERO.format("delta"), "delta")
    return points.adjust_points(uow(), call.params["member_id"], request_id=call.body["request_id"],
                                delta=call.body["delta"], reason=call.body["reason"], actor=call.actor or "")


@route(bp, "PUT", "/v1/admin/clock", ADMIN, "Set the test clock (local stage only)",
       body=Obj({"now": req(Instant())}, name="TestClockRequest"), answer=CLOCK, refusals=(404,))
def set_clock(call: Call) -> dict[str, str]:
    _local_stage_only()
    clock.set_test_clock(call.body["now"])
    return {"now": clock.render(call.body["now"])}


@route(bp, "DELETE", "/v1/admin/clock", ADMIN, "Stop the test clock (local stage only)", status=204,
       refusals=(404,))
def clear_clock(call: Call) -> Response:
    _local_stage_only()
    clock.clear_test_clock()
    return Response(body="", status_code=204)


def _local_stage_only() -> None:
    if not settings().is_local:
        raise NotFound("仅本地环境可用")
