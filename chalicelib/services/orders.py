"""The merchant's orders and refunds: points by the earn formula, growth, tiers, referral rewards,
coupons used and given back."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.domain.analytics import Tally, record_order_day, refund_order_day
from chalicelib.domain.checkouts import CONFIRMED, Checkout
from chalicelib.domain.coupons import Coupon, coupon_view, discount_fen, released, usable
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member, Regrade, member_tier, regrade
from chalicelib.domain.orders import Order, check_paid_amount, growth_yuan, order_view, paid_date, refund_outcome
from chalicelib.domain.points import earning_year
from chalicelib.domain.program import Program
from chalicelib.domain.tiers import growth_view, tier_view
from chalicelib.errors import CouponNotUsable, HoldExpired, NotFound, OrderConflict
from chalicelib.services import automations
from chalicelib.services.common import fingerprint
from chalicelib.services.figures import save_member
from chalicelib.services.runner import Command, Decision, run
from chalicelib.store import checkouts, coupons, members, orders, settings
from chalicelib.store.idempotency import RequestKey
from chalicelib.store.parts import Get, UnitOfWork, Write, every
from chalicelib.wechat.miniprogram import WeChatGateway


@dataclass(frozen=True)
class OrderRequest:
    """A paid order as the merchant's order system reports it (already validated)."""

    order_id: str
    member_id: str
    amount_fen: int
    subtotal_fen: int | None  # None: not sent (the subtotal is then `amount_fen`)
    paid_at: datetime | None
    coupon_id: str | None
    store_id: str | None
    items: list[dict[str, Any]] | None

    @property
    def subtotal(self) -> int:
        """The amount before the coupon: `subtotal_fen`, or `amount_fen` when it was not sent."""
        return self.amount_fen if self.subtotal_fen is None else self.subtotal_fen


Decided = list[tuple[automations.OrderAutomations, dict[str, Any]]]  # what an order's automations decided


def record_order(uow: UnitOfWork, request: OrderRequest, wechat: WeChatGateway | None = None) -> tuple[int, Any]:
    """Award an order's points and growth, idempotently by order_id: one read and one transaction
    (two reads for an invitee's first order, which also credits the inviter). With a usable coupon
    and `subtotal_fen` sent, paying more than the subtotal less the coupon is a ValidationError
    (field `amount_fen`) after the coupon's own checks (CouponNotUsable). Automations: see
    `services.automations.on_order` (in the same transaction; notices once it is committed)."""
    payload = {**asdict(request), "subtotal_fen": request.subtotal,
               "paid_at": request.paid_at.isoformat() if request.paid_at else None}
    digest = fingerprint("POST /v1/admin/orders", payload)
    decided: Decided = []
    status, answer = run(uow, Command(_order_reads(request),
                                      lambda read: decide_order(uow, read, request, digest, decided),
                                      key=orders.OrderKey(request.order_id), fingerprint=digest,
                                      reused=lambda: OrderConflict("order_id")))
    automations.notify_decided(uow, wechat, decided, answer)
    return status, answer


