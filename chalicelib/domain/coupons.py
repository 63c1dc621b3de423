"""Coupons (优惠券): templates the merchant defines, coupons a member holds, and the rules that
decide what a coupon is worth on an order. Status is derived at read time: a coupon whose
`valid_until` has passed reads `expired` the instant it passes."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.clock import parse_instant, render, shanghai_start_of
from chalicelib.domain.catalog_schema import TEMPLATE_CREATE, TEMPLATE_PATCH
from chalicelib.errors import AppError, CouponNotUsable, Forbidden, LimitReached, NotFound, OutOfStock, ValidationError

SOURCES = ("claim", "redeem", "signup", "birthday", "member_day", "admin", "referral", "automation")
TEMPLATE_FIELDS = ("name", "kind", "amount_off_fen", "percent_off_pct", "max_discount_fen", "min_spend_fen",
                   "validity", "total_stock", "per_member_limit", "claimable", "tiers", "active")
TEMPLATE_DEFAULTS = {"amount_off_fen": None, "percent_off_pct": None, "max_discount_fen": None, "min_spend_fen": 0,
                     "total_stock": None, "per_member_limit": None, "claimable": False, "tiers": None, "active": True}
KIND_FIELDS = {"amount_off_fen": ("amount_off",), "percent_off_pct": ("percent_off",),
               "max_discount_fen": ("percent_off",)}
VALIDITY_YEARS = (2000, 2100)  # a fixed validity's bounds must lie in these years
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class Template:
    """A coupon template; `issued` counts the coupons made from it (stock_left = total - issued)."""

    template_id: str
    name: str
    kind: str
    amount_off_fen: int | None
    percent_off_pct: int | None
    max_discount_fen: int | None
    min_spend_fen: int
    validity: dict[str, Any]
    total_stock: int | None
    per_member_limit: int | None
    claimable: bool
    tiers: list[str] | None
    active: bool
    issued: int = 0
    version: int = 0

    @property
    def stock_left(self) -> int | None:
        """Coupons still to give, or None for unlimited."""
        return None if self.total_stock is None else max(0, self.total_stock - self.issued)

    def allows_tier(self, tier_code: str | None) -> bool:
        """Whether a member of this tier may get it (a visitor: only unrestricted templates)."""
        return self.tiers is None or (tier_code is not None and tier_code in self.tiers)

    def ended(self, now: datetime) -> bool:
        """Whether a fixed validity has ended by `now` (its coupons would be born expired)."""
        return self.validity["type"] == "fixed" and now >= _fixed_window(self.validity)[1]

    def refusal(self, claimed: int, *, now: datetime, tier_code: str | None = None,
                issuing: int = 0) -> AppError | None:
        """Why one more coupon cannot go to a member who has `claimed` of them at `now`, while
        `issuing` others go out in the same step; None if it can. The tier applies when `tier_code`
        is given (a reward or the signup gift decides it for itself)."""
        if not self.active:
            return NotFound("优惠券不存在或已下架")
        if self.ended(now):
            return NotFound("优惠券已过期")
        if tier_code is not None and not self.allows_tier(tier_code):
            return Forbidden("当前会员等级不能领取该优惠券")
        if self.stock_left is not None and self.stock_left <= issuing:
            return OutOfStock("优惠券已领完")
        if self.per_member_limit is not None and claimed >= self.per_member_limit:
            return LimitReached(f"每人限领 {self.per_member_limit} 张")
        return None


@dataclass(frozen=True)
class Coupon:
    """A coupon in a member's wallet."""

    member_id: str
    coupon_id: str
    template_id: str
    name: str
    kind: str
    amount_off_fen: int | None
    percent_off_pct: int | None
    max_discount_fen: int | None
    min_spend_fen: int
    valid_from: datetime
    valid_until: datetime
    source: str
    obtained_at: datetime
    used_at: datetime | None = None
    order_id: str | None = None
    held_by: str | None = None  # the checkout holding it (§9), until `held_until`
    held_until: datetime | None = None

    def status(self, now: datetime) -> str:
        """`used`, `expired` (the instant valid_until passes) or `unused`."""
        if self.used_at is not None:
            return "used"
        return "expired" if now >= self.valid_until else "unused"

    def held(self, now: datetime, *, by_other_than: str | None = None) -> bool:
        """Whether an open checkout hold (other than `by_other_than`'s) reserves it at `now`."""
        return (self.used_at is None and self.held_by is not None and self.held_by != by_other_than
                and self.held_until is not None and now < self.held_until)


