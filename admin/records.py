"""The admin CLI's storage: the parts it writes and reads besides the app's own access patterns
(it lives outside `chalicelib`, so none of it ships in the Lambda package).

| access pattern                                       | table / index                     | call              |
| ---------------------------------------------------- | --------------------------------- | ----------------- |
| the import key (HMAC key of imported members' ids)   | settings `import_key`             | GetItem / PutItem |
| which rows' members exist already (any status)       | members                           | BatchGetItem      |
| active members holding a phone (`--check-phones`)    | members / `phone-index`           | Query             |
| a batch of new members of one shard, with their      | members, identities `referral#`,  | TransactWriteItems |
|   referral codes, ledger entries and figures         |   ledger, figures                 |                   |
| every item of a table (exports, backfill)            | members, ledger                   | Scan              |
| members holding points, by shard (liability)         | members / `expiry-index`          | Query             |
| a member's missing index keys (backfill)             | members                           | UpdateItem        |

An imported member's id is `m` + the first 20 hex digits of HMAC-SHA256(import key, phone): the
same phone always names the same member, so the member item's `attribute_not_exists` makes the
import idempotent (a re-run, a resumed run, two runs at once). The key is drawn once per store and
kept in the settings table, so an id (kept by a closed account's tombstone and ledger) cannot be
traced back to a phone number without it.
"""
from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.models import Model

from admin.arrival import Arrival
from chalicelib.domain.analytics import Tally
from chalicelib.domain.automations import lifecycle_key
from chalicelib.domain.member import Member
from chalicelib.services.figures import figures
from chalicelib.store import ledger, members, settings
from chalicelib.store.base import shard_of
from chalicelib.store.members import IdentityRecord, MemberRecord, new_record, to_member
from chalicelib.store.parts import Get, Op, Put, Query, UnitOfWork, Update, Write, absent, assign, eq, lacks
from chalicelib.store.settings import IMPORT_KEY, SettingRecord

SCAN_PAGE = 500
LAST_YEAR = 9999  # above any earning year: every member holding points
M = TypeVar("M", bound=Model)


class AlreadyImported(Exception):
    """The member item of that phone exists: imported before (and perhaps closed since)."""


class ReferralClash(Exception):
    """The referral code drawn for a new member belongs to someone already: draw another."""


class KeyDrawn(Exception):
    """Another run stored the import key first."""


def import_key(uow: UnitOfWork, now: datetime) -> bytes:
    """The store's import key, drawn and stored by the first import."""
    found: bytes | None = uow.read(key=settings.import_key())["key"]
    if found is None:
        with contextlib.suppress(KeyDrawn):
            uow.write(Put(SettingRecord(IMPORT_KEY, value=secrets.token_hex(32), updated_at=now), absent(), KeyDrawn()))
        found = uow.read(key=settings.import_key())["key"]
    assert found is not None
    return found


def exists(member_id: str) -> Get[MemberRecord, bool]:
    """Whether a member item (active or closed) has this id."""
    return Get(MemberRecord, (member_id,), lambda record: record is not None)


def phone_holders(phone: str) -> Query[MemberRecord, Member | None]:
    """Active members holding this phone (the admin look-up's Query)."""
    return members.by_phone(phone)


def arrivals(batch: list[Arrival], base_tier: str) -> list[Write]:
    """New members of one shard (each item `attribute_not_exists`: AlreadyImported; each referral
    code unclaimed: ReferralClash), their ledger entries and what they add to the shard's figures."""
    writes: list[Write] = []
    total = Tally()
    for arrival in batch:
        member = arrival.member
        record = new_record(member, base_tier)
        record.openid = None  # no WeChat account yet
        writes += [Put(record, absent(), AlreadyImported()),
                   Put(IdentityRecord(f"referral#{member.referral_code}", member_id=member.member_id,
                                      updated_at=arrival.at),
                       absent(), ReferralClash()),
                   *[ledger.entry_put(entry) for entry in arrival.entries]]
        total.merge(arrival.tally)
    return writes + figures(batch[0].member.member_id, total)


def parts_of(arrival: Arrival) -> int:
    """The items an arrival writes besides the figures."""
    return 2 + len(arrival.entries)


def scan(client: Any, model: type[M], condition: str | None = None, values: dict[str, Any] | None = None
         ) -> Iterator[M]:
    """Every item of a table (that matches `condition`, a filter expression over `#status` and the
    values given), page by page: only a page is held at once."""
    kwargs: dict[str, Any] = {"TableName": model.Meta.table_name, "Limit": SCAN_PAGE}
    if condition is not None:
        kwargs.update(FilterExpression=condition, ExpressionAttributeNames={"#status": "status"},
                      ExpressionAttributeValues=values or {})
    while True:
        answer = client.scan(**kwargs)
        for raw in answer.get("Items", []):
            yield model.from_raw_data(raw)
        if not answer.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


ACTIVE = {":active": {"S": "active"}}


def active_members(client: Any) -> Iterator[Member]:
    """Every active member (a Scan: also those missing from the sparse indexes)."""
    for record in scan(client, MemberRecord, "#status = :active", ACTIVE):
        member = to_member(record)
        if member is not None:
            yield member


def ledger_entries(client: Any) -> Iterator[ledger.LedgerRecord]:
    """Every ledger entry (in no particular order)."""
    return scan(client, ledger.LedgerRecord)


def lacking_index_keys(client: Any) -> Iterator[MemberRecord]:
    """Active members without `member_shard`, `life_shard` or `life_key` (written before those
    indexes existed)."""
    return scan(client, MemberRecord, "#status = :active AND (attribute_not_exists(member_shard) OR "
                "attribute_not_exists(life_shard) OR attribute_not_exists(life_key))", ACTIVE)


def holding_points(shard: str, cursor: str | None) -> Query[MemberRecord, Member | None]:
    """A page of a shard's members holding points or pending points."""
    return members.with_points_to_expire(shard, LAST_YEAR, cursor)


def index_keys(record: MemberRecord) -> Update | None:
    """Set the member's missing `member_shard` (fixed by its id) and `life_shard`/`life_key` (from
    its orders and join date), each only while still missing: every state write of the app sets
    the lifecycle keys itself, with what it knows then (StaleRead: read the member again)."""
    ops: list[Op] = []
    condition = eq(MemberRecord.status, "active")
    shard = shard_of(record.member_id)
    if not record.member_shard:
        ops.append(assign(MemberRecord.member_shard, shard))
        condition &= lacks(MemberRecord.member_shard)
    member = to_member(record)
    if member is not None and (not record.life_shard or not record.life_key):
        ops += [assign(MemberRecord.life_shard, shard), assign(MemberRecord.life_key, lifecycle_key(member))]
        condition &= lacks(MemberRecord.life_shard) | lacks(MemberRecord.life_key)
    return Update(MemberRecord, (record.member_id,), tuple(ops), condition=condition) if ops else None


def member_record(member_id: str) -> Get[MemberRecord, MemberRecord | None]:
    """A member item as stored (None if there is none)."""
    return Get(MemberRecord, (member_id,), lambda record: record)