def decide_order(uow: UnitOfWork, read: dict[str, Any], request: OrderRequest, digest: str, decided: Decided
                 ) -> Decision[dict[str, Any]]:
    """An order from what was read (`member`, `program`, `coupon`; and `checkout` when it confirms a
    checkout hold, whose points it spends and whose coupon it uses): its answer and its writes. The
    automations it decided go into `decided`, to be notified once committed."""
    member: Member | None = read["member"]
    program: Program = read["program"]
    checkout: Checkout | None = read.get("checkout")
    if member is None:
        raise NotFound("会员不存在")
    now = clock.now()
    paid_at = request.paid_at or now
    paid_on = paid_date(paid_at)
    subtotal = request.subtotal
    used, discount = _coupon_on(read.get("coupon"), request, subtotal, paid_at, now, checkout)
    plan = LedgerPlan(member, now=now, keep_years=program.keep_years)
    if checkout is not None and checkout.points_used:
        plan.spend_held(checkout.checkout_id, checkout.points_used, ref=request.order_id)
    points = program.order_points(request.amount_fen, member_tier(member, program, now).points_multiplier_pct,
                                  program.campaign_pct(paid_on, member.birthday))
    _award(plan, request.order_id, points, paid_at, paid_at + timedelta(days=program.order_points_pending_days))
    graded = regrade(member, program, earning_year(paid_at), growth_yuan(request.amount_fen), "order", now)
    holder = checkout.checkout_id if checkout else None
    writes: list[Write] = [coupons.use(used, now, checkout_id=holder)] if used else []
    if member.referred_by and member.orders_count == 0:
        writes += _referral_rewards(uow, member, plan, program, request.order_id, now)
    order_days, ordered = record_order_day(member.order_days, paid_on, request.amount_fen,
                                           discount if used else None)
    after = replace(member, growth=graded.growth, tier_code=graded.tier.code, orders_count=member.orders_count + 1,
                    order_days=order_days)
    auto = automations.on_order(uow, after, program, plan, request.order_id, paid_at, request.amount_fen)
    answer = {"order_id": request.order_id, "points_awarded": points, "balance": plan.points.balance,
              **_standing(program, graded, now), "coupon": coupon_view(used, now) if used else None,
              "discount_fen": discount, **({"automations": auto.answers} if auto.answers else {})}
    if checkout is not None:
        answer.update(points_used=checkout.points_used, points_discount_fen=checkout.points_discount_fen)
        writes.append(checkouts.close(checkout, CONFIRMED, now, order_id=request.order_id, coupon=used))
    order = Order(request.order_id, member.member_id, request.amount_fen, paid_at, points,
                  earning_year(paid_at), digest, coupon_id=request.coupon_id, subtotal_fen=subtotal,
                  discount_fen=discount, points_used=checkout.points_used if checkout else 0)
    writes = [orders.new(order, store_id=request.store_id, items=request.items, answer=answer, now=now),
              *save_member(member, auto.member, program, now, plan=plan, active_on=paid_on, tally=ordered,
                           tier_change=graded.change), *writes, *auto.writes]
    decided.append((auto, answer))
    return Decision(answer, writes)


def _order_reads(request: OrderRequest) -> dict[str, Get[Any, Any]]:
    """An order's first read: the member, the program and the coupon used (if any)."""
    reads: dict[str, Get[Any, Any]] = {"member": members.member(request.member_id), "program": settings.program()}
    if request.coupon_id:
        reads["coupon"] = coupons.coupon(request.member_id, request.coupon_id)
    return reads


def _award(plan: LedgerPlan, order_id: str, points: int, paid_at: datetime, available_at: datetime) -> LedgerPlan:
    """An order's points: pending until `available_at` when it is still to come, else spendable at once;
    the figures count them on the paid date either way."""
    if points and available_at > plan.now:
        plan.hold(order_id, points, available_at, on=paid_date(paid_at))
    elif points:
        plan.add(points, "order", ref=order_id, on=paid_date(paid_at))
    return plan


def _standing(program: Program, graded: Regrade, now: datetime) -> dict[str, Any]:
    """An answer's `growth` (Member.growth) and `tier` after an order or a refund."""
    return {"growth": growth_view(program, graded.growth, clock.business_date(now)), "tier": tier_view(graded.tier)}


def _coupon_on(coupon: Coupon | None, request: OrderRequest, subtotal_fen: int, paid_at: datetime,
               now: datetime, checkout: Checkout | None) -> tuple[Coupon | None, int]:
    """The order's coupon marked used, and what it takes off the subtotal ((None, 0) without one);
    with the subtotal sent, the amount paid must not exceed the subtotal less that. A checkout's
    open hold has reserved its coupon; after the hold lapsed the coupon must be usable again
    (else HoldExpired)."""
    if not request.coupon_id:
        return None, 0
    if checkout is None:
        found = usable(coupon, subtotal_fen, paid_at, now=now)
        discount = discount_fen(found, subtotal_fen)
        if request.subtotal_fen is not None:
            check_paid_amount(request.amount_fen, subtotal_fen, discount)
    else:
        found, discount = _held_coupon(coupon, subtotal_fen, paid_at, now, checkout), checkout.coupon_discount_fen
    return replace(found, used_at=now.replace(microsecond=0), order_id=request.order_id), discount


