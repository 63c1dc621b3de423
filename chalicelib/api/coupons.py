"""Coupon routes: the member's coupon center and wallet (§3), the merchant's templates (§4)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.http import ADMIN, OPTIONAL_TOKEN, TOKEN, Call, endpoint
from chalicelib.api.members import page_limit
from chalicelib.domain.validation import ID_MAX, read_request_id, read_str, reject_unknown
from chalicelib.errors import NotFound, ValidationError
from chalicelib.services import coupons
from chalicelib.wiring import uow

bp = Blueprint(__name__)


@bp.route("/v1/coupon-center", methods=["GET"])
@endpoint(OPTIONAL_TOKEN)
def coupon_center(call: Call) -> dict[str, Any]:
    return coupons.coupon_center(uow(), call.principal)


@bp.route("/v1/coupon-center/{template_id}/claim", methods=["POST"])
@endpoint(TOKEN)
def claim(call: Call) -> tuple[int, Any]:
    reject_unknown(call.body, ("request_id",))
    return coupons.claim(uow(), call.token, _id(call, "template_id"), read_request_id(call.body))


@bp.route("/v1/coupons", methods=["GET"])
@endpoint(TOKEN)
def wallet(call: Call) -> dict[str, Any]:
    status = call.query.get("status", "unused")
    if status not in coupons.STATUSES:
        raise ValidationError("status must be one of unused, used, expired")
    return coupons.wallet(uow(), call.token, status, limit=page_limit(call.query),
                          cursor=call.query.get("cursor") or None)


@bp.route("/v1/coupons/usable", methods=["GET"])
@endpoint(TOKEN)
def usable(call: Call) -> dict[str, Any]:
    text = call.query.get("subtotal_fen", "")
    if not text.isdigit() or int(text) > 10**11:
        raise ValidationError("subtotal_fen must be a non-negative integer")
    return coupons.usable(uow(), call.token, int(text))


@bp.route("/v1/coupons/{coupon_id}", methods=["GET"])
@endpoint(TOKEN)
def get_coupon(call: Call) -> dict[str, Any]:
    return coupons.get_coupon(uow(), call.token, _id(call, "coupon_id"))


@bp.route("/v1/admin/coupon-templates", methods=["POST"])
@endpoint(ADMIN, status=201)
def create_template(call: Call) -> dict[str, Any]:
    return coupons.create_template(uow(), call.body)


@bp.route("/v1/admin/coupon-templates/{template_id}", methods=["PATCH"])
@endpoint(ADMIN)
def patch_template(call: Call) -> dict[str, Any]:
    return coupons.patch_template(uow(), _id(call, "template_id"), call.body)


@bp.route("/v1/admin/coupon-templates", methods=["GET"])
@endpoint(ADMIN)
def list_templates(call: Call) -> dict[str, Any]:
    return coupons.list_templates(uow())


def _id(call: Call, name: str) -> str:
    value = call.params[name]
    if not 1 <= len(value) <= ID_MAX:
        raise NotFound("对象不存在")
    return value


MAX_ISSUE_MEMBERS = 10_000


@bp.route("/v1/admin/coupons/issue", methods=["POST"])
@endpoint(ADMIN)
def issue(call: Call) -> tuple[int, Any]:
    reject_unknown(call.body, ("request_id", "template_id", "member_ids", "segment"))
    request_id = read_request_id(call.body)
    template_id = read_str(call.body, "template_id", max_length=ID_MAX)
    if "segment" in call.body:
        raise ValidationError("segment: RFM segments are not available yet; send member_ids")
    member_ids = call.body.get("member_ids")
    if not isinstance(member_ids, list) or not 1 <= len(member_ids) <= MAX_ISSUE_MEMBERS or \
            not all(isinstance(m, str) and 1 <= len(m) <= ID_MAX for m in member_ids):
        raise ValidationError(f"member_ids must be a list of 1 to {MAX_ISSUE_MEMBERS} member ids")
    return coupons.issue_to_members(uow(), template_id, list(dict.fromkeys(member_ids)), request_id, call.actor or "")
