"""Coupons: the merchant's templates (the catalog), the coupons in members' wallets, and how many of
each template every member has received.

| access pattern                              | table / index                        | call             |
| ------------------------------------------- | ------------------------------------ | ---------------- |
| coupon templates (the catalog)              | coupon_templates `main` partition    | Query / GetItem  |
| a member's coupon by id                     | coupons (member_id, coupon_id)       | GetItem          |
| a member's wallet by status                 | coupons / `wallet-index` (LSI)       | Query            |
| unused coupons past (or near) their end     | coupons / `coupon-expiry-index` (sparse) | Query        |
| coupons a member got from a template        | coupon_claims (member, template)     | TransactGetItems |

Issuing is one transaction: the template's `issued` count (conditioned on its version and its
stock), each coupon (`attribute_not_exists`) and each member's count (conditioned on the limit).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.domain.coupons import TEMPLATE_FIELDS, Coupon, Template
from chalicelib.store.base import (
    CATALOG,
    CatalogRecord,
    TableMeta,
    catalog_cursor,
    definition,
    definition_edit,
    shard_of,
)
from chalicelib.store.parts import (
    Condition,
    Delete,
    Get,
    Page,
    Put,
    Query,
    UnitOfWork,
    Update,
    Write,
    absent,
    add,
    assign,
    begins_with,
    between,
    eq,
    lacks,
    le,
    lt,
)


class CouponTemplateRecord(CatalogRecord):
    """A coupon template: its definition (JSON), how many coupons it has issued, and a version that
    every edit bumps (issuing is conditioned on it, and on the stock, never on other issues)."""

    class Meta(TableMeta):
        table_name = "coupon_templates"

    template_id = UnicodeAttribute(range_key=True)
    issued = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class WalletIndex(LocalSecondaryIndex["CouponRecord"]):
    """A member's coupons by status and time: `u#<valid_until>#<id>` while unused (soonest to
    expire first; past `now` means expired), `x#<used_at>#<id>` once used. Strongly consistent."""

    class Meta:
        index_name = "wallet-index"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    wallet_key = UnicodeAttribute(range_key=True)


class CouponExpiryIndex(GlobalSecondaryIndex["CouponRecord"]):
    """Unused coupons not yet marked expired, by shard and `valid_until` (sparse): what the
    coupon-expiry job marks and reminds of."""

    class Meta:
        index_name = "coupon-expiry-index"
        projection = AllProjection()

    expiry_shard = UnicodeAttribute(hash_key=True)
    valid_until = UTCDateTimeAttribute(range_key=True)


class CouponRecord(Model):
    """A coupon in a member's wallet; the member's id is part of its key, so nobody else can reach it."""

    class Meta(TableMeta):
        table_name = "coupons"

    member_id = UnicodeAttribute(hash_key=True)
    coupon_id = UnicodeAttribute(range_key=True)
    wallet_key = UnicodeAttribute()
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    amount_off_fen = NumberAttribute(null=True)
    percent_off_pct = NumberAttribute(null=True)
    max_discount_fen = NumberAttribute(null=True)
    min_spend_fen = NumberAttribute(default=0)
    valid_from = UTCDateTimeAttribute()
    valid_until = UTCDateTimeAttribute()
    source = UnicodeAttribute()
    obtained_at = UTCDateTimeAttribute()
    used_at = UTCDateTimeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    held_by = UnicodeAttribute(null=True)  # the checkout holding it (§9), until `held_until`
    held_until = UTCDateTimeAttribute(null=True)
    expired_at = UTCDateTimeAttribute(null=True)
    expiry_shard = UnicodeAttribute(null=True)
    wallet_index = WalletIndex()
    expiry_index = CouponExpiryIndex()


class CouponClaimRecord(Model):
    """How many coupons of a template a member has received (the per-member limit)."""

    class Meta(TableMeta):
        table_name = "coupon_claims"

    member_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)  # type: ignore[assignment]  # shadows Model.count(), never called


MODELS: tuple[type[Model], ...] = (CouponTemplateRecord, CouponRecord, CouponClaimRecord)


# ---- mapping -------------------------------------------------------------------------------------

def to_template(record: CouponTemplateRecord | None) -> Template | None:
    """A coupon template from its record."""
    if record is None:
        return None
    return Template(template_id=record.template_id, issued=int(record.issued or 0), version=int(record.version or 0),
                    **json.loads(record.definition))


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def to_coupon(record: CouponRecord | None) -> Coupon | None:
    """A coupon from its record."""
    if record is None:
        return None
    return Coupon(
        member_id=record.member_id, coupon_id=record.coupon_id, template_id=record.template_id, name=record.name,
        kind=record.kind, amount_off_fen=_int_or_none(record.amount_off_fen),
        percent_off_pct=_int_or_none(record.percent_off_pct),
        max_discount_fen=_int_or_none(record.max_discount_fen),
        min_spend_fen=int(record.min_spend_fen or 0), valid_from=record.valid_from, valid_until=record.valid_until,
        source=record.source, obtained_at=record.obtained_at, used_at=record.used_at, order_id=record.order_id,
        held_by=record.held_by, held_until=record.held_until)


def _wallet_key(coupon: Coupon) -> str:
    """Where the coupon sorts in its member's wallet (see `WalletIndex`)."""
    if coupon.used_at is not None:
        return f"x#{int(coupon.used_at.timestamp()):012d}#{coupon.coupon_id}"
    return f"u#{int(coupon.valid_until.timestamp()):012d}#{coupon.coupon_id}"


