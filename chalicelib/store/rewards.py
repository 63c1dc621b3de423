"""The points mall: rewards (the catalog), how many times each member redeemed each, and the
redemptions, whose gifts the merchant ships.

| access pattern                              | table / index                     | call             |
| ------------------------------------------- | --------------------------------- | ---------------- |
| rewards (the points mall)                   | rewards `main` partition          | Query / GetItem  |
| a member's redemptions of a reward          | reward_claims (member, reward)    | TransactGetItems |
| a redemption by id                          | redemptions                       | GetItem          |
| gifts to ship, by status, oldest first      | redemptions / `fulfilment-index` (sparse) | Query    |
| a member's redemptions, newest first        | redemptions / `member-redemptions-index`  | Query    |

A redemption is one transaction with the member's points: the reward's `redeemed` count
(conditioned on its version and stock), the member's count (conditioned on the limit) and the
redemption itself, plus the coupon when the reward is one.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.domain.rewards import REWARD_FIELDS, Redemption, Reward
from chalicelib.store.base import CATALOG, CatalogRecord, TableMeta, catalog_cursor, definition, definition_edit
from chalicelib.store.parts import (
    Get,
    Op,
    Put,
    Query,
    UnitOfWork,
    Update,
    Write,
    absent,
    add,
    assign,
    encode_cursor,
    eq,
    lacks,
    le,
    lt,
)


class NotPending(Exception):
    """The gift is not waiting to be shipped."""


class RewardRecord(CatalogRecord):
    """A points-mall reward: its definition (JSON), how many were redeemed, and its edit version."""

    class Meta(TableMeta):
        table_name = "rewards"

    reward_id = UnicodeAttribute(range_key=True)
    redeemed = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class RewardClaimRecord(Model):
    """How many times a member redeemed a reward (the per-member limit)."""

    class Meta(TableMeta):
        table_name = "reward_claims"

    member_id = UnicodeAttribute(hash_key=True)
    reward_id = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)  # type: ignore[assignment]  # shadows Model.count(), never called


class FulfilmentIndex(GlobalSecondaryIndex["RedemptionRecord"]):
    """Gift redemptions by fulfilment status, oldest first (sparse: coupon rewards are not in it)."""

    class Meta:
        index_name = "fulfilment-index"
        projection = AllProjection()

    fulfilment_status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class MemberRedemptionsIndex(GlobalSecondaryIndex["RedemptionRecord"]):
    """A member's redemptions by time (`GET /v1/redemptions`, newest first)."""

    class Meta:
        index_name = "member-redemptions-index"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RedemptionRecord(Model):
    """One redemption of a reward; a gift's also tracks its shipping."""

    class Meta(TableMeta):
        table_name = "redemptions"

    redemption_id = UnicodeAttribute(hash_key=True)
    reward_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    reward_name = UnicodeAttribute()
    kind = UnicodeAttribute()
    points_spent = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    coupon_id = UnicodeAttribute(null=True)
    fulfilment_status = UnicodeAttribute(null=True)
    shipped_at = UTCDateTimeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    address: MapAttribute[str, Any] = MapAttribute(null=True)  # where a gift ships (name, phone, region, detail)
    fulfilment_index = FulfilmentIndex()
    member_index = MemberRedemptionsIndex()


MODELS: tuple[type[Model], ...] = (RewardRecord, RewardClaimRecord, RedemptionRecord)


def to_reward(record: RewardRecord | None) -> Reward | None:
    """A reward from its record."""
    if record is None:
        return None
    return Reward(reward_id=record.reward_id, redeemed=int(record.redeemed or 0), version=int(record.version or 0),
                  **json.loads(record.definition))


def to_redemption(record: RedemptionRecord | None) -> Redemption | None:
    """A redemption from its record."""
    if record is None:
        return None
    return Redemption(
        redemption_id=record.redemption_id, reward_id=record.reward_id, member_id=record.member_id,
        reward_name=record.reward_name, kind=record.kind, points_spent=int(record.points_spent),
        created_at=record.created_at, coupon_id=record.coupon_id, status=record.fulfilment_status,
        shipped_at=record.shipped_at, note=record.note,
        address=dict(record.address.as_dict()) if record.address is not None else None)


def reward(reward_id: str) -> Get[RewardRecord, Reward | None]:
    """One reward."""
    return Get(RewardRecord, (CATALOG, reward_id), to_reward)


def rewards_page(cursor: str | None, limit: int = 100) -> Query[RewardRecord, Reward | None]:
    """A page of the points mall, by reward id."""
    return Query(RewardRecord, CATALOG, to_reward, limit=limit, cursor=cursor, consistent=True)


