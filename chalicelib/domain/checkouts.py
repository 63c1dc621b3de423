"""Checkout holds (§9): what a member chose at checkout (a coupon, points as cash), reserved while
they pay, then confirmed into an order or cancelled.

A hold is open from its creation until `expires_at`; past it the hold has lapsed, for every read
and write, whether or not the `checkout-expiry` job has recorded it (`status` "expired").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import render
from chalicelib.domain.coupons import Coupon, coupon_view
from chalicelib.domain.program import PointsRedemption
from chalicelib.errors import LimitReached, ValidationError

HELD, CONFIRMED, CANCELLED, EXPIRED = "held", "confirmed", "cancelled", "expired"


@dataclass(frozen=True)
class Checkout:
    """A checkout hold as recorded; `coupon` is the coupon as the hold took it (as its order used
    it, once confirmed), `version` counts the record's writes."""

    checkout_id: str
    member_id: str
    subtotal_fen: int
    coupon_id: str | None
    coupon_discount_fen: int
    points_used: int
    points_discount_fen: int
    expires_at: datetime
    fingerprint: str
    created_at: datetime
    status: str = HELD
    order_id: str | None = None
    coupon: Coupon | None = None
    version: int = 0

    @property
    def amount_due_fen(self) -> int:
        """What the member pays: the subtotal less the coupon and the points."""
        return self.subtotal_fen - self.coupon_discount_fen - self.points_discount_fen

    def is_open(self, now: datetime) -> bool:
        """Whether the hold still reserves its coupon and points at `now`."""
        return self.status == HELD and now < self.expires_at

    def state(self, now: datetime) -> str:
        """`held`, `confirmed`, `cancelled`, or `expired` (a hold past `expires_at`)."""
        return EXPIRED if self.status in (HELD, EXPIRED) and now >= self.expires_at else self.status


def points_discount_fen(points_to_use: int, subtotal_fen: int, coupon_discount_fen: int,
                        rule: PointsRedemption) -> int:
    """What `points_to_use` take off (积分抵现): a ValidationError (field `points_to_use`) when points
    at checkout are off or the points are not whole yuan, LimitReached over `max_pct_of_amount`
    percent of the subtotal less the coupon."""
    if points_to_use == 0:
        return 0
    if not rule.enabled:
        raise ValidationError("积分抵现未开启", "points_to_use")
    if points_to_use % rule.points_per_yuan:
        per_yuan = rule.points_per_yuan
        raise ValidationError(f"points_to_use 应为 {per_yuan} 的整数倍（{per_yuan} 积分抵 1 元）", "points_to_use")
    discount = points_to_use * 100 // rule.points_per_yuan
    cap = rule.max_pct_of_amount * (subtotal_fen - coupon_discount_fen)  # in hundredths of a fen
    if discount * 100 > cap:
        raise LimitReached(f"积分最多抵扣订单金额的 {rule.max_pct_of_amount}%（{cap // 100} 分）")
    return discount


def checkout_view(checkout: Checkout, coupon: Coupon | None, now: datetime) -> dict[str, Any]:
    """The contract's Checkout, with the coupon as given (None without one)."""
    return {
        "checkout_id": checkout.checkout_id, "member_id": checkout.member_id, "status": checkout.state(now),
        "subtotal_fen": checkout.subtotal_fen, "coupon": coupon_view(coupon, now) if coupon else None,
        "coupon_discount_fen": checkout.coupon_discount_fen, "points_used": checkout.points_used,
        "points_discount_fen": checkout.points_discount_fen, "amount_due_fen": checkout.amount_due_fen,
        "expires_at": render(checkout.expires_at), "order_id": checkout.order_id,
    }
