"""The points mall: rewards, redemptions (points, stock, limit and coupon in one transaction), and
the gifts the merchant ships."""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from chalicelib import clock
from chalicelib.domain.coupons import Coupon, Template, coupon_view, new_coupon
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member, member_tier
from chalicelib.domain.rewards import (
    Redemption,
    Reward,
    fulfilment_view,
    redemption_view,
    reward_view,
    shipping_address,
    validate_reward,
)
from chalicelib.domain.tiers import check_tier_codes
from chalicelib.domain.tokens import Principal
from chalicelib.errors import NotFound
from chalicelib.services.catalog import Catalog, sent_tiers
from chalicelib.services.common import existing_member_id, fingerprint, live_member_id, refuse, run_for_member
from chalicelib.services.coupons import new_coupon_id
from chalicelib.services.figures import issued, save_member
from chalicelib.services.runner import Command, Decision
from chalicelib.store import coupons, members, rewards, settings
from chalicelib.store.idempotency import RequestKey
from chalicelib.store.parts import Get, UnitOfWork, Write
from chalicelib.store.rewards import NotPending

REWARDS = Catalog(rewards.rewards_page, rewards.reward_cursor, rewards.reward, rewards.edit_reward, validate_reward,
                  "奖品不存在")


def _template_hint(reward_id: str) -> str | None:
    """A coupon reward's id carries its template's id (`r<hex>-<template_id>`), so a redemption
    reads the template in its first and only read; it is checked against the reward itself."""
    _, _, template_id = reward_id.partition("-")
    return template_id or None


def create_reward(uow: UnitOfWork, document: Any) -> dict[str, Any]:
    """Validate and store a new reward (a coupon reward's template must exist, its tiers must be
    the program's): one read, one write."""
    values = validate_reward(document)
    template_id = values["coupon_template_id"]
    reads: dict[str, Get[Any, Any]] = {"program": settings.program()}
    if template_id:
        reads["template"] = coupons.template(template_id)
    read = uow.read(**reads)
    check_tier_codes(sent_tiers(document, values["tiers"]), read["program"])
    if template_id and read["template"] is None:
        raise NotFound("coupon_template_id: 优惠券模板不存在")
    reward = Reward(reward_id=f"r{secrets.token_hex(6)}" + (f"-{template_id}" if template_id else ""), **values)
    uow.write(rewards.add_reward(reward, clock.now()))
    return _admin_view(reward)


def patch_reward(uow: UnitOfWork, reward_id: str, changes: Any) -> dict[str, Any]:
    """Change some fields of a reward (checked as a whole; kind and template are fixed)."""
    return _admin_view(REWARDS.patch(uow, reward_id, changes))


