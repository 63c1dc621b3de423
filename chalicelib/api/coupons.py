"""Coupon routes: the member's coupon center and wallet (§3), the merchant's templates and
targeted issues (§4)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import messages
from chalicelib.api.declare import ADMIN, OPTIONAL_TOKEN, TOKEN
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import (
    COUNT,
    COUPON,
    COUPON_STATUS,
    MAX_FEN,
    PAGE_QUERY,
    REQUEST_ID,
    RFM_SEGMENT,
    TEMPLATE,
    USABLE_COUPON,
    fields,
    list_of,
    page_of,
)
from chalicelib.domain.catalog_schema import TEMPLATE_CREATE, TEMPLATE_PATCH
from chalicelib.errors import ValidationError
from chalicelib.schema import Arr, Int, Obj, Str, opt, req
from chalicelib.services import coupons, segments
from chalicelib.wiring import uow

bp = Blueprint(__name__)

MAX_ISSUE_MEMBERS = 10_000
ISSUE = Obj({"request_id": req(REQUEST_ID), "template_id": req(Str(64)),
             "member_ids": opt(Arr(Str(64), MAX_ISSUE_MEMBERS, min_items=1)), "segment": opt(RFM_SEGMENT)},
            name="TargetedIssue")
ISSUED = Obj(fields(issued=COUNT, skipped=COUNT), name="IssueResult")


@route(bp, "GET", "/v1/coupon-center", OPTIONAL_TOKEN, "Claimable coupon templates",
       answer=list_of(TEMPLATE, "CouponTemplateList"))
def coupon_center(call: Call) -> dict[str, Any]:
    return coupons.coupon_center(uow(), call.principal)


@route(bp, "POST", "/v1/coupon-center/{template_id}/claim", TOKEN, "Claim a coupon", status=201,
       body=Obj({"request_id": req(REQUEST_ID)}, name="ClaimRequest"), answer=COUPON, refusals=(409,))
def claim(call: Call) -> tuple[int, Any]:
    return coupons.claim(uow(), call.token, call.params["template_id"], call.body["request_id"])


@route(bp, "GET", "/v1/coupons", TOKEN, "The wallet", query={"status": COUPON_STATUS, **PAGE_QUERY},
       answer=page_of(COUPON, "CouponPage"))
def wallet(call: Call) -> dict[str, Any]:
    return coupons.wallet(uow(), call.token, call.query.get("status", "unused"), **call.page)


@route(bp, "GET", "/v1/coupons/usable", TOKEN, "The checkout picker: usable coupons, best first",
       query={"subtotal_fen": Int(0, MAX_FEN, description="The order's subtotal before coupons (required).")},
       answer=list_of(USABLE_COUPON, "UsableCouponList"))
def usable(call: Call) -> dict[str, Any]:
    if "subtotal_fen" not in call.query:
        raise ValidationError(messages.REQUIRED.format("subtotal_fen"), "subtotal_fen")
    return coupons.usable(uow(), call.token, call.query["subtotal_fen"])


@route(bp, "GET", "/v1/coupons/{coupon_id}", TOKEN, "One of the member's coupons", answer=COUPON)
def get_coupon(call: Call) -> dict[str, Any]:
    return coupons.get_coupon(uow(), call.token, call.params["coupon_id"])


@route(bp, "POST", "/v1/admin/coupon-templates", ADMIN, "Create a coupon template", status=201,
       body=TEMPLATE_CREATE, answer=TEMPLATE)
def create_template(call: Call) -> dict[str, Any]:
    return coupons.create_template(uow(), call.body)


@route(bp, "PATCH", "/v1/admin/coupon-templates/{template_id}", ADMIN, "Change a coupon template",
       body=TEMPLATE_PATCH, answer=TEMPLATE)
def patch_template(call: Call) -> dict[str, Any]:
    return coupons.patch_template(uow(), call.params["template_id"], call.body)


@route(bp, "GET", "/v1/admin/coupon-templates", ADMIN, "Coupon templates", query=PAGE_QUERY,
       answer=page_of(TEMPLATE, "CouponTemplatePage"))
def list_templates(call: Call) -> dict[str, Any]:
    return coupons.list_templates(uow(), **call.page)


@route(bp, "GET", "/v1/admin/coupon-templates/{template_id}", ADMIN, "A coupon template", answer=TEMPLATE)
def get_template(call: Call) -> dict[str, Any]:
    return coupons.get_template(uow(), call.params["template_id"])


@route(bp, "POST", "/v1/admin/coupons/issue", ADMIN, "Issue a coupon to chosen members", status=202,
       body=ISSUE, answer=ISSUED, refusals=(404, 409))
def issue(call: Call) -> tuple[int, Any]:
    body = call.body
    if ("segment" in body) == ("member_ids" in body):
        field = "segment" if "segment" in body else "member_ids"
        raise ValidationError(messages.EXACTLY_ONE.format("member_ids", "segment"), field)
    if "segment" in body:
        return segments.issue_to_segment(uow(), body["template_id"], body["segment"], body["request_id"],
                                         call.actor or "")
    return coupons.issue_to_members(uow(), body["template_id"], list(dict.fromkeys(body["member_ids"])),
                                    body["request_id"], call.actor or "")
