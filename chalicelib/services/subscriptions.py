"""Message push use cases: the GET check of the push URL and applying a push to the grants."""
from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.config import settings
from chalicelib.domain.subscriptions import plan_grants
from chalicelib.errors import Unauthenticated
from chalicelib.services.runner import commit
from chalicelib.store import messaging
from chalicelib.store.parts import UnitOfWork
from chalicelib.wechat.push import MAX_SKEW_SECONDS, PushEvent, read_push, verify_url

PUSH_DEDUPE_TTL = timedelta(days=2)
# A timestamp is fresh for MAX_SKEW_SECONDS either side of now: its nonce is kept past that.
NONCE_TTL = timedelta(seconds=2 * MAX_SKEW_SECONDS + 60)


def check_push_url(query: dict[str, str]) -> str:
    """The `echostr` to answer when WeChat checks the push URL."""
    return verify_url(settings(), query)


def receive_push(uow: UnitOfWork, query: dict[str, str], body: bytes) -> None:
    """Authenticate a push and apply its grant changes once: a retry (WeChat's, with a new
    timestamp and nonce) or a replay of a push already handled (same sender, CreateTime and
    content) changes nothing; a signed (timestamp, nonce) with another push is 401."""
    now = clock.now()
    event = read_push(settings(), query, body, now)
    _claim_nonce(uow, event, now)
    changes = plan_grants(event.event, event.items)
    if not changes:
        return
    writes = messaging.apply_push(event.openid, event.dedupe_key, event.event, changes, now, PUSH_DEDUPE_TTL)
    with contextlib.suppress(messaging.PushHandled):  # a retry or a replay: nothing to do
        commit(uow, writes)


def _claim_nonce(uow: UnitOfWork, event: PushEvent, now: datetime) -> None:
    """A signed (timestamp, nonce) carries one push, the first it came with: the same push again is
    a replay (deduplicated by the caller), another one is refused."""
    try:
        commit(uow, [messaging.claim_nonce(event.timestamp, event.nonce, event.dedupe_key, now, NONCE_TTL)])
    except messaging.NonceUsed:
        if uow.read(seen=messaging.nonce_push(event.timestamp, event.nonce))["seen"] != event.dedupe_key:
            raise Unauthenticated("微信推送的 nonce 已被使用") from None