def validate_template(doc: Any, *, current: Template | None = None) -> dict[str, Any]:
    """A whole template (create) or the changed fields merged over `current` (patch), read by its
    declaration (`catalog_schema`) and then checked as a whole; the ValidationError names the field."""
    sent = (TEMPLATE_PATCH if current else TEMPLATE_CREATE).read(doc, "")
    merged = {**TEMPLATE_DEFAULTS, **(_fields(current) if current else {}), **sent}
    kind = merged["kind"]
    for field, kinds in KIND_FIELDS.items():
        if kind not in kinds and merged.get(field) is not None:
            raise ValidationError(f"{kind} 类型的优惠券不能设置 {field}", field)
    if kind == "amount_off" and merged.get("amount_off_fen") is None:
        raise ValidationError("满减券需要 amount_off_fen", "amount_off_fen")
    if kind == "percent_off" and merged.get("percent_off_pct") is None:
        raise ValidationError("折扣券需要 percent_off_pct", "percent_off_pct")
    if current is not None and merged["total_stock"] is not None and merged["total_stock"] < current.issued:
        raise ValidationError(f"总库存不能少于已发放的 {current.issued} 张", "total_stock")
    values = {name: merged.get(name) for name in TEMPLATE_FIELDS}
    values["validity"] = _validity(merged["validity"])
    values["tiers"] = list(dict.fromkeys(merged["tiers"])) if merged["tiers"] else None
    return values


def _fields(template: Template) -> dict[str, Any]:
    return {name: getattr(template, name) for name in TEMPLATE_FIELDS}


def _validity(validity: dict[str, Any]) -> dict[str, Any]:
    """A validity as stored: a relative one as read; a fixed one with its bounds normalised and
    its end after its start."""
    if validity["type"] == "relative":
        return validity
    fixed = {"type": "fixed", "start": _fixed_bound(validity, "start"), "end": _fixed_bound(validity, "end")}
    start, end = _fixed_window(fixed)
    if end <= start:
        raise ValidationError("有效期结束时间必须晚于开始时间", "validity.end")
    return fixed


def _fixed_bound(validity: dict[str, Any], name: str) -> str:
    """A fixed validity's `start` or `end` as stored: a date `YYYY-MM-DD`, or an instant with an
    offset (kept to the second, rendered in Shanghai time); years 2000..2100 only."""
    field, text = f"validity.{name}", validity.get(name)
    if not isinstance(text, str) or len(text) > 40:
        raise ValidationError("有效期应为日期 YYYY-MM-DD 或带时区的 ISO 8601 时间", field)
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            _check_year(day.year, field)
            return text
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("有效期应为真实的日期 YYYY-MM-DD 或带时区的 ISO 8601 时间", field) from None
    if instant.tzinfo is None:
        raise ValidationError("有效期时间必须带时区，例如 2026-11-22T09:30:00+08:00", field)
    _check_year(instant.year, field)
    return render(instant)


def _check_year(year: int, field: str) -> None:
    if not VALIDITY_YEARS[0] <= year <= VALIDITY_YEARS[1]:
        raise ValidationError(f"有效期年份应在 {VALIDITY_YEARS[0]} 至 {VALIDITY_YEARS[1]} 之间", field)


def _fixed_window(validity: dict[str, Any]) -> tuple[datetime, datetime]:
    """[start, end) of a fixed validity: a date starts at 00:00 Shanghai and a date as `end` runs
    until 00:00 Shanghai of the next day; an instant is exactly that instant. Dates stored before
    years were bounded are clamped to the bounds."""
    def instant(text: str, *, end: bool) -> datetime:
        if _DATE.match(text):
            day = min(max(date.fromisoformat(text), date(VALIDITY_YEARS[0], 1, 1)), date(VALIDITY_YEARS[1], 12, 31))
            return shanghai_start_of(day + timedelta(days=1) if end else day)
        return parse_instant(text)

    return instant(validity["start"], end=False), instant(validity["end"], end=True)


