"""Checkout holds (§9): reserve a member's coupon and points while they pay, then confirm the
payment into an order (points spent, coupon used) or cancel. Each is one transaction after its
read (a cancel that cannot end the hold unread reads and writes again: see `cancel`); a hold is
idempotent by checkout_id, a confirm by order_id."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.domain.checkouts import CANCELLED, CONFIRMED, Checkout, checkout_view, points_discount_fen
from chalicelib.domain.coupons import Coupon, discount_fen, usable
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.program import Program
from chalicelib.errors import HoldClosed, NotFound, OrderConflict
from chalicelib.services import automations
from chalicelib.services.common import fingerprint
from chalicelib.services.figures import save_member
from chalicelib.services.orders import Decided, OrderRequest, decide_order
from chalicelib.services.runner import Command, Decision, run
from chalicelib.store import checkouts, coupons, members, orders, settings
from chalicelib.store.parts import Get, UnitOfWork, Write
from chalicelib.wechat.miniprogram import WeChatGateway


@dataclass(frozen=True)
class HoldRequest:
    """What the order system asks to hold (already validated)."""

    checkout_id: str
    member_id: str
    subtotal_fen: int
    coupon_id: str | None
    points_to_use: int
    expires_in_s: int


def hold(uow: UnitOfWork, request: HoldRequest) -> tuple[int, Any]:
    """Reserve the coupon and the points (oldest first) until `expires_in_s` from now: one read and
    one transaction. A replay of the same request answers the checkout as it is now; the same
    checkout_id with another body is OrderConflict."""
    digest = fingerprint("POST /v1/admin/checkouts", asdict(request))

    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        now = clock.now()
        recorded: Checkout | None = read["checkout"]
        if recorded is not None:
            if recorded.fingerprint != digest:
                raise OrderConflict("checkout_id")
            return Decision(checkout_view(recorded, read.get("coupon"), now), ())
        member: Member | None = read["member"]
        program: Program = read["program"]
        if member is None:
            raise NotFound("会员不存在")
        coupon, coupon_discount = _coupon_for(read.get("coupon"), request, now)
        points_off = points_discount_fen(request.points_to_use, request.subtotal_fen, coupon_discount,
                                         program.points_redemption)
        expires_at = now.replace(microsecond=0) + timedelta(seconds=request.expires_in_s)
        plan = LedgerPlan(member, now=now, keep_years=program.keep_years)
        if request.points_to_use:
            plan.reserve(request.checkout_id, request.points_to_use, expires_at)
        held = Checkout(request.checkout_id, member.member_id, request.subtotal_fen, request.coupon_id,
                        coupon_discount, request.points_to_use, points_off, expires_at, digest, now,
                        coupon=replace(coupon, held_by=request.checkout_id, held_until=expires_at) if coupon else None)
        writes: list[Write] = [checkouts.new(held)]
        if coupon is not None:
            writes.append(coupons.hold(coupon, request.checkout_id, expires_at, now))
        if request.points_to_use or plan.entries:
            writes += save_member(member, member, program, now, plan=plan)
        return Decision(checkout_view(held, held.coupon, now), writes)

    return run(uow, Command(_with_member(request.checkout_id, request.member_id, request.coupon_id), decide))


def _with_member(checkout_id: str, member_id: str, coupon_id: str | None) -> dict[str, Get[Any, Any]]:
    """A checkout with its member, the program and its coupon (if any): one read."""
    reads: dict[str, Get[Any, Any]] = {"checkout": checkouts.checkout(checkout_id),
                                       "member": members.member(member_id), "program": settings.program()}
    if coupon_id:
        reads["coupon"] = coupons.coupon(member_id, coupon_id)
    return reads


def _coupon_for(coupon: Coupon | None, request: HoldRequest, now: datetime) -> tuple[Coupon | None, int]:
    """The coupon to hold and what it takes off the subtotal ((None, 0) without one), if the order
    rules allow it now: the member's, unused, not held, valid, threshold met (else CouponNotUsable)."""
    if not request.coupon_id:
        return None, 0
    held = usable(coupon, request.subtotal_fen, now)
    return held, discount_fen(held, request.subtotal_fen)


def get(uow: UnitOfWork, checkout_id: str) -> dict[str, Any]:
    """A checkout with its coupon as it is now (NotFound when unknown): two reads with a coupon."""
    found: Checkout | None = uow.read(checkout=checkouts.checkout(checkout_id))["checkout"]
    if found is None:
        raise NotFound("结算单不存在")
    coupon = uow.read(coupon=coupons.coupon(found.member_id, found.coupon_id))["coupon"] if found.coupon_id else None
    return checkout_view(found, coupon, clock.now())


class _MemberNeeded(Exception):
    """The member's hold cannot be ended without reading the member (they owe points, or closed)."""