def reward_cursor(reward: Reward) -> str | None:
    """The cursor of the mall's page after `reward`."""
    return catalog_cursor(RewardRecord, reward.reward_id)


def redeemed(member_id: str, reward_id: str) -> Get[RewardClaimRecord, int]:
    """How many times the member redeemed the reward."""
    return Get(RewardClaimRecord, (member_id, reward_id), lambda r: int(r.count or 0) if r else 0)


def redemption(redemption_id: str) -> Get[RedemptionRecord, Redemption | None]:
    """One redemption."""
    return Get(RedemptionRecord, (redemption_id,), to_redemption)


def fulfilments(status: str, limit: int, cursor: str | None) -> Query[RedemptionRecord, Redemption | None]:
    """Gift redemptions of a status, oldest first."""
    return Query(RedemptionRecord, status, to_redemption, limit=limit, cursor=cursor, index=FulfilmentIndex)


def member_redemptions(member_id: str, limit: int, cursor: str | None) -> Query[RedemptionRecord, Redemption | None]:
    """A member's redemptions newest first, one more than `limit` (see `redemptions_cursor`)."""
    return Query(RedemptionRecord, member_id, to_redemption, limit=limit + 1, cursor=cursor,
                 index=MemberRedemptionsIndex, forward=False)


def redemptions_cursor(found: list[Redemption], limit: int) -> str | None:
    """The cursor after a `member_redemptions` page of `limit` (None when it held all that was left)."""
    if len(found) <= limit:
        return None
    last = found[limit - 1]
    return encode_cursor({"redemption_id": {"S": last.redemption_id}, "member_id": {"S": last.member_id},
                          "created_at": {"S": RedemptionRecord.created_at.serialize(last.created_at)}})


def add_reward(reward: Reward, now: datetime) -> Put:
    """Store a new reward."""
    return Put(RewardRecord(CATALOG, reward.reward_id, definition=definition(reward, REWARD_FIELDS), redeemed=0,
                            version=0, created_at=now), absent())


def edit_reward(reward: Reward) -> Update:
    """Replace a reward's definition, if it is still at the version read."""
    return definition_edit(RewardRecord, reward.reward_id, reward, REWARD_FIELDS)


def redeem(reward: Reward, redemption: Redemption) -> list[Write]:
    """One more redemption of the reward (its stock, version and the member's limit as conditions)."""
    condition = eq(RewardRecord.version, reward.version)
    if reward.stock is not None:
        condition &= le(RewardRecord.redeemed, reward.stock - 1)
    limit = None
    if reward.per_member_limit is not None:
        limit = lacks(RewardClaimRecord.count) | lt(RewardClaimRecord.count, reward.per_member_limit)
    return [Update(RewardRecord, (CATALOG, reward.reward_id), (add(RewardRecord.redeemed, 1),), condition=condition),
            Update(RewardClaimRecord, (redemption.member_id, reward.reward_id), (add(RewardClaimRecord.count, 1),),
                   condition=limit),
            Put(RedemptionRecord(
                redemption.redemption_id, reward_id=redemption.reward_id, member_id=redemption.member_id,
                reward_name=redemption.reward_name, kind=redemption.kind, points_spent=redemption.points_spent,
                created_at=redemption.created_at, coupon_id=redemption.coupon_id,
                fulfilment_status=redemption.status, shipped_at=redemption.shipped_at, note=redemption.note,
                address=redemption.address), absent())]


def ship(redemption_id: str, note: str | None, now: datetime) -> Update:
    """Mark a pending gift shipped (NotPending if it is not pending)."""
    ops: tuple[Op, ...] = (assign(RedemptionRecord.fulfilment_status, "shipped"),
                           assign(RedemptionRecord.shipped_at, now))
    if note is not None:
        ops += (assign(RedemptionRecord.note, note),)
    return Update(RedemptionRecord, (redemption_id,), ops, condition=eq(RedemptionRecord.fulfilment_status, "pending"),
                  error=NotPending())


def erase_addresses(uow: UnitOfWork, member_id: str) -> None:
    """Remove the shipping addresses of a closed account's redemptions, a page (one transaction)
    at a time (the redemptions stay, anonymised like the ledger)."""
    cursor: str | None = None
    while True:
        page = uow.query(Query(RedemptionRecord, member_id, to_redemption, limit=100, cursor=cursor,
                               index=MemberRedemptionsIndex))
        writes = [Update(RedemptionRecord, (found.redemption_id,), (assign(RedemptionRecord.address, None),),
                         condition=eq(RedemptionRecord.member_id, member_id))
                  for found in page.items if found is not None and found.address is not None]
        if writes:
            uow.write(*writes)
        if page.cursor is None:
            return
        cursor = page.cursor
