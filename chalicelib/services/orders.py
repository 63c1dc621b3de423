"""The merchant's orders and refunds: points by the earn formula, growth, tiers, referral rewards."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.domain.coupons import Coupon, coupon_view, discount_fen, released, unusable_reason
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.orders import (
    Order,
    campaign_pct,
    growth_yuan,
    order_points,
    paid_date,
    refund_outcome,
)
from chalicelib.domain.points import earning_year
from chalicelib.domain.tiers import growth_value, growth_view, tier_change, tier_for, tier_view
from chalicelib.errors import CouponNotUsable, NotFound, OrderConflict
from chalicelib.services.common import fingerprint, retrying
from chalicelib.store.base import IdempotencyRecordExists, VersionConflict
from chalicelib.store.repository import AnswerToStore, MemberUpdate, NewOrder, store


@dataclass(frozen=True)
class OrderRequest:
    """A paid order as the merchant's order system reports it (already validated)."""

    order_id: str
    member_id: str
    amount_fen: int
    subtotal_fen: int
    paid_at: datetime | None
    coupon_id: str | None
    store_id: str | None
    items: list[dict[str, Any]] | None


def record_order(request: OrderRequest) -> tuple[int, dict[str, Any]]:
    """Award an order's points and growth, idempotently by order_id: one read and one transaction
    (two reads for an invitee's first order, which also credits the inviter)."""
    repo = store()
    payload = asdict(request)
    payload["paid_at"] = request.paid_at.isoformat() if request.paid_at else None
    digest = fingerprint("POST /v1/admin/orders", payload)

    def attempt() -> tuple[int, dict[str, Any]]:
        member, program, recorded, answer, coupon = repo.order_context(
            request.order_id, request.member_id, request.coupon_id)
        if recorded and answer:
            if recorded.fingerprint != digest:
                raise OrderConflict("order_id")
            return answer.status, answer.body
        if member is None:
            raise NotFound("会员不存在")
        now = clock.now()
        paid_at = request.paid_at or now
        used = _use_coupon(coupon, request, paid_at, now) if request.coupon_id else None
        tiers = program["tiers"]
        today = clock.business_date(now)
        tier_before = tier_for(tiers, growth_value(member.growth, today))
        points = order_points(request.amount_fen, program, tier_before["points_multiplier_pct"],
                              campaign_pct(program, paid_date(paid_at), member.birthday))
        plan = LedgerPlan(member, now=now, keep_years=program["points_expiry"]["keep_years"])
        available_at = paid_at + timedelta(days=program["order_points_pending_days"])
        if points and available_at > now:
            plan.hold(request.order_id, points, available_at)
        elif points:
            plan.add(points, "order", ref=request.order_id)
        growth = dict(member.growth)
        growth_year = earning_year(paid_at)
        growth[growth_year] = growth.get(growth_year, 0) + growth_yuan(request.amount_fen)
        tier_after = tier_for(tiers, growth_value(growth, today))
        base_tier = tiers[0]["code"]

        updates = [MemberUpdate(
            member, plan, growth=growth, tier=(tier_after["code"], base_tier),
            tier_change=tier_change(member.member_id, member.tier_code or base_tier, tier_after, "order", now),
            orders_count=member.orders_count + 1)]
        if member.referred_by and member.orders_count == 0:
            updates += _referral_rewards(member, plan, program, request.order_id, now)
        body = {
            "order_id": request.order_id, "points_awarded": points, "balance": plan.points.balance,
            "growth": growth_view(tiers, growth_value(growth, today)), "tier": tier_view(tier_after),
            "coupon": coupon_view(used, now) if used else None,
            "discount_fen": discount_fen(used, request.subtotal_fen) if used else 0,
        }
        order = Order(request.order_id, member.member_id, request.amount_fen, paid_at, points,
                      growth_year, digest, coupon_id=request.coupon_id)
        try:
            repo.commit(*updates, now=now, used=used,
                        order=NewOrder(order, request.subtotal_fen, request.store_id, request.items, body))
        except IdempotencyRecordExists:
            raise VersionConflict() from None  # recorded meanwhile: the next attempt replays it
        return 201, body

    return retrying(attempt)


