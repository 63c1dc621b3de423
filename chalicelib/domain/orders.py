"""Order and refund rules (§6): growth, proportional clawback. The earn formula and campaigns are the
program's (`Program.order_points`, `Program.campaign_pct`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.clock import SHANGHAI
from chalicelib.errors import RefundExceedsOrder


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