def _held_coupon(coupon: Coupon | None, subtotal_fen: int, paid_at: datetime, now: datetime,
                 checkout: Checkout) -> Coupon:
    """The coupon a checkout holds: as held while the hold is open; after it lapsed, only if the
    order rules allow it again (else HoldExpired)."""
    if coupon is not None and checkout.is_open(now):
        return coupon
    try:
        return usable(coupon, subtotal_fen, paid_at, now=now, checkout_id=checkout.checkout_id)
    except CouponNotUsable as refused:
        raise HoldExpired(f"结算已超时，{refused.message}") from None


def _referral_rewards(uow: UnitOfWork, invitee: Member, plan: LedgerPlan, program: Program, order_id: str,
                      now: datetime) -> list[Write]:
    """Credit both sides of a referral on the invitee's first order (an extra read for the inviter)."""
    if program.referral.invitee_points:
        plan.add(program.referral.invitee_points, "referral", ref=order_id, note="受邀好友首单奖励")
    inviter: Member | None = uow.read(inviter=members.member(invitee.referred_by or ""))["inviter"]
    if inviter is None or not program.referral.inviter_points:
        return []
    inviter_plan = LedgerPlan(inviter, now=now, keep_years=program.keep_years)
    inviter_plan.add(program.referral.inviter_points, "referral", note="邀请好友首单奖励")
    return save_member(inviter, inviter, program, now, plan=inviter_plan)


def record_refund(uow: UnitOfWork, order_id: str, refund_id: str, amount_fen: int) -> tuple[int, Any]:
    """Claw back points and growth in proportion to the refunded total, idempotently by refund_id.
    Pending points of the order are cancelled first; the balance may go negative. A refund of the
    whole order gives its coupon back to the wallet if the coupon has not expired, and the points
    spent on it at checkout back to the balance (a `refund` entry)."""
    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        order: Order | None = read["order"]
        if order is None:
            raise NotFound("订单不存在")
        outcome = refund_outcome(order, amount_fen)
        reads: dict[str, Get[Any, Any]] = {"member": members.member(order.member_id), "program": settings.program()}
        if order.coupon_id:
            reads["coupon"] = coupons.coupon(order.member_id, order.coupon_id)
        more = uow.read(**reads)
        member: Member | None = more["member"]
        if member is None:
            raise NotFound("会员不存在")
        program: Program = more["program"]
        now = clock.now()
        plan = LedgerPlan(member, now=now, keep_years=program.keep_years)
        from_balance = outcome.points - plan.cancel_pending(order_id, outcome.points)
        if from_balance:
            plan.add(-from_balance, "refund", ref=order_id)
        whole = outcome.refunded_total == order.amount_fen > order.refunded_fen
        if whole and order.points_used:
            plan.add(order.points_used, "refund", ref=order_id, note="退还结算时抵现的积分")
        graded = regrade(member, program, order.growth_year, -outcome.growth, "refund", now)
        order_days = refund_order_day(member.order_days, paid_date(order.paid_at), amount_fen, whole=whole)
        after = replace(member, growth=graded.growth, tier_code=graded.tier.code, order_days=order_days)
        writes: list[Write] = [*orders.refund(order, outcome, refund_id, amount_fen, now),
                               *save_member(member, after, program, now, plan=plan, tier_change=graded.change,
                                            tally=Tally().count(clock.business_date(now), refunded_fen=amount_fen))]
        coupon: Coupon | None = more.get("coupon")
        if coupon and coupon.order_id == order_id and outcome.refunded_total == order.amount_fen and \
                now < coupon.valid_until:
            writes.append(coupons.give_back(released(coupon)))
        answer = {"refund_id": refund_id, "points_clawed_back": outcome.points, "balance": plan.points.balance,
                  **_standing(program, graded, now)}
        return Decision(answer, writes)

    digest = fingerprint("POST /v1/admin/orders/{order_id}/refunds", {"amount_fen": amount_fen})
    return run(uow, Command({"order": orders.order(order_id)}, decide, key=RequestKey(f"refund:{order_id}:{refund_id}"),
                            fingerprint=digest, reused=lambda: OrderConflict("refund_id")))


def get_order(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    """A recorded order with its refunds, for the merchant (NotFound when unknown): one read and
    one Query."""
    order: Order | None = uow.read(order=orders.order(order_id))["order"]
    if order is None:
        raise NotFound("订单不存在")
    return order_view(order, every(uow, lambda cursor: orders.refunds(order_id, cursor)))
