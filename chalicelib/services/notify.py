"""Subscribe-message notices: each send spends one of the member's grants, and a job sends a
member at most one message per template per business date.

The grant is reserved first, in the same transaction as a notice record keyed by (openid,
template, business date, job) that may exist only once; then the message is sent. WeChat 5xx,
busy and transport failures are retried with backoff; if the message still cannot be sent the
record is removed and the grant given back, so neither is lost and a later run may send it.
43101 (WeChat holds no grant) sets the grants to 0. A rejected access token is refreshed once by
the gateway.
"""
from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.notices import render
from chalicelib.errors import StoreUnavailable, WeChatUnavailable
from chalicelib.services.runner import commit
from chalicelib.store import messaging
from chalicelib.store.parts import UnitOfWork
from chalicelib.wechat.miniprogram import SendRefused, WeChatGateway

NO_GRANT_AT_WECHAT = 43101
SEND_BACKOFF_SECONDS = (0.2, 0.4)  # the waits between the 3 attempts of a send
NOTICE_KEEP = timedelta(days=3)

SENT, NO_GRANT, DUPLICATE, FAILED = "sent", "no_grant", "duplicate", "failed"
log = logging.getLogger(__name__)


def notice_key(openid: str, template_id: str, business_date: date, job: str) -> str:
    """The notice record's key: one message per openid, template, business date and job."""
    return f"{openid}#{template_id}#{business_date.isoformat()}#{job}"


def send_notice(uow: UnitOfWork, wechat: WeChatGateway, member_id: str, openid: str, template_id: str,
                values: dict[str, Any], *, job: str, business_date: date, now: datetime,
                page: str | None = None) -> str:
    """Send one subscribe message if the member holds a grant and was not sent this one today;
    answer `sent`, `no_grant`, `duplicate` or `failed` (nothing sent, nothing spent)."""
    data = render(values)
    key = notice_key(openid, template_id, business_date, job)
    try:
        commit(uow, messaging.reserve_notice(openid, template_id, key, member_id, now, NOTICE_KEEP))
    except messaging.NoticeRecorded:
        return DUPLICATE
    except messaging.NoGrantLeft:
        return NO_GRANT
    try:
        msg_id = _send(wechat, openid, template_id, data, page)
    except WeChatUnavailable as exc:
        grant_left = not (isinstance(exc, SendRefused) and exc.errcode == NO_GRANT_AT_WECHAT)
        log.warning("notice %s not sent: %s", key, exc)
        commit(uow, messaging.release_notice(openid, template_id, key, now, grant_left=grant_left))
        return FAILED
    try:
        uow.write(messaging.confirm_notice(key, msg_id))
    except StoreUnavailable:
        log.warning("notice %s sent as %s; its msgid was not recorded", key, msg_id)
    return SENT


def _send(wechat: WeChatGateway, openid: str, template_id: str, data: dict[str, dict[str, str]],
          page: str | None) -> str:
    """Send, retrying WeChat's passing failures (not its refusals) after each backoff."""
    for wait in SEND_BACKOFF_SECONDS:
        try:
            return wechat.send_subscribe(openid, template_id, data, page)
        except SendRefused:
            raise
        except WeChatUnavailable:
            time.sleep(wait)
    return wechat.send_subscribe(openid, template_id, data, page)


def has_grant(uow: UnitOfWork, openid: str, template_id: str) -> bool:
    """Whether the openid holds a grant for the template (what a dry run would send)."""
    left: int = uow.read(left=messaging.grant(openid, template_id))["left"]
    return left > 0
