"""The repository: every DynamoDB call the app makes, and the translation of DynamoDB failures
into named errors. Services see domain objects (`Member`, `LedgerEntry`), never pynamodb models.

Each method is one round trip unless its docstring says otherwise. State changes are single
transactions guarded by conditions: a member's `seq` for points, `attribute_not_exists` for
ledger entries, unique claims and idempotency records.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.models import Model
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.config import settings
from chalicelib.domain.ledger import PointsChange
from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.points import Points
from chalicelib.domain.program import default_program
from chalicelib.errors import AlreadyMember, StoreUnavailable
from chalicelib.store.schema import (
    ALL_MODELS,
    IdempotencyRecord,
    IdentityRecord,
    LedgerRecord,
    MemberRecord,
    SettingRecord,
)

PROGRAM_KEY = "program"
WECHAT_TOKEN_KEY = "wechat_token"
IDEMPOTENCY_TTL = timedelta(days=30)
_MODELS_BY_TABLE = {model.Meta.table_name: model for model in ALL_MODELS}


class VersionConflict(Exception):
    """The member changed between our read and our write; read again and retry."""


class ReferralCodeTaken(Exception):
    """The freshly drawn referral code already belongs to someone; draw another."""


class IdempotencyRecordExists(Exception):
    """Another request with the same request_id committed first; replay its answer."""


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given to a request_id."""

    fingerprint: str
    status: int
    body: Any


@dataclass(frozen=True)
class AnswerToStore:
    """An answer to record with a state change, keyed by caller scope and request_id."""

    key: str
    fingerprint: str
    status: int
    body: Any


@dataclass(frozen=True)
class OpenidContext:
    """What signup and token resolution read in one round trip."""

    member_id: str | None
    program: dict[str, Any]
    referrer_id: str | None = None
    wechat_token: tuple[str, int] | None = None


@contextmanager
def _store_errors() -> Iterator[None]:
    """Turn unexpected DynamoDB failures into 503 STORE_UNAVAILABLE."""
    try:
        yield
    except PynamoDBException as exc:
        raise StoreUnavailable() from exc


@lru_cache(maxsize=1)
def _connection() -> Connection:
    conf = settings()
    return Connection(region=conf.aws_region, host=conf.dynamodb_endpoint_url,
                      connect_timeout_seconds=2, read_timeout_seconds=5, max_retry_attempts=3)


class _Cancelled(Exception):
    """A transaction refused by its conditions; `failed` names the items whose condition failed,
    as (table name, hash key value)."""

    def __init__(self, failed: set[tuple[str, str]]) -> None:
        super().__init__(failed)
        self.failed = failed

    def hit(self, model: type[Model], hash_key: str) -> bool:
        """Did the condition on this item fail?"""
        return (model.Meta.table_name, hash_key) in self.failed


def _item_key(operation: dict[str, Any]) -> tuple[str, str]:
    """(table, hash key value) of one TransactWriteItems operation."""
    table = operation["TableName"]
    hash_name = _MODELS_BY_TABLE[table]._hash_keyname
    attributes = operation.get("Key") or operation["Item"]
    return table, next(iter(attributes[hash_name].values()))


@contextmanager
def _transaction() -> Iterator[TransactWrite]:
    """One TransactWriteItems: condition failures become _Cancelled, a clash with a concurrent
    transaction becomes VersionConflict (retry), anything else StoreUnavailable."""
    tx = TransactWrite(connection=_connection())
    try:
        with tx:
            yield tx
    except TransactWriteError as exc:
        codes = [r.code if r else None for r in exc.cancellation_reasons or []]
        if "TransactionConflict" in codes:
            raise VersionConflict() from exc
        if "ConditionalCheckFailed" in codes:
            # pynamodb sends condition checks, deletes, puts, then updates, whatever the call order.
            sent = tx._condition_check_items + tx._delete_items + tx._put_items + tx._update_items
            raise _Cancelled({_item_key(op) for op, code in zip(sent, codes)
                              if code == "ConditionalCheckFailed"}) from exc
        raise StoreUnavailable() from exc
    except PynamoDBException as exc:
        raise StoreUnavailable() from exc