def cancel(uow: UnitOfWork, checkout_id: str) -> dict[str, Any]:
    """Release an open hold's coupon and points (cancelling again changes nothing; a confirmed
    checkout is HoldClosed): one read and one transaction, which ends the member's hold without
    reading the member (`members.end_hold`). When that cannot be (the member owes points, or has
    closed the account), two more: the checkout again with its member, program and coupon, and a
    transaction that ends the hold by a ledger plan (so a debt is paid in the figures too)."""
    seen: list[Checkout] = []

    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        found: Checkout | None = read["checkout"]
        if found is None:
            raise NotFound("结算单不存在")
        seen.append(found)
        now = clock.now()
        if found.status == CONFIRMED:
            raise HoldClosed(f"结算已确认为订单 {found.order_id}，不能取消")
        coupon = replace(found.coupon, held_by=None, held_until=None) if found.coupon else None
        answer = checkout_view(replace(found, status=CANCELLED), coupon, now)
        if found.status == CANCELLED:
            return Decision(answer, (), status=200)
        writes: list[Write] = [checkouts.close(found, CANCELLED, now)]
        if found.is_open(now):
            writes += release(found, read["member"], read["program"], read.get("coupon"), now) if "member" in read \
                else _end_hold(found, now)
        return Decision(answer, writes, status=200)

    try:
        return run(uow, Command({"checkout": checkouts.checkout(checkout_id)}, decide))[1]
    except _MemberNeeded:
        return run(uow, Command(_with_member(checkout_id, seen[-1].member_id, seen[-1].coupon_id), decide))[1]


def _end_hold(found: Checkout, now: datetime) -> list[Write]:
    """End an open hold of points and coupon without reading them (_MemberNeeded when that cannot be)."""
    writes: list[Write] = []
    if found.points_used:
        writes.append(members.end_hold(found.member_id, found.checkout_id, now, _MemberNeeded()))
    if found.coupon_id:
        writes.append(coupons.unhold(found.member_id, found.coupon_id, found.checkout_id, _MemberNeeded()))
    return writes


def release(found: Checkout, member: Member | None, program: Program, coupon: Coupon | None, now: datetime
            ) -> list[Write]:
    """End a checkout's hold from its member (settled by a ledger plan at `now`, which also returns
    any hold that lapsed) and its coupon as read, if they still hold it (a closed account holds
    nothing): cancel's slow path, and the `checkout-expiry` job's tidying."""
    writes: list[Write] = []
    if member is not None and member.points.hold_of(found.checkout_id) is not None:
        plan = LedgerPlan(member, now=now, keep_years=program.keep_years)
        plan.release_holds(found.checkout_id)
        writes += save_member(member, member, program, now, plan=plan)
    if coupon is not None and coupon.used_at is None and coupon.held_by == found.checkout_id:
        writes.append(coupons.unhold(coupon.member_id, coupon.coupon_id, found.checkout_id))
    return writes


@dataclass(frozen=True)
class Payment:
    """The payment that confirms a checkout (already validated)."""

    order_id: str
    amount_fen: int
    paid_at: datetime | None
    store_id: str | None
    items: list[dict[str, Any]] | None


def confirm(uow: UnitOfWork, checkout_id: str, payment: Payment, wechat: WeChatGateway | None = None
            ) -> tuple[int, Any]:
    """Record the checkout's order exactly as `orders.record_order` does, spending the held points
    (entry `checkout`) and using the held coupon, in one transaction; idempotent by order_id. After
    the hold lapsed it succeeds if the coupon and points can be taken again (else HoldExpired); a
    cancelled or already confirmed checkout is HoldClosed; an amount other than the amount due is
    OrderConflict. Three round trips: the checkout, then it with the member, then the write."""
    payload = {**asdict(payment), "checkout_id": checkout_id,
               "paid_at": payment.paid_at.isoformat() if payment.paid_at else None}
    digest = fingerprint("POST /v1/admin/checkouts/{checkout_id}/confirm", payload)
    key = orders.OrderKey(payment.order_id)
    first = uow.read(checkout=checkouts.checkout(checkout_id), answer=key.read)
    if first["answer"] is not None:
        if first["answer"].fingerprint != digest:
            raise OrderConflict("order_id")
        return first["answer"].status, first["answer"].body
    found: Checkout | None = first["checkout"]
    if found is None:
        raise NotFound("结算单不存在")
    request = OrderRequest(order_id=payment.order_id, member_id=found.member_id, amount_fen=payment.amount_fen,
                           subtotal_fen=found.subtotal_fen, paid_at=payment.paid_at, coupon_id=found.coupon_id,
                           store_id=payment.store_id, items=payment.items)
    decided: Decided = []

    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        current: Checkout = read["checkout"]
        if current.status == CANCELLED:
            raise HoldClosed()
        if current.status == CONFIRMED:
            raise HoldClosed(f"结算已确认为订单 {current.order_id}")
        if payment.amount_fen != current.amount_due_fen:
            raise OrderConflict(message=f"实付金额应为结算应付的 {current.amount_due_fen} 分")
        return decide_order(uow, read, request, digest, decided)

    reads = _with_member(checkout_id, found.member_id, found.coupon_id)  # an order's reads, and the checkout
    status, answer = run(uow, Command(reads, decide, key=key, fingerprint=digest,
                                      reused=lambda: OrderConflict("order_id")))
    automations.notify_decided(uow, wechat, decided, answer)
    return status, answer

