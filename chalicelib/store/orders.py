"""Orders: each recorded order with the first answer given to it, its award and its refunds so far.

| access pattern                                   | table / index | call             |
| ------------------------------------------------ | ------------- | ---------------- |
| an order, with its first answer (replay)         | orders        | TransactGetItems |
| record an order (once per order_id)              | orders        | Put in the transaction, `attribute_not_exists` |
| a refund's new totals (ordered by `version`)     | orders        | Update in the transaction |
| an order's refunds, oldest first                 | refunds (order_id, seq) | Query |
| record a refund (its number is the order's new `version`) | refunds | Put in the transaction |
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.domain.orders import Order, Refund, RefundOutcome
from chalicelib.store.base import TableMeta
from chalicelib.store.idempotency import StoredAnswer
from chalicelib.store.parts import AlreadyAnswered, Get, Put, Query, Update, Write, absent, assign, eq


class OrderRecord(Model):
    """A recorded order: the request's fingerprint and first answer, the award, and refunds so far.
    `version` orders the refunds of one order: each refund is conditioned on the version it read."""

    class Meta(TableMeta):
        table_name = "orders"

    order_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    subtotal_fen = NumberAttribute()
    paid_at = UTCDateTimeAttribute()
    store_id = UnicodeAttribute(null=True)
    items: ListAttribute[Any] = ListAttribute(null=True)
    points_awarded = NumberAttribute()
    growth_year = NumberAttribute()
    coupon_id = UnicodeAttribute(null=True)
    discount_fen = NumberAttribute(null=True)
    points_used = NumberAttribute(default=0)
    refunded_fen = NumberAttribute(default=0)
    points_clawed_back = NumberAttribute(default=0)
    fingerprint = UnicodeAttribute()
    answer = UnicodeAttribute()
    version = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class RefundRecord(Model):
    """One refund of an order; `seq` is the order's `version` that the refund wrote, so an order's
    refunds read oldest first in one Query."""

    class Meta(TableMeta):
        table_name = "refunds"

    order_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    refund_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    created_at = UTCDateTimeAttribute()


MODELS: tuple[type[Model], ...] = (OrderRecord, RefundRecord)


def to_order(record: OrderRecord | None) -> Order | None:
    """An order from its record."""
    if record is None:
        return None
    return Order(order_id=record.order_id, member_id=record.member_id, amount_fen=int(record.amount_fen),
                 paid_at=record.paid_at, points_awarded=int(record.points_awarded),
                 growth_year=int(record.growth_year), fingerprint=record.fingerprint, coupon_id=record.coupon_id,
                 refunded_fen=int(record.refunded_fen or 0), points_clawed_back=int(record.points_clawed_back or 0),
                 version=int(record.version or 0), subtotal_fen=int(record.subtotal_fen),
                 discount_fen=_discount(record), points_used=int(record.points_used or 0))


def _discount(record: OrderRecord) -> int:
    """What the order's coupon took off (orders recorded before it was kept: from their answer)."""
    stored: Any = record.discount_fen
    if stored is not None:
        return int(stored)
    return int(json.loads(record.answer).get("discount_fen") or 0)


def to_refund(record: RefundRecord) -> Refund:
    """A refund from its record."""
    return Refund(record.order_id, int(record.seq), record.refund_id, int(record.amount_fen), record.created_at)


def order(order_id: str) -> Get[OrderRecord, Order | None]:
    """A recorded order."""
    return Get(OrderRecord, (order_id,), to_order)


@dataclass(frozen=True)
class OrderKey:
    """Where an order's answer is kept: on the order itself, written with it (`new`)."""

    order_id: str

    @property
    def read(self) -> Get[OrderRecord, StoredAnswer | None]:
        """The answer the order got when it was recorded, if it was."""
        return Get(OrderRecord, (self.order_id,),
                   lambda r: StoredAnswer(r.fingerprint, 201, json.loads(r.answer)) if r else None)

    def record(self, answer: StoredAnswer, now: datetime) -> Write | None:
        """Nothing apart: the order's own Put keeps the answer."""
        return None


def refunds(order_id: str, cursor: str | None = None) -> Query[RefundRecord, Refund]:
    """An order's refunds, oldest first."""
    return Query(RefundRecord, order_id, to_refund, limit=100, cursor=cursor, consistent=True)


def new(order: Order, *, store_id: str | None, items: list[dict[str, Any]] | None, answer: Any,
        now: datetime) -> Put:
    """Record an order with the answer a replay gets (AlreadyAnswered if it was recorded first)."""
    return Put(OrderRecord(order.order_id, member_id=order.member_id, amount_fen=order.amount_fen,
                           subtotal_fen=order.subtotal_fen, discount_fen=order.discount_fen, paid_at=order.paid_at,
                           store_id=store_id, items=items,
                           points_awarded=order.points_awarded, growth_year=order.growth_year,
                           fingerprint=order.fingerprint, answer=json.dumps(answer, ensure_ascii=False),
                           coupon_id=order.coupon_id, points_used=order.points_used, created_at=now),
               absent(), AlreadyAnswered())


def refund(order: Order, outcome: RefundOutcome, refund_id: str, amount_fen: int, now: datetime) -> list[Write]:
    """A refund's new totals on its order, if no other refund was recorded since it was read, and
    the refund itself (numbered by the order's new version)."""
    return [Update(OrderRecord, (order.order_id,),
                   (assign(OrderRecord.refunded_fen, outcome.refunded_total),
                    assign(OrderRecord.points_clawed_back, order.points_clawed_back + outcome.points),
                    assign(OrderRecord.version, order.version + 1)),
                   condition=eq(OrderRecord.version, order.version)),
            Put(RefundRecord(order.order_id, order.version + 1, refund_id=refund_id, amount_fen=amount_fen,
                             created_at=now), absent())]