def _coupon_record(coupon: Coupon) -> CouponRecord:
    return CouponRecord(
        coupon.member_id, coupon.coupon_id, wallet_key=_wallet_key(coupon), template_id=coupon.template_id,
        name=coupon.name, kind=coupon.kind, amount_off_fen=coupon.amount_off_fen,
        percent_off_pct=coupon.percent_off_pct, max_discount_fen=coupon.max_discount_fen,
        min_spend_fen=coupon.min_spend_fen, valid_from=coupon.valid_from, valid_until=coupon.valid_until,
        source=coupon.source, obtained_at=coupon.obtained_at, used_at=coupon.used_at, order_id=coupon.order_id,
        expiry_shard=None if coupon.used_at else shard_of(coupon.member_id))


# ---- reads ---------------------------------------------------------------------------------------

def template(template_id: str) -> Get[CouponTemplateRecord, Template | None]:
    """One template."""
    return Get(CouponTemplateRecord, (CATALOG, template_id), to_template)


def templates_page(cursor: str | None, limit: int = 100) -> Query[CouponTemplateRecord, Template | None]:
    """A page of the catalog, by template id."""
    return Query(CouponTemplateRecord, CATALOG, to_template, limit=limit, cursor=cursor, consistent=True)


def template_cursor(template: Template) -> str | None:
    """The cursor of the catalog's page after `template`."""
    return catalog_cursor(CouponTemplateRecord, template.template_id)


def claimed(member_id: str, template_id: str) -> Get[CouponClaimRecord, int]:
    """How many coupons of the template the member has received."""
    return Get(CouponClaimRecord, (member_id, template_id), lambda r: int(r.count or 0) if r else 0)


def coupon(member_id: str, coupon_id: str) -> Get[CouponRecord, Coupon | None]:
    """A member's coupon (another member's id finds nothing)."""
    return Get(CouponRecord, (member_id, coupon_id), to_coupon)


def wallet(member_id: str, status: str, now: datetime, limit: int, cursor: str | None
           ) -> Query[CouponRecord, Coupon | None]:
    """A member's coupons of one status: unused soonest to expire first, expired and used latest first."""
    cut = f"u#{int(now.timestamp()):012d}"
    condition, forward = {
        "unused": (between(CouponRecord.wallet_key, cut + "$", "u#~"), True),
        "expired": (between(CouponRecord.wallet_key, "u#", cut + "#~"), False),
        "used": (begins_with(CouponRecord.wallet_key, "x#"), False),
    }[status]
    return Query(CouponRecord, member_id, to_coupon, limit=limit, cursor=cursor, index=WalletIndex,
                 range=condition, forward=forward, consistent=True)


def ending(shard: str, until: datetime, cursor: str | None) -> Query[CouponRecord, Coupon | None]:
    """A shard's unused, unmarked coupons whose validity ends by `until`, soonest first."""
    return Query(CouponRecord, shard, to_coupon, limit=100, cursor=cursor, index=CouponExpiryIndex,
                 range=le(CouponRecord.valid_until, until))


def member_coupons(member_id: str, cursor: str | None) -> Query[CouponRecord, Coupon | None]:
    """Every coupon of a member (for closing the account)."""
    return Query(CouponRecord, member_id, to_coupon, limit=25, cursor=cursor)


def member_claims(member_id: str, cursor: str | None) -> Query[CouponClaimRecord, str]:
    """The templates a member has counts of (for closing the account)."""
    return Query(CouponClaimRecord, member_id, lambda r: r.template_id, limit=25, cursor=cursor)


# ---- writes --------------------------------------------------------------------------------------

def add_template(template: Template, now: datetime) -> Put:
    """Store a new template."""
    return Put(CouponTemplateRecord(CATALOG, template.template_id, issued=template.issued,
                                    definition=definition(template, TEMPLATE_FIELDS), version=template.version,
                                    created_at=now),
               absent())


