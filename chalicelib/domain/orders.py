"""Order and refund rules (§6): the earn formula, campaigns, growth, proportional clawback."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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


def campaign_pct(program: dict[str, Any], paid_on: date, birthday: str | None) -> int:
    """The larger of the member-day and birthday-month multipliers that apply on `paid_on`, else 100."""
    applicable = [100]
    if paid_on.day in program["member_days"]["days_of_month"]:
        applicable.append(program["member_days"]["multiplier_pct"])
    if birthday and int(birthday[5:7]) == paid_on.month:
        applicable.append(program["birthday"]["multiplier_pct"])
    return max(applicable)


def order_points(amount_fen: int, program: dict[str, Any], tier_pct: int, campaign: int) -> int:
    """`amount_fen * points_per_yuan * tier_pct * campaign_pct // 1_000_000`."""
    return amount_fen * program["points_per_yuan"] * tier_pct * campaign // 1_000_000


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
