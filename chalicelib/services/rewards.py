"""The points mall: rewards, redemptions (points, stock, limit and coupon in one transaction), and
the gifts the merchant ships."""
from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from chalicelib import clock
from chalicelib.domain.coupons import coupon_view
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import member_tier
from chalicelib.domain.rewards import Redemption, Reward, fulfilment_view, reward_view, validate_reward
from chalicelib.domain.tokens import Principal
from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.services.common import fingerprint, read_for_member, replay, retrying, tier_of
from chalicelib.services.coupons import issue_check
from chalicelib.store.base import IdempotencyRecordExists, VersionConflict
from chalicelib.store.repository import AnswerToStore, IssuedCoupons, MemberUpdate, store


def _template_hint(reward_id: str) -> str | None:
    """A coupon reward's id carries its template's id (`r<hex>-<template_id>`), so a redemption
    reads the template in its first and only read; it is checked against the reward itself."""
    _, _, template_id = reward_id.partition("-")
    return template_id or None


def create_reward(document: Any) -> dict[str, Any]:
    """Validate and store a new reward (a coupon reward's template must exist)."""
    values = validate_reward(document)
    if values["coupon_template_id"] and store().template(values["coupon_template_id"]) is None:
        raise NotFound("coupon_template_id: 优惠券模板不存在")
    suffix = f"-{values['coupon_template_id']}" if values["coupon_template_id"] else ""
    reward = Reward(reward_id=f"r{secrets.token_hex(6)}{suffix}", **values)
    store().save_reward(reward, clock.now())
    return _admin_view(reward)


def patch_reward(reward_id: str, changes: Any) -> dict[str, Any]:
    """Change some fields of a reward (checked as a whole; kind and template are fixed)."""
    def attempt() -> dict[str, Any]:
        current = store().reward(reward_id)
        if current is None:
            raise NotFound("奖品不存在")
        updated = replace(current, **validate_reward(changes, current=current))
        store().update_reward(updated)
        return _admin_view(replace(updated, version=current.version + 1))

    return retrying(attempt)


def list_for_admin() -> dict[str, Any]:
    """Every reward with its stock, for the merchant."""
    return {"items": [_admin_view(r) for r in store().rewards()]}


def list_for_member(principal: Principal | None) -> dict[str, Any]:
    """Active rewards a member's tier may redeem (a visitor: those open to every tier). One
    Query, and one more read for the member's tier only when some reward is restricted to tiers."""
    offered = [r for r in store().rewards() if r.active]
    tier = tier_of(principal) if any(r.tiers for r in offered) else None
    return {"items": [reward_view(r) for r in offered if r.allows_tier(tier)]}


def redeem(principal: Principal, reward_id: str, request_id: str) -> tuple[int, Any]:
    """Spend points (oldest lots first) on a reward: points, stock, the member's limit and the
    coupon go together in one transaction or not at all; idempotent by request_id."""
    digest = fingerprint("POST /v1/rewards/{reward_id}/redeem", {"reward_id": reward_id})

    def attempt() -> tuple[int, Any]:
        context, member = read_for_member(
            principal, lambda member_id: store().redeem_context(
                member_id, reward_id, _template_hint(reward_id), f"member:{member_id}:{request_id}"),
            lambda c: c.member)
        key = f"member:{member.member_id}:{request_id}"
        if context.answer:
            return replay(context.answer, digest)
        reward, program = context.reward, context.program
        if reward is None or not reward.active:
            raise NotFound("奖品不存在或已下架")
        now = clock.now()
        if not reward.allows_tier(member_tier(member, program, now)["code"]):
            raise Forbidden("当前会员等级不能兑换该奖品")
        if reward.stock_left == 0:
            raise Conflict("OUT_OF_STOCK", "奖品已兑完")
        if reward.per_member_limit is not None and context.redeemed >= reward.per_member_limit:
            raise Conflict("LIMIT_REACHED", f"每人限兑 {reward.per_member_limit} 次")
        plan = LedgerPlan(member, now=now, keep_years=program["points_expiry"]["keep_years"])
        if plan.points.balance < reward.points_cost:
            raise Conflict("INSUFFICIENT_POINTS", f"需要 {reward.points_cost} 积分，当前 {plan.points.balance} 积分")
        redemption_id = "d" + secrets.token_hex(10)
        plan.add(-reward.points_cost, "redeem", ref=redemption_id, note=reward.name)
        issued, coupon = [], None
        if reward.kind == "coupon":
            template = context.template
            if template is None or template.template_id != reward.coupon_template_id or not template.active:
                raise NotFound("奖品不存在或已下架")
            coupon = issue_check(template, context.template_claimed, member.member_id, "redeem", now)
            issued = [IssuedCoupons(template, [(coupon, context.template_claimed)])]
        redemption = Redemption(redemption_id, reward.reward_id, member.member_id, reward.name, reward.kind,
                                reward.points_cost, now, coupon_id=coupon.coupon_id if coupon else None,
                                status="pending" if reward.kind == "gift" else None)
        body = {"redemption_id": redemption_id, "reward_id": reward.reward_id, "points_spent": reward.points_cost,
                "balance": plan.points.balance, "coupon": coupon_view(coupon, now) if coupon else None}
        try:
            store().commit(MemberUpdate(member, plan), now=now, answer=AnswerToStore(key, digest, 201, body),
                           issued=issued, redemption=(reward, redemption))
        except IdempotencyRecordExists:
            raise VersionConflict() from None  # answered meanwhile: the next attempt replays it
        return 201, body

    return retrying(attempt)


def fulfilments(status: str, *, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], Any]:
    """Gift redemptions of a status, oldest first, for the merchant."""
    redemptions, after = store().fulfilments(status, limit=limit, start=start)
    return [fulfilment_view(r) for r in redemptions], after


def mark_shipped(redemption_id: str, note: str | None) -> dict[str, Any]:
    """Record that a gift was shipped (idempotent: shipping it again changes nothing)."""
    redemption = store().redemption(redemption_id)
    if redemption is None or redemption.kind != "gift":
        raise NotFound("兑换记录不存在")
    if redemption.status == "pending":
        store().mark_shipped(redemption_id, note, clock.now())
        redemption = store().redemption(redemption_id) or redemption
    return fulfilment_view(redemption)


def _admin_view(reward: Reward) -> dict[str, Any]:
    return {**reward_view(reward), "stock": reward.stock}
