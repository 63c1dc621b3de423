"""Points-mall routes: the member's mall and redemptions (§3), the merchant's rewards and the gifts
to ship (§4, plus `/v1/admin/fulfilments`)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.http import ADMIN, OPTIONAL_TOKEN, TOKEN, Call, endpoint
from chalicelib.api.members import page_limit
from chalicelib.domain.rewards import FULFILMENT_STATUSES
from chalicelib.domain.validation import (
    ID_MAX,
    TEXT_MAX,
    read_request_id,
    read_str,
    reject_unknown,
)
from chalicelib.errors import NotFound, ValidationError
from chalicelib.services import rewards
from chalicelib.wiring import uow

bp = Blueprint(__name__)


@bp.route("/v1/rewards", methods=["GET"])
@endpoint(OPTIONAL_TOKEN)
def mall(call: Call) -> dict[str, Any]:
    return rewards.list_for_member(uow(), call.principal)


@bp.route("/v1/rewards/{reward_id}/redeem", methods=["POST"])
@endpoint(TOKEN)
def redeem(call: Call) -> tuple[int, Any]:
    reject_unknown(call.body, ("request_id",))
    return rewards.redeem(uow(), call.token, _id(call, "reward_id"), read_request_id(call.body))


@bp.route("/v1/admin/rewards", methods=["POST"])
@endpoint(ADMIN, status=201)
def create_reward(call: Call) -> dict[str, Any]:
    return rewards.create_reward(uow(), call.body)


@bp.route("/v1/admin/rewards/{reward_id}", methods=["PATCH"])
@endpoint(ADMIN)
def patch_reward(call: Call) -> dict[str, Any]:
    return rewards.patch_reward(uow(), _id(call, "reward_id"), call.body)


@bp.route("/v1/admin/rewards", methods=["GET"])
@endpoint(ADMIN)
def list_rewards(call: Call) -> dict[str, Any]:
    return rewards.list_for_admin(uow())


@bp.route("/v1/admin/fulfilments", methods=["GET"])
@endpoint(ADMIN)
def fulfilments(call: Call) -> dict[str, Any]:
    status = call.query.get("status", "pending")
    if status not in FULFILMENT_STATUSES:
        raise ValidationError("status must be pending or shipped")
    return rewards.fulfilments(uow(), status, limit=page_limit(call.query), cursor=call.query.get("cursor") or None)


@bp.route("/v1/admin/fulfilments/{redemption_id}/ship", methods=["POST"])
@endpoint(ADMIN)
def ship(call: Call) -> dict[str, Any]:
    reject_unknown(call.body, ("note",))
    return rewards.mark_shipped(uow(), _id(call, "redemption_id"),
                                read_str(call.body, "note", max_length=TEXT_MAX, default=None, nullable=True))


def _id(call: Call, name: str) -> str:
    value = call.params[name]
    if not 1 <= len(value) <= ID_MAX:
        raise NotFound("对象不存在")
    return value