def _use_coupon(coupon: Coupon | None, request: OrderRequest, paid_at: datetime, now: datetime) -> Coupon:
    """The member's coupon, marked used by this order, if it is usable on it (owner, status,
    validity at payment, threshold on the subtotal)."""
    if coupon is None:
        raise CouponNotUsable("优惠券不存在")
    reason = unusable_reason(coupon, request.subtotal_fen, paid_at)
    if reason:
        raise CouponNotUsable(reason)
    return replace(coupon, used_at=now.replace(microsecond=0), order_id=request.order_id)


def _referral_rewards(invitee: Member, plan: LedgerPlan, program: dict[str, Any], order_id: str,
                      now: datetime) -> list[MemberUpdate]:
    """Credit both sides of a referral on the invitee's first order (an extra read for the inviter)."""
    referral = program["referral"]
    if referral["invitee_points"]:
        plan.add(referral["invitee_points"], "referral", ref=order_id, note="受邀好友首单奖励")
    inviter, _ = store().member_with_program(invitee.referred_by or "")
    if inviter is None or not referral["inviter_points"]:
        return []
    inviter_plan = LedgerPlan(inviter, now=now, keep_years=program["points_expiry"]["keep_years"])
    inviter_plan.add(referral["inviter_points"], "referral", note="邀请好友首单奖励")
    return [MemberUpdate(inviter, inviter_plan)]


def record_refund(order_id: str, refund_id: str, amount_fen: int) -> tuple[int, dict[str, Any]]:
    """Claw back points and growth in proportion to the refunded total, idempotently by refund_id.
    Pending points of the order are cancelled first; the balance may go negative. A refund of the
    whole order gives its coupon back to the wallet if the coupon has not expired."""
    repo = store()
    key = f"refund:{order_id}:{refund_id}"
    digest = fingerprint("POST /v1/admin/orders/{order_id}/refunds", {"amount_fen": amount_fen})

    def attempt() -> tuple[int, dict[str, Any]]:
        order, stored = repo.order_with_answer(order_id, key)
        if stored:
            if stored.fingerprint != digest:
                raise OrderConflict("refund_id")
            return stored.status, stored.body
        if order is None:
            raise NotFound("订单不存在")
        outcome = refund_outcome(order, amount_fen)
        member, program, coupon = repo.member_with_coupon(order.member_id, order.coupon_id)
        if member is None:
            raise NotFound("会员不存在")
        now = clock.now()
        returned = coupon if coupon and coupon.order_id == order_id and \
            outcome.refunded_total == order.amount_fen and now < coupon.valid_until else None
        plan = LedgerPlan(member, now=now, keep_years=program["points_expiry"]["keep_years"])
        from_balance = outcome.points - plan.cancel_pending(order_id, outcome.points)
        if from_balance:
            plan.add(-from_balance, "refund", ref=order_id)
        growth = dict(member.growth)
        growth[order.growth_year] = growth.get(order.growth_year, 0) - outcome.growth
        tiers = program["tiers"]
        today = clock.business_date(now)
        tier_after = tier_for(tiers, growth_value(growth, today))
        base_tier = tiers[0]["code"]
        body = {"refund_id": refund_id, "points_clawed_back": outcome.points, "balance": plan.points.balance,
                "growth": growth_view(tiers, growth_value(growth, today)), "tier": tier_view(tier_after)}
        update = MemberUpdate(
            member, plan, growth=growth, tier=(tier_after["code"], base_tier),
            tier_change=tier_change(member.member_id, member.tier_code or base_tier, tier_after, "refund", now))
        try:
            repo.commit(update, now=now, answer=AnswerToStore(key, digest, 201, body), refund=(order, outcome),
                        released=released(returned) if returned else None)
        except IdempotencyRecordExists:
            raise VersionConflict() from None  # answered meanwhile: the next attempt replays it
        return 201, body

    return retrying(attempt)