def validity_window(template: Template, obtained_at: datetime) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a coupon obtained at `obtained_at`: a fixed template's window
    (dates from 00:00 Shanghai on `start` to 00:00 Shanghai after `end`, or exactly its instants); a
    relative one for N days."""
    if template.validity["type"] == "fixed":
        return _fixed_window(template.validity)
    return obtained_at, obtained_at + timedelta(days=template.validity["days"])


def new_coupon(template: Template, member_id: str, coupon_id: str, source: str, now: datetime) -> Coupon:
    """A coupon made from a template for a member, now."""
    valid_from, valid_until = validity_window(template, now)
    return Coupon(member_id, coupon_id, template.template_id, template.name, template.kind,
                  template.amount_off_fen, template.percent_off_pct, template.max_discount_fen,
                  template.min_spend_fen, valid_from, valid_until, source, now)


def discount_fen(coupon: Coupon, subtotal_fen: int) -> int:
    """What the coupon takes off a subtotal: 满减 amount, 折扣 (capped), or 0 for a gift."""
    if coupon.kind == "amount_off":
        return min(coupon.amount_off_fen or 0, subtotal_fen)
    if coupon.kind == "percent_off":
        off = subtotal_fen - subtotal_fen * (coupon.percent_off_pct or 100) // 100
        return min(off, coupon.max_discount_fen) if coupon.max_discount_fen is not None else off
    return 0


def unusable_reason(coupon: Coupon, subtotal_fen: int, at: datetime, *, now: datetime | None = None,
                    checkout_id: str | None = None) -> str | None:
    """Why the coupon cannot be used on an order of `subtotal_fen` paid at `at`, or None if it can:
    used, held at `now` (default `at`) by a checkout other than `checkout_id`, outside its validity
    at `at`, or below its threshold."""
    if coupon.used_at is not None:
        return "优惠券已使用"
    if coupon.held(now or at, by_other_than=checkout_id):
        return "优惠券正在另一笔订单结算中"
    if at >= coupon.valid_until:
        return "优惠券已过期"
    if at < coupon.valid_from:
        return "优惠券尚未生效"
    if subtotal_fen < coupon.min_spend_fen:
        return f"订单金额未满 {coupon.min_spend_fen} 分"
    return None


def usable(coupon: Coupon | None, subtotal_fen: int, at: datetime, *, now: datetime | None = None,
           checkout_id: str | None = None) -> Coupon:
    """The coupon, if the order rules allow it on `subtotal_fen` paid at `at` (`unusable_reason`);
    else CouponNotUsable (also when the member has no such coupon)."""
    if coupon is None:
        raise CouponNotUsable("优惠券不存在")
    reason = unusable_reason(coupon, subtotal_fen, at, now=now, checkout_id=checkout_id)
    if reason:
        raise CouponNotUsable(reason)
    return coupon


def released(coupon: Coupon) -> Coupon:
    """The coupon back in the wallet after its order was fully refunded."""
    return replace(coupon, used_at=None, order_id=None, held_by=None, held_until=None)


def template_view(template: Template) -> dict[str, Any]:
    """The contract's CouponTemplate (plus `max_discount_fen`)."""
    return {
        "template_id": template.template_id, "name": template.name, "kind": template.kind,
        "amount_off_fen": template.amount_off_fen, "percent_off_pct": template.percent_off_pct,
        "max_discount_fen": template.max_discount_fen, "min_spend_fen": template.min_spend_fen,
        "validity": template.validity, "total_stock": template.total_stock, "stock_left": template.stock_left,
        "per_member_limit": template.per_member_limit, "claimable": template.claimable,
        "tiers": template.tiers, "active": template.active,
    }


def coupon_view(coupon: Coupon, now: datetime) -> dict[str, Any]:
    """The contract's Coupon (plus `max_discount_fen`)."""
    return {
        "coupon_id": coupon.coupon_id, "template_id": coupon.template_id, "name": coupon.name,
        "kind": coupon.kind, "amount_off_fen": coupon.amount_off_fen, "percent_off_pct": coupon.percent_off_pct,
        "max_discount_fen": coupon.max_discount_fen, "min_spend_fen": coupon.min_spend_fen,
        "valid_from": render(coupon.valid_from), "valid_until": render(coupon.valid_until),
        "status": coupon.status(now), "source": coupon.source, "obtained_at": render(coupon.obtained_at),
        "used_at": render(coupon.used_at) if coupon.used_at else None, "order_id": coupon.order_id,
        "held": coupon.held(now),
    }
