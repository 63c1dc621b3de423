"""Coupons: the merchant's templates, the coupon center, claiming, the wallet and the checkout picker."""
from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.coupons import (
    Coupon,
    Template,
    coupon_view,
    discount_fen,
    new_coupon,
    template_view,
    unusable_reason,
    validate_template,
)
from chalicelib.domain.member import member_tier
from chalicelib.domain.tokens import Principal
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationError
from chalicelib.services.common import (
    decode_cursor,
    encode_cursor,
    fingerprint,
    read_for_member,
    replay,
    resolve_member,
    retrying,
    tier_of,
)
from chalicelib.store.base import IdempotencyRecordExists, VersionConflict
from chalicelib.store.repository import AnswerToStore, IssuedCoupons, store

STATUSES = ("unused", "used", "expired")


def new_coupon_id(now: datetime) -> str:
    """A unique, roughly time-ordered coupon id."""
    return f"c{int(now.timestamp() * 1000):x}{secrets.token_hex(5)}"


# ---- the merchant's templates ----------------------------------------------------------------

def create_template(document: Any) -> dict[str, Any]:
    """Validate and store a new template."""
    values = validate_template(document)
    template = Template(template_id="t" + secrets.token_hex(8), **values)
    store().save_template(template, clock.now())
    return template_view(template)


def patch_template(template_id: str, changes: Any) -> dict[str, Any]:
    """Change some fields of a template (the result is validated as a whole)."""
    def attempt() -> dict[str, Any]:
        current = store().template(template_id)
        if current is None:
            raise NotFound("优惠券模板不存在")
        updated = replace(current, **validate_template(changes, current=current))
        store().update_template(updated)
        return template_view(replace(updated, version=current.version + 1))

    return retrying(attempt)


def list_templates() -> dict[str, Any]:
    """Every template, for the merchant."""
    return {"items": [template_view(t) for t in store().templates()]}


# ---- the member's side -----------------------------------------------------------------------

def coupon_center(principal: Principal | None) -> dict[str, Any]:
    """Active, claimable templates with stock left; a member sees those their tier allows, a
    visitor those open to every tier. One Query, and one more read for the member's tier only
    when some template is restricted to tiers."""
    offered = [t for t in store().templates() if t.active and t.claimable and t.stock_left != 0]
    tier = tier_of(principal) if any(t.tiers for t in offered) else None
    return {"items": [template_view(t) for t in offered if t.allows_tier(tier)]}


def claim(principal: Principal, template_id: str, request_id: str) -> tuple[int, Any]:
    """Take a coupon from the coupon center: stock and the per-member limit are checked in the
    same transaction that issues it; idempotent by request_id (one read, one transaction)."""
    digest = fingerprint("POST /v1/coupon-center/{template_id}/claim", {"template_id": template_id})

    def attempt() -> tuple[int, Any]:
        context, member = read_for_member(
            principal, lambda member_id: store().claim_context(
                member_id, [template_id], f"member:{member_id}:{request_id}"), lambda c: c[0])
        _, program, templates, claims, stored = context
        key = f"member:{member.member_id}:{request_id}"
        if stored:
            return replay(stored, digest)
        template = templates.get(template_id)
        if template is None or not template.active or not template.claimable:
            raise NotFound("优惠券不存在或已下架")
        now = clock.now()
        if not template.allows_tier(member_tier(member, program, now)["code"]):
            raise Forbidden("当前会员等级不能领取该优惠券")
        coupon = issue_check(template, claims.get(template_id, 0), member.member_id, "claim", now)
        body = coupon_view(coupon, now)
        try:
            store().commit(now=now, answer=AnswerToStore(key, digest, 201, body),
                           issued=[IssuedCoupons(template, [(coupon, claims.get(template_id, 0))])])
        except IdempotencyRecordExists:
            raise VersionConflict() from None  # answered meanwhile: the next attempt replays it
        return 201, body

    return retrying(attempt)


def issue_check(template: Template, claimed: int, member_id: str, source: str, now: datetime) -> Coupon:
    """A new coupon of `template` for the member, if stock and the member's limit allow it."""
    if template.stock_left == 0:
        raise Conflict("OUT_OF_STOCK", "优惠券已领完")
    if template.per_member_limit is not None and claimed >= template.per_member_limit:
        raise Conflict("LIMIT_REACHED", f"每人限领 {template.per_member_limit} 张")
    now = now.replace(microsecond=0)
    return new_coupon(template, member_id, new_coupon_id(now), source, now)


def gift_coupons(member_id: str, program: dict[str, Any], now: datetime) -> list[IssuedCoupons]:
    """The signup gift's coupons (`signup_gift.coupon_template_ids`) for a new member; templates
    that are inactive or out of stock are skipped rather than failing the signup."""
    template_ids = program["signup_gift"]["coupon_template_ids"]
    if not template_ids:
        return []
    _, _, templates, _, _ = store().claim_context(member_id, template_ids, None)
    return [IssuedCoupons(t, [(new_coupon(t, member_id, new_coupon_id(now), "signup", now.replace(microsecond=0)), 0)])
            for t in templates.values() if t.active and t.stock_left != 0]


