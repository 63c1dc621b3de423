"""Checkout holds (§9): one item per checkout, which is also its idempotency record.

| access pattern                                  | table / index                          | call             |
| ----------------------------------------------- | -------------------------------------- | ---------------- |
| a checkout by id (with the member, at a hold)   | checkouts                              | TransactGetItems |
| open holds by shard and expiry (the tidy job)   | checkouts / `hold-expiry-index` (sparse) | Query          |

Every change of a checkout is conditioned on the `version` it read; a checkout leaves the expiry
index when it is confirmed, cancelled or recorded as expired.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.clock import parse_instant
from chalicelib.domain.checkouts import Checkout
from chalicelib.domain.coupons import Coupon
from chalicelib.store.base import TableMeta, shard_of
from chalicelib.store.parts import AlreadyAnswered, Get, Put, Query, Update, absent, assign, eq, le

_INSTANTS = ("valid_from", "valid_until", "obtained_at", "used_at", "held_until")


class HoldExpiryIndex(GlobalSecondaryIndex["CheckoutRecord"]):
    """Open holds by shard and `expires_at` (sparse: only while `status` is held)."""

    class Meta:
        index_name = "hold-expiry-index"
        projection = AllProjection()

    expiry_shard = UnicodeAttribute(hash_key=True)
    expires_at = UTCDateTimeAttribute(range_key=True)


class CheckoutRecord(Model):
    """A checkout: what it reserved, its price, its state, and the fingerprint of the request that
    created it (a replay with another body is refused)."""

    class Meta(TableMeta):
        table_name = "checkouts"

    checkout_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    subtotal_fen = NumberAttribute()
    coupon_id = UnicodeAttribute(null=True)
    coupon_discount_fen = NumberAttribute(default=0)
    points_used = NumberAttribute(default=0)
    points_discount_fen = NumberAttribute(default=0)
    expires_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    coupon = UnicodeAttribute(null=True)  # the coupon as the hold took it, JSON
    fingerprint = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    closed_at = UTCDateTimeAttribute(null=True)
    version = NumberAttribute(default=0)
    expiry_shard = UnicodeAttribute(null=True)
    expiry_index = HoldExpiryIndex()


MODELS: tuple[type[Model], ...] = (CheckoutRecord,)


def _coupon_text(coupon: Coupon | None) -> str | None:
    if coupon is None:
        return None
    fields = asdict(coupon)
    for name in _INSTANTS:
        fields[name] = fields[name].isoformat() if fields[name] else None
    return json.dumps(fields, ensure_ascii=False)


def _coupon_of(text: str | None) -> Coupon | None:
    if not text:
        return None
    fields: dict[str, Any] = json.loads(text)
    for name in _INSTANTS:
        fields[name] = parse_instant(fields[name]) if fields[name] else None
    return Coupon(**fields)


def to_checkout(record: CheckoutRecord | None) -> Checkout | None:
    """A checkout from its record."""
    if record is None:
        return None
    return Checkout(
        checkout_id=record.checkout_id, member_id=record.member_id, subtotal_fen=int(record.subtotal_fen),
        coupon_id=record.coupon_id, coupon_discount_fen=int(record.coupon_discount_fen or 0),
        points_used=int(record.points_used or 0), points_discount_fen=int(record.points_discount_fen or 0),
        expires_at=record.expires_at, fingerprint=record.fingerprint, created_at=record.created_at,
        status=record.status, order_id=record.order_id, coupon=_coupon_of(record.coupon),
        version=int(record.version or 0))


def checkout(checkout_id: str) -> Get[CheckoutRecord, Checkout | None]:
    """A checkout by id."""
    return Get(CheckoutRecord, (checkout_id,), to_checkout)


def lapsed(shard: str, now: datetime, cursor: str | None) -> Query[CheckoutRecord, Checkout | None]:
    """A shard's checkouts still recorded as held whose hold has lapsed by `now`, oldest first."""
    return Query(CheckoutRecord, shard, to_checkout, limit=100, cursor=cursor, index=HoldExpiryIndex,
                 range=le(CheckoutRecord.expires_at, now))


def new(held: Checkout) -> Put:
    """Record a new hold (AlreadyAnswered if its checkout_id was recorded first)."""
    return Put(CheckoutRecord(
        held.checkout_id, member_id=held.member_id, subtotal_fen=held.subtotal_fen, coupon_id=held.coupon_id,
        coupon_discount_fen=held.coupon_discount_fen, points_used=held.points_used,
        points_discount_fen=held.points_discount_fen, expires_at=held.expires_at, status=held.status,
        coupon=_coupon_text(held.coupon), fingerprint=held.fingerprint, created_at=held.created_at,
        version=held.version, expiry_shard=shard_of(held.member_id)), absent(), AlreadyAnswered())


def close(was: Checkout, status: str, now: datetime, *, order_id: str | None = None,
          coupon: Coupon | None = None) -> Update:
    """Record a checkout confirmed (with its order and the coupon as used), cancelled or expired,
    if it is still as it was read."""
    ops = [assign(CheckoutRecord.status, status), assign(CheckoutRecord.closed_at, now),
           assign(CheckoutRecord.version, was.version + 1), assign(CheckoutRecord.expiry_shard, None)]
    if order_id is not None:
        ops += [assign(CheckoutRecord.order_id, order_id), assign(CheckoutRecord.coupon, _coupon_text(coupon))]
    return Update(CheckoutRecord, (was.checkout_id,), tuple(ops),
                  condition=eq(CheckoutRecord.version, was.version) & eq(CheckoutRecord.status, was.status))

