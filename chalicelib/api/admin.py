"""Merchant API (§4) for the program, members, manual points adjustments and the test clock."""
from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import clock
from chalicelib.api.http import ADMIN, Call, endpoint
from chalicelib.config import settings
from chalicelib.domain.validation import (
    ID_MAX,
    TEXT_MAX,
    read_int,
    read_request_id,
    read_str,
    reject_unknown,
)
from chalicelib.errors import NotFound, ValidationError
from chalicelib.services import members, points, program
from chalicelib.wiring import uow

bp = Blueprint(__name__)

PHONE = re.compile(r"^\+?\d{5,20}$")
MAX_ADJUST = 10_000_000


@bp.route("/v1/admin/program", methods=["GET"])
@endpoint(ADMIN)
def get_program(call: Call) -> dict[str, Any]:
    return program.get_program(uow())


@bp.route("/v1/admin/program", methods=["PUT"])
@endpoint(ADMIN)
def put_program(call: Call) -> dict[str, Any]:
    return program.replace_program(uow(), call.body)


@bp.route("/v1/admin/members", methods=["GET"])
@endpoint(ADMIN)
def find_members(call: Call) -> dict[str, Any]:
    phone = read_str(call.query, "phone", max_length=21)
    if not PHONE.match(phone):
        raise ValidationError("phone must be 5 to 20 digits")
    return members.find_by_phone(uow(), phone)


@bp.route("/v1/admin/members/{member_id}", methods=["GET"])
@endpoint(ADMIN)
def get_member(call: Call) -> dict[str, Any]:
    return members.get_member_for_admin(uow(), _member_id(call))


@bp.route("/v1/admin/members/{member_id}/points", methods=["POST"])
@endpoint(ADMIN)
def adjust_points(call: Call) -> tuple[int, Any]:
    reject_unknown(call.body, ("request_id", "delta", "reason"))
    request_id = read_request_id(call.body)
    delta = read_int(call.body, "delta", minimum=-MAX_ADJUST, maximum=MAX_ADJUST)
    if delta == 0:
        raise ValidationError("delta must not be 0")
    reason = read_str(call.body, "reason", max_length=TEXT_MAX)
    return points.adjust_points(uow(), _member_id(call), request_id=request_id, delta=delta, reason=reason,
                                actor=call.actor or "")


@bp.route("/v1/admin/clock", methods=["PUT"])
@endpoint(ADMIN)
def set_clock(call: Call) -> dict[str, str]:
    _local_stage_only()
    reject_unknown(call.body, ("now",))
    text = read_str(call.body, "now", max_length=64)
    try:
        instant = clock.parse_instant(text)
    except ValueError:
        raise ValidationError("now must be an ISO 8601 timestamp with an offset") from None
    clock.set_test_clock(instant)
    return {"now": clock.render(instant)}


@bp.route("/v1/admin/clock", methods=["DELETE"])
@endpoint(ADMIN)
def clear_clock(call: Call) -> Response:
    _local_stage_only()
    clock.clear_test_clock()
    return Response(body="", status_code=204)


def _member_id(call: Call) -> str:
    member_id = call.params["member_id"]
    if not 1 <= len(member_id) <= ID_MAX:
        raise NotFound("会员不存在")
    return member_id


def _local_stage_only() -> None:
    if not settings().is_local:
        raise NotFound("仅本地环境可用")
