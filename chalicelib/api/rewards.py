"""Points-mall routes: the member's mall and redemptions (§3), the merchant's rewards and the gifts
to ship (§4)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.declare import ADMIN, OPTIONAL_TOKEN, TOKEN
from chalicelib.api.http import Call, route
from chalicelib.api.shapes import (
    ADDRESS,
    ADMIN_REWARD,
    COUNT,
    COUPON,
    FULFILMENT,
    PAGE_QUERY,
    POINTS,
    REDEMPTION,
    REQUEST_ID,
    REWARD,
    TEXT,
    fields,
    list_of,
    nullable,
    page_of,
)
from chalicelib.domain.catalog_schema import REWARD_CREATE, REWARD_PATCH
from chalicelib.domain.rewards import FULFILMENT_STATUSES
from chalicelib.schema import Enum, Obj, opt, req
from chalicelib.services import rewards
from chalicelib.wiring import uow

bp = Blueprint(__name__)

REDEEM = Obj({"request_id": req(REQUEST_ID), "address": opt(nullable(ADDRESS))}, name="RedeemRequest")
REDEEMED = Obj(fields(redemption_id=REWARD.props["reward_id"].schema, reward_id=REWARD.props["reward_id"].schema,
                      points_spent=COUNT, balance=POINTS, coupon=nullable(COUPON)), name="Redeemed")


@route(bp, "GET", "/v1/rewards", OPTIONAL_TOKEN, "The points mall", answer=list_of(REWARD, "RewardList"))
def mall(call: Call) -> dict[str, Any]:
    return rewards.list_for_member(uow(), call.principal)


@route(bp, "POST", "/v1/rewards/{reward_id}/redeem", TOKEN, "Redeem a reward with points", status=201,
       body=REDEEM, answer=REDEEMED, refusals=(409,))
def redeem(call: Call) -> tuple[int, Any]:
    return rewards.redeem(uow(), call.token, call.params["reward_id"], call.body["request_id"],
                          call.body.get("address"))


@route(bp, "GET", "/v1/redemptions", TOKEN, "The member's redemptions, newest first", query=PAGE_QUERY,
       answer=page_of(REDEMPTION, "RedemptionPage"))
def my_redemptions(call: Call) -> dict[str, Any]:
    return rewards.member_redemptions(uow(), call.token, **call.page)


@route(bp, "POST", "/v1/admin/rewards", ADMIN, "Create a reward", status=201, body=REWARD_CREATE,
       answer=ADMIN_REWARD, refusals=(404,))
def create_reward(call: Call) -> dict[str, Any]:
    return rewards.create_reward(uow(), call.body)


@route(bp, "PATCH", "/v1/admin/rewards/{reward_id}", ADMIN, "Change a reward", body=REWARD_PATCH,
       answer=ADMIN_REWARD)
def patch_reward(call: Call) -> dict[str, Any]:
    return rewards.patch_reward(uow(), call.params["reward_id"], call.body)


@route(bp, "GET", "/v1/admin/rewards", ADMIN, "Rewards", query=PAGE_QUERY, answer=page_of(ADMIN_REWARD, "RewardPage"))
def list_rewards(call: Call) -> dict[str, Any]:
    return rewards.list_for_admin(uow(), **call.page)


@route(bp, "GET", "/v1/admin/rewards/{reward_id}", ADMIN, "A reward", answer=ADMIN_REWARD)
def get_reward(call: Call) -> dict[str, Any]:
    return rewards.get_reward(uow(), call.params["reward_id"])


@route(bp, "GET", "/v1/admin/fulfilments", ADMIN, "Gift redemptions to ship (or shipped), oldest first",
       query={"status": Enum(FULFILMENT_STATUSES, description="pending (default) or shipped"), **PAGE_QUERY},
       answer=page_of(FULFILMENT, "FulfilmentPage"))
def fulfilments(call: Call) -> dict[str, Any]:
    return rewards.fulfilments(uow(), call.query.get("status", "pending"), **call.page)


@route(bp, "POST", "/v1/admin/fulfilments/{redemption_id}/ship", ADMIN, "Mark a gift shipped",
       body=Obj({"note": opt(nullable(TEXT))}, name="ShipRequest"), answer=FULFILMENT)
def ship(call: Call) -> dict[str, Any]:
    return rewards.mark_shipped(uow(), call.params["redemption_id"], call.body.get("note"))
