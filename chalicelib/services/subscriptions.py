"""Message push use cases: the GET check of the push URL and applying a push to the grants."""
from __future__ import annotations

import contextlib
from datetime import timedelta

from chalicelib import clock
from chalicelib.config import settings
from chalicelib.domain.subscriptions import plan_grants
from chalicelib.services.runner import commit
from chalicelib.store import messaging
from chalicelib.store.parts import UnitOfWork
from chalicelib.wechat.push import read_push, verify_url

PUSH_DEDUPE_TTL = timedelta(days=2)


def check_push_url(query: dict[str, str]) -> str:
    """The `echostr` to answer when WeChat checks the push URL."""
    return verify_url(settings(), query)


def receive_push(uow: UnitOfWork, query: dict[str, str], body: bytes) -> None:
    """Authenticate a push and apply its grant changes once: a retry or replay of a push already
    handled (same sender, CreateTime and content) changes nothing."""
    event = read_push(settings(), query, body, clock.now())
    changes = plan_grants(event.event, event.items)
    if not changes:
        return
    writes = messaging.apply_push(event.openid, event.dedupe_key, event.event, changes, clock.now(), PUSH_DEDUPE_TTL)
    with contextlib.suppress(messaging.PushHandled):  # a retry or a replay: nothing to do
        commit(uow, writes)
