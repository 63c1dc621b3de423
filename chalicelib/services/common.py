"""What every use case shares: retrying optimistic writes, resolving a token to its member, and
replaying idempotent answers."""
from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from chalicelib import clock
from chalicelib.domain.member import Member, member_tier
from chalicelib.domain.tokens import Principal
from chalicelib.errors import IdempotencyKeyReused, NotAMember, NotFound, StoreUnavailable, ValidationError
from chalicelib.store.base import IdempotencyRecordExists, VersionConflict
from chalicelib.store.repository import AnswerToStore, MemberUpdate, StoredAnswer, Store, store

T = TypeVar("T")
ATTEMPTS = 8


def retrying(operation: Callable[[], T]) -> T:
    """Run a read-then-conditional-write operation again while it loses a race (VersionConflict)."""
    for attempt in range(ATTEMPTS):
        try:
            return operation()
        except VersionConflict:
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
    raise StoreUnavailable("并发冲突，请重试")


def resolve_member(store: Store, principal: Principal) -> tuple[Member, dict[str, Any]]:
    """The active member behind a token, and the program: one round trip when the token names
    the member, two when it was minted before signup (or before a re-signup)."""
    if principal.member_id:
        member, program = store.member_with_program(principal.member_id)
        if member is not None and member.openid == principal.openid:
            return member, program
    context = store.openid_context(principal.openid)
    if context.member_id is None:
        raise NotAMember()
    member, program = store.member_with_program(context.member_id)
    if member is None:
        raise NotAMember()
    return member, program


def read_for_member(principal: Principal, read: Callable[[str], T],
                    member_of: Callable[[T], Member | None]) -> tuple[T, Member]:
    """Read a member-scoped context in one round trip when the token names the member (checked
    against the openid); otherwise, or if that member is gone, resolve the openid first."""
    if principal.member_id:
        context = read(principal.member_id)
        member = member_of(context)
        if member is not None and member.openid == principal.openid:
            return context, member
    resolved, _ = resolve_member(store(), principal)
    context = read(resolved.member_id)
    member = member_of(context)
    if member is None:
        raise NotAMember()
    return context, member


def change_member_once(member_id: str, key: str, digest: str,
                       change: Callable[[Member, dict[str, Any], datetime], tuple[MemberUpdate, Any]]
                       ) -> tuple[int, Any]:
    """An idempotent change of one member: read the member, the program and any earlier answer
    to `key` (one round trip), replay that answer or build the change, and commit it with its
    answer (one transaction); lost races are retried. Returns (status, body)."""
    repo = store()

    def attempt() -> tuple[int, Any]:
        member, program, stored = repo.member_with_answer(member_id, key)
        if stored:
            return replay(stored, digest)
        if member is None:
            raise NotFound("会员不存在")
        update, body = change(member, program, clock.now())
        try:
            repo.commit(update, now=update.plan.now, answer=AnswerToStore(key, digest, 201, body))
        except IdempotencyRecordExists:
            raise VersionConflict() from None  # answered meanwhile: the next attempt replays it
        return 201, body

    return retrying(attempt)


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """An opaque `next_cursor` for a DynamoDB LastEvaluatedKey of string attributes."""
    if not key:
        return None
    flat = {name: next(iter(value.values())) for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(flat).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """The ExclusiveStartKey behind a cursor of `encode_cursor`, checked field by field."""
    if not cursor:
        return None
    try:
        flat = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(flat, dict) or set(flat) != set(fields) or \
                not all(isinstance(v, str) for v in flat.values()):
            raise ValueError(cursor)
    except ValueError:
        raise ValidationError("cursor is invalid") from None
    return {name: {"S": value} for name, value in flat.items()}


def tier_of(principal: Principal | None) -> str | None:
    """The tier code of the member behind a token, or None for a visitor or no token."""
    if principal is None:
        return None
    try:
        member, program = resolve_member(store(), principal)
    except NotAMember:
        return None
    return member_tier(member, program, clock.now())["code"]


def fingerprint(route: str, payload: Any) -> str:
    """A stable digest of what a request asked for, to tell a replay from a reused request_id."""
    canonical = json.dumps([route, payload], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(stored: StoredAnswer, expected_fingerprint: str) -> tuple[int, Any]:
    """The original (status, body) of a replayed request; 409 if the request_id meant something else."""
    if stored.fingerprint != expected_fingerprint:
        raise IdempotencyKeyReused()
    return stored.status, stored.body