def wallet(principal: Principal, status: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The member's coupons of one status, a page at a time: one Query when the token names the
    member. Closing an account removes its coupons, so only an empty first page needs a check
    that the member still exists (or now is someone new)."""
    start = decode_cursor(cursor, ("member_id", "coupon_id", "wallet_key"))
    member_id = principal.member_id
    if start is not None and (member_id is None or start["member_id"]["S"] != member_id):
        member_id = resolve_member(store(), principal)[0].member_id
        if start["member_id"]["S"] != member_id:
            raise ValidationError("cursor is invalid")
    now = clock.now()
    coupons, after = store().wallet_page(member_id, status, now, limit=limit, start=start) \
        if member_id else ([], None)
    if not coupons and start is None:
        member, _ = resolve_member(store(), principal)
        if member.member_id != member_id:
            coupons, after = store().wallet_page(member.member_id, status, now, limit=limit, start=None)
    return {"items": [coupon_view(c, now) for c in coupons], "next_cursor": encode_cursor(after)}


def get_coupon(principal: Principal, coupon_id: str) -> dict[str, Any]:
    """One of the member's coupons; anyone else's is not found."""
    member, _ = resolve_member(store(), principal)
    coupon = store().coupon(member.member_id, coupon_id)
    if coupon is None:
        raise NotFound("优惠券不存在")
    return coupon_view(coupon, clock.now())


def usable(principal: Principal, subtotal_fen: int) -> dict[str, Any]:
    """The checkout picker: unused coupons valid now whose threshold the subtotal meets, best
    discount first."""
    member, _ = resolve_member(store(), principal)
    now = clock.now()
    found: list[Coupon] = []
    start = None
    while True:
        page, start = store().wallet_page(member.member_id, "unused", now, limit=100, start=start)
        found += [c for c in page if unusable_reason(c, subtotal_fen, now) is None]
        if start is None:
            break
    ranked = sorted(found, key=lambda c: (-discount_fen(c, subtotal_fen), c.valid_until))
    return {"items": [{**coupon_view(c, now), "discount_fen": discount_fen(c, subtotal_fen)} for c in ranked]}


# Members per batch: the batch's read holds each member and its count plus the program, the
# template and the answer, within the 25 items TransactGetItems allows everywhere (moto, DynamoDB
# Local); its write a coupon and a count each, the template and the answer.
ISSUE_BATCH = 11


def issue_to_members(template_id: str, member_ids: list[str], request_id: str, actor: str) -> tuple[int, Any]:
    """Targeted issue: one coupon of the template to each listed member, in batches of 11 (one
    read and one transaction each). Per-member limits, tiers and stock still apply; members who
    cannot get one are counted as skipped. Idempotent by request_id, batch by batch, so a retry
    after a failure half-way finishes the job without issuing anything twice."""
    key = f"admin:{actor}:{request_id}"
    digest = fingerprint("POST /v1/admin/coupons/issue", {"template_id": template_id, "member_ids": member_ids})
    finished = store().stored_answer(key)
    if finished:
        return replay(finished, digest)
    if store().template(template_id) is None:
        raise NotFound("优惠券模板不存在")
    totals = {"issued": 0, "skipped": 0}
    for number, start in enumerate(range(0, len(member_ids), ISSUE_BATCH)):
        batch = member_ids[start:start + ISSUE_BATCH]
        _, counts = retrying(lambda: _issue_batch(template_id, batch, f"{key}:{number}", digest))
        totals["issued"] += counts["issued"]
        totals["skipped"] += counts["skipped"]
    try:
        store().commit(now=clock.now(), answer=AnswerToStore(key, digest, 202, totals))
    except IdempotencyRecordExists:
        pass  # the same request finished meanwhile, with the same totals (every batch replayed)
    return 202, totals


def _issue_batch(template_id: str, member_ids: list[str], key: str, digest: str) -> tuple[int, Any]:
    members, program, templates, claims, stored = store().claim_context_many(member_ids, template_id, key)
    if stored:
        return replay(stored, digest)
    template = templates.get(template_id)
    if template is None or not template.active:
        raise NotFound("优惠券模板不存在或已停用")
    now = clock.now()
    issued: list[tuple[Coupon, int]] = []
    for member_id in member_ids:
        member = members.get(member_id)
        limit_reached = template.per_member_limit is not None and claims.get(member_id, 0) >= template.per_member_limit
        out_of_stock = template.stock_left is not None and len(issued) >= template.stock_left
        if member is None or limit_reached or out_of_stock or \
                not template.allows_tier(member_tier(member, program, now)["code"]):
            continue
        coupon = new_coupon(template, member_id, new_coupon_id(now), "admin", now.replace(microsecond=0))
        issued.append((coupon, claims.get(member_id, 0)))
    counts = {"issued": len(issued), "skipped": len(member_ids) - len(issued)}
    try:
        store().commit(now=now, answer=AnswerToStore(key, digest, 202, counts),
                       issued=[IssuedCoupons(template, issued)] if issued else [])
    except IdempotencyRecordExists:
        raise VersionConflict() from None
    return 202, counts