def list_for_admin(uow: UnitOfWork, *, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
    """A page of the rewards with their stock for the merchant, by id: {"items", "next_cursor"}."""
    items, next_cursor = REWARDS.page_of(uow, limit, cursor)
    return {"items": [_admin_view(r) for r in items], "next_cursor": next_cursor}


def get_reward(uow: UnitOfWork, reward_id: str) -> dict[str, Any]:
    """One reward with its stock, for the merchant (NotFound when unknown)."""
    return _admin_view(REWARDS.one(uow, reward_id))


def list_for_member(uow: UnitOfWork, principal: Principal | None) -> dict[str, Any]:
    """Active rewards a member's tier may redeem (a visitor: those open to every tier). One
    Query, and one more read for the member's tier only when some reward is restricted to tiers."""
    return {"items": [reward_view(r) for r in REWARDS.shown_to(uow, principal, lambda r: r.active)]}


def redeem(uow: UnitOfWork, principal: Principal, reward_id: str, request_id: str,
           address: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """Spend points (oldest lots first) on a reward: points, stock, the member's limit and the
    coupon go together in one transaction or not at all; idempotent by request_id (the address is
    part of the request). A gift's redemption keeps the `address` it is shipped to; a coupon
    reward ships nothing, so an address sent with it is ignored (its redemption has none)."""
    template_id = _template_hint(reward_id)
    shipping = shipping_address(address)
    request = {"reward_id": reward_id, **({"address": shipping} if shipping else {})}

    def command_for(member_id: str) -> Command[dict[str, Any]]:
        reads: dict[str, Get[Any, Any]] = {
            "member": members.member(member_id), "program": settings.program(), "reward": rewards.reward(reward_id),
            "redeemed": rewards.redeemed(member_id, reward_id)}
        if template_id:
            reads.update(template=coupons.template(template_id), claimed=coupons.claimed(member_id, template_id))
        return Command(reads, lambda read: _redemption(read, shipping),
                       key=RequestKey(f"member:{member_id}:{request_id}"),
                       fingerprint=fingerprint("POST /v1/rewards/{reward_id}/redeem", request))

    return run_for_member(uow, principal, command_for)


def _redemption(read: dict[str, Any], address: dict[str, str] | None) -> Decision[dict[str, Any]]:
    """Decide one redemption from what was read."""
    member: Member = read["member"]
    reward: Reward | None = read["reward"]
    if reward is None:
        raise NotFound("奖品不存在或已下架")
    now = clock.now()
    refuse(reward.refusal(read["redeemed"], member_tier(member, read["program"], now).code))
    plan = LedgerPlan(member, now=now, keep_years=read["program"].keep_years)
    redemption_id = "d" + secrets.token_hex(10)
    plan.spend(reward.points_cost, "redeem", ref=redemption_id, note=reward.name)
    writes: list[Write] = save_member(member, member, read["program"], now, plan=plan,
                                      active_on=clock.business_date(now))
    coupon: Coupon | None = None
    if reward.kind == "coupon":
        template: Template | None = read.get("template")
        if template is None or template.template_id != reward.coupon_template_id or not template.active or \
                template.ended(now):
            raise NotFound("奖品不存在或已下架")
        refuse(template.refusal(read["claimed"], now=now))
        coupon = new_coupon(template, member.member_id, new_coupon_id(now), "redeem", now.replace(microsecond=0))
        writes += issued(template, [coupon])
    redemption = Redemption(redemption_id, reward.reward_id, member.member_id, reward.name, reward.kind,
                            reward.points_cost, now, coupon_id=coupon.coupon_id if coupon else None,
                            status="pending" if reward.kind == "gift" else None,
                            address=address if reward.kind == "gift" else None)
    answer = {"redemption_id": redemption_id, "reward_id": reward.reward_id, "points_spent": reward.points_cost,
              "balance": plan.points.balance, "coupon": coupon_view(coupon, now) if coupon else None}
    return Decision(answer, writes + rewards.redeem(reward, redemption))


def fulfilments(uow: UnitOfWork, status: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Gift redemptions of a status, oldest first, for the merchant."""
    page = uow.query(rewards.fulfilments(status, limit, cursor))
    return {"items": [fulfilment_view(r) for r in page.items if r is not None], "next_cursor": page.cursor}


def member_redemptions(uow: UnitOfWork, principal: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The member's own redemptions, newest first, with each gift's shipping: every page checks that
    the token's member is live and still its openid's (one read), then reads the page (one Query)."""
    return _redemptions_page(uow, live_member_id(uow, principal), limit, cursor)


def redemptions_for_admin(uow: UnitOfWork, member_id: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A member's redemptions for the merchant, the same items the member sees (NotFound when the
    member is closed or unknown): one read, one Query."""
    return _redemptions_page(uow, existing_member_id(uow, member_id), limit, cursor)


def _redemptions_page(uow: UnitOfWork, member_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    found = [r for r in uow.query(rewards.member_redemptions(member_id, limit, cursor)).items if r is not None]
    return {"items": [redemption_view(r) for r in found[:limit]],
            "next_cursor": rewards.redemptions_cursor(found, limit)}


def mark_shipped(uow: UnitOfWork, redemption_id: str, note: str | None) -> dict[str, Any]:
    """Record that a gift was shipped (idempotent: shipping it again changes nothing)."""
    redemption: Redemption | None = uow.read(r=rewards.redemption(redemption_id))["r"]
    if redemption is None or redemption.kind != "gift":
        raise NotFound("兑换记录不存在")
    if redemption.status == "pending":
        try:
            redemption = uow.update(rewards.ship(redemption_id, note, clock.now()), rewards.to_redemption)
        except NotPending:
            redemption = uow.read(r=rewards.redemption(redemption_id))["r"] or redemption
    assert redemption is not None
    return fulfilment_view(redemption)


def _admin_view(reward: Reward) -> dict[str, Any]:
    return {**reward_view(reward), "stock": reward.stock}
