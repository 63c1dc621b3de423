"""What every use case shares: retrying optimistic writes, resolving a token to its member, and
replaying idempotent answers."""
from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.domain.member import Member
from chalicelib.domain.tokens import Principal
from chalicelib.errors import IdempotencyKeyReused, NotAMember, StoreUnavailable
from chalicelib.store.base import VersionConflict
from chalicelib.store.repository import StoredAnswer, Store

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


def fingerprint(route: str, payload: Any) -> str:
    """A stable digest of what a request asked for, to tell a replay from a reused request_id."""
    canonical = json.dumps([route, payload], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(stored: StoredAnswer, expected_fingerprint: str) -> tuple[int, Any]:
    """The original (status, body) of a replayed request; 409 if the request_id meant something else."""
    if stored.fingerprint != expected_fingerprint:
        raise IdempotencyKeyReused()
    return stored.status, stored.body
