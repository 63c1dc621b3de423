"""The points mall (积分商城): rewards bought with points, either a coupon or a gift the merchant
ships (a fulfilment record)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import render
from chalicelib.domain.catalog_schema import REWARD_CREATE, REWARD_PATCH
from chalicelib.errors import AppError, Forbidden, LimitReached, NotFound, OutOfStock, ValidationError

ADDRESS_FIELDS = ("name", "phone", "region", "detail")
REWARD_FIELDS = ("name", "points_cost", "kind", "coupon_template_id", "stock", "per_member_limit", "tiers", "active")
FULFILMENT_STATUSES = ("pending", "shipped")


@dataclass(frozen=True)
class Reward:
    """A reward; `redeemed` counts redemptions (stock_left = stock - redeemed)."""

    reward_id: str
    name: str
    points_cost: int
    kind: str
    coupon_template_id: str | None
    stock: int | None
    per_member_limit: int | None
    tiers: list[str] | None
    active: bool
    redeemed: int = 0
    version: int = 0

    @property
    def stock_left(self) -> int | None:
        """Rewards still available, or None for unlimited."""
        return None if self.stock is None else max(0, self.stock - self.redeemed)

    def allows_tier(self, tier_code: str | None) -> bool:
        """Whether a member of this tier may redeem it (a visitor: only unrestricted rewards)."""
        return self.tiers is None or (tier_code is not None and tier_code in self.tiers)

    def refusal(self, redeemed: int, tier_code: str) -> AppError | None:
        """Why a member of `tier_code` who redeemed it `redeemed` times cannot redeem it once more;
        None if they can (the points are the ledger's to check)."""
        if not self.active:
            return NotFound("奖品不存在或已下架")
        if not self.allows_tier(tier_code):
            return Forbidden("当前会员等级不能兑换该奖品")
        if self.stock_left == 0:
            return OutOfStock("奖品已兑完")
        if self.per_member_limit is not None and redeemed >= self.per_member_limit:
            return LimitReached(f"每人限兑 {self.per_member_limit} 次")
        return None


@dataclass(frozen=True)
class Redemption:
    """One redemption; for a gift it is also the fulfilment the merchant ships."""

    redemption_id: str
    reward_id: str
    member_id: str
    reward_name: str
    kind: str
    points_spent: int
    created_at: datetime
    coupon_id: str | None = None
    status: str | None = None
    shipped_at: datetime | None = None
    note: str | None = None
    address: dict[str, str] | None = None


def validate_reward(doc: Any, *, current: Reward | None = None) -> dict[str, Any]:
    """A whole reward (create) or changed fields over `current` (patch), read by its declaration
    (`catalog_schema`) and checked as a whole. `kind` and `coupon_template_id` cannot change once
    created."""
    sent = (REWARD_PATCH if current else REWARD_CREATE).read(doc, "")
    if current is not None:
        for fixed in ("kind", "coupon_template_id"):
            if fixed in sent and sent[fixed] != getattr(current, fixed):
                raise ValidationError(f"{fixed} 创建后不能修改，请新建奖品", fixed)
    defaults = {"coupon_template_id": None, "stock": None, "per_member_limit": None, "tiers": None, "active": True}
    merged = {**defaults, **({n: getattr(current, n) for n in REWARD_FIELDS} if current else {}), **sent}
    if (merged["kind"] == "coupon") != (merged["coupon_template_id"] is not None):
        raise ValidationError("优惠券奖品需要 coupon_template_id，实物奖品不能设置", "coupon_template_id")
    if current is not None and merged["stock"] is not None and merged["stock"] < current.redeemed:
        raise ValidationError(f"库存不能少于已兑换的 {current.redeemed} 件", "stock")
    values = {name: merged[name] for name in REWARD_FIELDS}
    values["tiers"] = list(dict.fromkeys(merged["tiers"])) if merged["tiers"] else None
    return values


def reward_view(reward: Reward) -> dict[str, Any]:
    """The contract's Reward (the merchant's view adds `stock`)."""
    return {"reward_id": reward.reward_id, "name": reward.name, "points_cost": reward.points_cost,
            "kind": reward.kind, "coupon_template_id": reward.coupon_template_id, "stock_left": reward.stock_left,
            "per_member_limit": reward.per_member_limit, "tiers": reward.tiers, "active": reward.active}


def shipping_address(address: Any) -> dict[str, str] | None:
    """The Address kept with a gift's redemption: its four fields (the route checked their shape)."""
    if not address:
        return None
    return {name: address[name] for name in ADDRESS_FIELDS if address.get(name) is not None}


def redemption_view(redemption: Redemption) -> dict[str, Any]:
    """The contract's Redemption, as the member (and the merchant's member view) sees it."""
    return {"redemption_id": redemption.redemption_id, "reward_id": redemption.reward_id,
            "reward_name": redemption.reward_name, "kind": redemption.kind,
            "points_spent": redemption.points_spent, "created_at": render(redemption.created_at),
            "coupon_id": redemption.coupon_id, "address": redemption.address, "fulfilment": redemption.status,
            "shipped_at": render(redemption.shipped_at) if redemption.shipped_at else None,
            "note": redemption.note}


def fulfilment_view(redemption: Redemption) -> dict[str, Any]:
    """A gift to ship, for the merchant: the Redemption with the member and its `status`."""
    return {**redemption_view(redemption), "member_id": redemption.member_id, "status": redemption.status}