def edit_template(template: Template) -> Update:
    """Replace a template's definition, if it is still at the version read."""
    return definition_edit(CouponTemplateRecord, template.template_id, template, TEMPLATE_FIELDS)


def issue(template: Template, coupons: list[Coupon]) -> list[Write]:
    """Give coupons of a template: its stock and version, and each member's limit, as conditions."""
    condition = eq(CouponTemplateRecord.version, template.version)
    if template.total_stock is not None:
        condition &= le(CouponTemplateRecord.issued, template.total_stock - len(coupons))
    writes: list[Write] = [Update(CouponTemplateRecord, (CATALOG, template.template_id),
                                  (add(CouponTemplateRecord.issued, len(coupons)),), condition=condition)]
    for coupon in coupons:
        limit = None
        if template.per_member_limit is not None:
            limit = lacks(CouponClaimRecord.count) | lt(CouponClaimRecord.count, template.per_member_limit)
        writes += [Put(_coupon_record(coupon), absent()),
                   Update(CouponClaimRecord, (coupon.member_id, template.template_id),
                          (add(CouponClaimRecord.count, 1),), condition=limit)]
    return writes


def _not_held(now: datetime) -> Condition:
    """No checkout holds the coupon at `now` (never held, or its hold lapsed)."""
    return lacks(CouponRecord.held_until) | le(CouponRecord.held_until, now)


def use(coupon: Coupon, now: datetime, *, checkout_id: str | None = None) -> Update:
    """Mark a coupon used by its order, if it is still unused and no checkout (other than
    `checkout_id`'s) holds it; its hold ends with it."""
    free = _not_held(now) | eq(CouponRecord.held_by, checkout_id) if checkout_id else _not_held(now)
    return Update(CouponRecord, (coupon.member_id, coupon.coupon_id),
                  (assign(CouponRecord.used_at, coupon.used_at), assign(CouponRecord.order_id, coupon.order_id),
                   assign(CouponRecord.wallet_key, _wallet_key(coupon)), assign(CouponRecord.expiry_shard, None),
                   assign(CouponRecord.held_by, None), assign(CouponRecord.held_until, None)),
                  condition=lacks(CouponRecord.used_at) & free)


def hold(coupon: Coupon, checkout_id: str, until: datetime, now: datetime) -> Update:
    """Reserve an unused coupon for a checkout until `until`, if no other hold has it at `now`."""
    return Update(CouponRecord, (coupon.member_id, coupon.coupon_id),
                  (assign(CouponRecord.held_by, checkout_id), assign(CouponRecord.held_until, until)),
                  condition=lacks(CouponRecord.used_at) & _not_held(now))


def unhold(member_id: str, coupon_id: str, checkout_id: str, error: Exception | None = None) -> Update:
    """End a checkout's hold of a coupon, if it still holds it (else `error`, by default StaleRead)."""
    return Update(CouponRecord, (member_id, coupon_id),
                  (assign(CouponRecord.held_by, None), assign(CouponRecord.held_until, None)),
                  condition=eq(CouponRecord.held_by, checkout_id) & lacks(CouponRecord.used_at), error=error)


def give_back(coupon: Coupon) -> Update:
    """Put a coupon back in the wallet, unused (its order was fully refunded)."""
    return Update(CouponRecord, (coupon.member_id, coupon.coupon_id),
                  (assign(CouponRecord.used_at, None), assign(CouponRecord.order_id, None),
                   assign(CouponRecord.wallet_key, _wallet_key(coupon)),
                   assign(CouponRecord.expiry_shard, shard_of(coupon.member_id))))


def mark_expired(coupon: Coupon, at: datetime) -> Update:
    """Mark an unused coupon expired for reporting (it leaves the expiry index)."""
    return Update(CouponRecord, (coupon.member_id, coupon.coupon_id),
                  (assign(CouponRecord.expired_at, at), assign(CouponRecord.expiry_shard, None)),
                  condition=lacks(CouponRecord.used_at))


def remove_member_coupons(uow: UnitOfWork, member_id: str) -> None:
    """Delete a closed account's coupons and counts, a page (one transaction) at a time."""
    queries: list[Callable[[str | None], Query[Any, Any]]] = [
        lambda cursor: member_coupons(member_id, cursor), lambda cursor: member_claims(member_id, cursor)]
    for query in queries:
        while True:
            page: Page[Any] = uow.query(query(None))
            uow.write(*[_deletion(member_id, item) for item in page.items])
            if page.cursor is None:
                break


def _deletion(member_id: str, item: Coupon | str | None) -> Delete:
    if isinstance(item, Coupon):
        return Delete(CouponRecord, (member_id, item.coupon_id))
    return Delete(CouponClaimRecord, (member_id, item))