def _condition_failed(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException"


def _to_member(record: MemberRecord) -> Member | None:
    if record.status != "active":
        return None
    lots = record.lots.as_dict() if record.lots else {}
    growth = record.growth.as_dict() if record.growth else {}
    return Member(
        member_id=record.member_id, openid=record.openid or "", joined_at=record.joined_at,
        seq=int(record.seq), nickname=record.nickname, avatar_url=record.avatar_url,
        gender=record.gender, birthday=record.birthday, phone=record.phone,
        referral_code=record.referral_code, referred_by=record.referred_by,
        preferences=record.preferences.as_dict() if record.preferences else None,
        points=Points({int(y): int(p) for y, p in lots.items()}, int(record.debt or 0)),
        growth={int(y): int(v) for y, v in growth.items()},
        checkin_streak=int(record.checkin_streak or 0), checkin_last_date=record.checkin_last_date,
    )


def _to_entry(record: LedgerRecord) -> LedgerEntry:
    return LedgerEntry(
        member_id=record.member_id, seq=int(record.seq), delta=int(record.delta),
        balance_after=int(record.balance_after), reason=record.reason, created_at=record.created_at,
        ref=record.ref, note=record.note, actor=record.actor,
    )


def _entry_record(entry: LedgerEntry) -> LedgerRecord:
    return LedgerRecord(
        entry.member_id, entry.seq, delta=entry.delta, balance_after=entry.balance_after,
        reason=entry.reason, ref=entry.ref, note=entry.note, actor=entry.actor, created_at=entry.created_at,
    )


def _to_answer(record: IdempotencyRecord) -> StoredAnswer:
    return StoredAnswer(record.fingerprint, int(record.status), json.loads(record.body))


def _lots_map(points: Points) -> dict[str, int]:
    return {str(year): amount for year, amount in points.lots.items()}


def _program_from(record: SettingRecord | None) -> dict[str, Any]:
    """The stored program, or the default when none was ever stored."""
    return json.loads(record.value) if record else default_program()


def _resolve(future: Any) -> Any:
    """The item a TransactGet future resolved to, or None if it does not exist."""
    try:
        return future.get()
    except DoesNotExist:
        return None


class Store:
    """The app's only door to DynamoDB."""

    # ---- reads -------------------------------------------------------------------------------

    def member_with_program(self, member_id: str) -> tuple[Member | None, dict[str, Any]]:
        """An active member (None if unknown or deleted) and the program, in one TransactGetItems."""
        member, program, _ = self.member_with_answer(member_id, None)
        return member, program

    def member_with_answer(self, member_id: str, answer_key: str | None
                           ) -> tuple[Member | None, dict[str, Any], StoredAnswer | None]:
        """The member, the program and the answer already given to `answer_key` (if any), in one
        TransactGetItems: the read of an idempotent write."""
        with _store_errors():
            with TransactGet(connection=_connection()) as tx:
                member_f = tx.get(MemberRecord, member_id)
                program_f = tx.get(SettingRecord, PROGRAM_KEY)
                answer_f = tx.get(IdempotencyRecord, answer_key) if answer_key else None
        record = _resolve(member_f)
        answer = _resolve(answer_f) if answer_f else None
        return ((_to_member(record) if record else None), _program_from(_resolve(program_f)),
                _to_answer(answer) if answer else None)

    def openid_context(self, openid: str, *, referral_code: str | None = None,
                       with_wechat_token: bool = False) -> OpenidContext:
        """The openid's member_id and the program (plus, when asked, the inviter behind a referral
        code and the cached WeChat access token), in one TransactGetItems."""
        with _store_errors():
            with TransactGet(connection=_connection()) as tx:
                identity_f = tx.get(IdentityRecord, f"openid#{openid}")
                program_f = tx.get(SettingRecord, PROGRAM_KEY)
                referral_f = tx.get(IdentityRecord, f"referral#{referral_code}") if referral_code else None
                token_f = tx.get(SettingRecord, WECHAT_TOKEN_KEY) if with_wechat_token else None
        identity = _resolve(identity_f)
        referral = _resolve(referral_f) if referral_f else None
        token = _resolve(token_f) if token_f else None
        return OpenidContext(
            member_id=identity.member_id if identity else None,
            program=_program_from(_resolve(program_f)),
            referrer_id=referral.member_id if referral else None,
            wechat_token=(token.value, int(token.expires_at)) if token else None,
        )

    def program(self) -> dict[str, Any]:
        """The current program document."""
        with _store_errors():
            try:
                return _program_from(SettingRecord.get(PROGRAM_KEY, consistent_read=True))
            except SettingRecord.DoesNotExist:
                return default_program()

    def members_by_phone(self, phone: str) -> list[Member]:
        """Active members holding this phone number (one Query on `phone-index`)."""
        with _store_errors():
            records = list(MemberRecord.phone_index.query(phone, limit=20))
        return [m for m in map(_to_member, records) if m is not None]

    def ledger_page(self, member_id: str, *, limit: int, before_seq: int | None) -> tuple[list[LedgerEntry], bool]:
        """Up to `limit` entries newest first (older than `before_seq` when given), and whether
        more exist: one Query of limit + 1 items."""
        condition = LedgerRecord.seq < before_seq if before_seq is not None else None
        with _store_errors():
            records = list(LedgerRecord.query(member_id, condition, scan_index_forward=False,
                                              limit=limit + 1, page_size=limit + 1))
        return [_to_entry(r) for r in records[:limit]], len(records) > limit

    def stored_answer(self, key: str) -> StoredAnswer | None:
        """The answer recorded for an idempotency key, if any."""
        with _store_errors():
            try:
                record = IdempotencyRecord.get(key, consistent_read=True)
            except IdempotencyRecord.DoesNotExist:
                return None
        return _to_answer(record)

    def wechat_token(self) -> tuple[str, int] | None:
        """The shared cached WeChat access token and its expiry (epoch seconds), if any."""
        with _store_errors():
            try:
                record = SettingRecord.get(WECHAT_TOKEN_KEY, consistent_read=True)
            except SettingRecord.DoesNotExist:
                return None
        return record.value, int(record.expires_at)

    # ---- writes ------------------------------------------------------------------------------

    def record_login(self, openid: str, session_key: str, now: datetime) -> str | None:
        """Keep the openid's latest session_key (server side only); return its member_id, if any."""
        record = IdentityRecord(f"openid#{openid}")
        with _store_errors():
            record.update(actions=[IdentityRecord.session_key.set(session_key),
                                   IdentityRecord.updated_at.set(now)])
        return record.member_id

    def create_member(self, member: Member, entries: list[LedgerEntry]) -> None:
        """Claim the openid and the referral code and write the member with its first entries, in
        one transaction. AlreadyMember if the openid is taken; ReferralCodeTaken on a code clash."""
        record = MemberRecord(
            member.member_id, status="active", openid=member.openid, nickname=member.nickname,
            avatar_url=member.avatar_url, gender=member.gender, birthday=member.birthday,
            phone=member.phone, referral_code=member.referral_code, referred_by=member.referred_by,
            joined_at=member.joined_at, lots=_lots_map(member.points), debt=member.points.debt,
            growth={}, seq=member.seq,
        )
        try:
            with _transaction() as tx:
                tx.update(IdentityRecord(f"openid#{member.openid}"),
                          actions=[IdentityRecord.member_id.set(member.member_id),
                                   IdentityRecord.updated_at.set(member.joined_at)],
                          condition=IdentityRecord.member_id.does_not_exist())
                tx.save(IdentityRecord(f"referral#{member.referral_code}", member_id=member.member_id,
                                       updated_at=member.joined_at),
                        condition=IdentityRecord.key.does_not_exist())
                tx.save(record, condition=MemberRecord.member_id.does_not_exist())
                for entry in entries:
                    tx.save(_entry_record(entry), condition=LedgerRecord.seq.does_not_exist())
        except _Cancelled as exc:
            if exc.hit(IdentityRecord, f"openid#{member.openid}"):
                raise AlreadyMember() from exc
            if exc.hit(IdentityRecord, f"referral#{member.referral_code}"):
                raise ReferralCodeTaken() from exc
            raise VersionConflict() from exc

    def update_profile(self, member_id: str, changes: dict[str, Any], *, birthday_unset: bool) -> Member:
        """Set (value) or remove (None) profile fields of an active member and return it as
        stored. With `birthday_unset`, the write also requires that no birthday was stored
        meanwhile (the birthday is set once). VersionConflict when a condition fails."""
        actions = [getattr(MemberRecord, name).set(value) if value is not None
                   else getattr(MemberRecord, name).remove() for name, value in changes.items()]
        condition = MemberRecord.status == "active"
        if birthday_unset:
            condition &= MemberRecord.birthday.does_not_exist()
        record = MemberRecord(member_id)
        with _store_errors():
            try:
                record.update(actions=actions, condition=condition)
            except PynamoDBException as exc:
                if _condition_failed(exc):
                    raise VersionConflict() from exc
                raise
        member = _to_member(record)
        if member is None:
            raise VersionConflict()
        return member

    def commit_points_change(self, member: Member, change: PointsChange, *,
                             answer: AnswerToStore | None = None) -> None:
        """Write the member's new lots and `seq` with the change's ledger entries (and the request's
        answer) in one transaction conditioned on the `seq` read. VersionConflict if the member moved
        on; IdempotencyRecordExists if the request_id was answered meanwhile."""
        try:
            with _transaction() as tx:
                tx.update(MemberRecord(member.member_id),
                          actions=[MemberRecord.lots.set(_lots_map(change.points)),
                                   MemberRecord.debt.set(change.points.debt),
                                   MemberRecord.seq.set(change.seq)],
                          condition=(MemberRecord.seq == member.seq) & (MemberRecord.status == "active"))
                for entry in change.entries:
                    tx.save(_entry_record(entry), condition=LedgerRecord.seq.does_not_exist())
                if answer:
                    tx.save(self._answer_record(answer, change.entries[-1].created_at),
                            condition=IdempotencyRecord.key.does_not_exist())
        except _Cancelled as exc:
            if answer and exc.hit(IdempotencyRecord, answer.key):
                raise IdempotencyRecordExists() from exc
            raise VersionConflict() from exc

    def close_member(self, member: Member, change: PointsChange, now: datetime) -> None:
        """Erase a member's personal data, leaving a tombstone and the closing ledger entries; free
        the openid and the referral code. One transaction conditioned on the `seq` read."""
        try:
            with _transaction() as tx:
                erased = ("openid", "nickname", "avatar_url", "gender", "birthday", "phone",
                          "referral_code", "referred_by", "preferences", "lots", "growth",
                          "checkin_last_date")
                tx.update(MemberRecord(member.member_id),
                          actions=[MemberRecord.status.set("deleted"), MemberRecord.deleted_at.set(now),
                                   MemberRecord.debt.set(0), MemberRecord.checkin_streak.set(0),
                                   MemberRecord.seq.set(change.seq)]
                          + [getattr(MemberRecord, name).remove() for name in erased],
                          condition=(MemberRecord.seq == member.seq) & (MemberRecord.status == "active"))
                for entry in change.entries:
                    tx.save(_entry_record(entry), condition=LedgerRecord.seq.does_not_exist())
                tx.update(IdentityRecord(f"openid#{member.openid}"),
                          actions=[IdentityRecord.member_id.remove(), IdentityRecord.updated_at.set(now)],
                          condition=IdentityRecord.member_id == member.member_id)
                if member.referral_code:
                    tx.delete(IdentityRecord(f"referral#{member.referral_code}"))
        except _Cancelled as exc:
            raise VersionConflict() from exc

    def save_program(self, program: dict[str, Any], now: datetime, *, only_if_absent: bool = False) -> bool:
        """Store the program document; with `only_if_absent`, keep an existing one (False)."""
        record = SettingRecord(PROGRAM_KEY, value=json.dumps(program, ensure_ascii=False), updated_at=now)
        with _store_errors():
            try:
                record.save(condition=SettingRecord.key.does_not_exist() if only_if_absent else None)
            except PynamoDBException as exc:
                if only_if_absent and _condition_failed(exc):
                    return False
                raise
        return True

    def save_wechat_token(self, token: str, expires_at: int, now: datetime) -> None:
        """Share a freshly fetched WeChat access token with every instance."""
        with _store_errors():
            SettingRecord(WECHAT_TOKEN_KEY, value=token, expires_at=expires_at, updated_at=now).save()

    def save_answer(self, answer: AnswerToStore, now: datetime) -> bool:
        """Record an answer on its own (for changes without a points transaction); False if the
        request_id was answered first by someone else."""
        with _store_errors():
            try:
                self._answer_record(answer, now).save(condition=IdempotencyRecord.key.does_not_exist())
            except PynamoDBException as exc:
                if _condition_failed(exc):
                    return False
                raise
        return True

    @staticmethod
    def _answer_record(answer: AnswerToStore, now: datetime) -> IdempotencyRecord:
        return IdempotencyRecord(answer.key, fingerprint=answer.fingerprint, status=answer.status,
                                 body=json.dumps(answer.body, ensure_ascii=False),
                                 expires_at=now + IDEMPOTENCY_TTL)


@lru_cache(maxsize=1)
def store() -> Store:
    """The process-wide Store."""
    return Store()
