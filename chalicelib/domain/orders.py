"""Order and refund rules (§6): growth, proportional clawback. The earn formula and campaigns are the
program's (`Program.order_points`, `Program.campaign_pct`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.clock import SHANGHAI, render
from chalicelib.errors import RefundExceedsOrder, ValidationError


@dataclass(frozen=True)
class Order:
    """An order as recorded: what was awarded, and what its refunds have taken back so far."""

    order_id: str
    member_id: str
    amount_fen: int
    paid_at: datetime
    points_awarded: int
    growth_year: int
    fingerprint: str
    coupon_id: str | None = None
    refunded_fen: int = 0
    points_clawed_back: int = 0
    version: int = 0
    subtotal_fen: int = 0
    discount_fen: int = 0
    points_used: int = 0  # points spent on it at checkout (§9), given back by a full refund


@dataclass(frozen=True)
class OrderDay:
    """A member's orders paid on one date: all of them, those not fully refunded, and their net spend
    (what RFM and the buyer figures need, kept on the member)."""

    orders: int
    live: int
    net_fen: int


@dataclass(frozen=True)
class Refund:
    """One recorded refund of an order; `seq` numbers an order's refunds from 1."""

    order_id: str
    seq: int
    refund_id: str
    amount_fen: int
    created_at: datetime


@dataclass(frozen=True)
class RefundOutcome:
    """What one refund changes: points to take back and growth (yuan) to remove."""

    refunded_total: int
    points: int
    growth: int


def growth_yuan(net_fen: int) -> int:
    """Growth is net spend in whole yuan."""
    return net_fen // 100


def paid_date(paid_at: datetime) -> date:
    """The Shanghai business date of a payment."""
    return paid_at.astimezone(SHANGHAI).date()


def refund_outcome(order: Order, amount_fen: int) -> RefundOutcome:
    """Cumulative, proportional clawback: a full refund takes back exactly what was awarded."""
    refunded_total = order.refunded_fen + amount_fen
    if refunded_total > order.amount_fen:
        raise RefundExceedsOrder(order.amount_fen - order.refunded_fen)
    awarded_share = order.points_awarded * refunded_total // order.amount_fen if order.amount_fen else 0
    points = awarded_share - order.points_clawed_back
    growth = growth_yuan(order.amount_fen - order.refunded_fen) - growth_yuan(order.amount_fen - refunded_total)
    return RefundOutcome(refunded_total, points, growth)


def check_paid_amount(amount_fen: int, subtotal_fen: int, discount: int) -> None:
    """With a subtotal sent and a coupon used, the member cannot have paid more than the subtotal
    less the coupon (§6 Order amounts); less is fine (other store promotions)."""
    if amount_fen > subtotal_fen - discount:
        most = subtotal_fen - discount
        raise ValidationError(f"实付金额不能超过订单金额减去优惠券抵扣（最多 {most} 分）", "amount_fen")


def order_view(order: Order, refunds: list[Refund]) -> dict[str, Any]:
    """An order for the merchant, with its refunds oldest first."""
    return {"order_id": order.order_id, "member_id": order.member_id, "amount_fen": order.amount_fen,
            "subtotal_fen": order.subtotal_fen, "paid_at": render(order.paid_at),
            "points_awarded": order.points_awarded, "points_clawed_back": order.points_clawed_back,
            "coupon_id": order.coupon_id, "discount_fen": order.discount_fen, "points_used": order.points_used,
            "refunds": [{"refund_id": r.refund_id, "amount_fen": r.amount_fen, "created_at": render(r.created_at)}
                        for r in refunds]}
