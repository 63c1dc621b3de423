"""Subscribe-message notices: each send spends one of the member's grants, a job sends a member at
most one message per template per business date, and no openid receives more than the program's
`notifications.weekly_cap` messages from jobs and automations in any 7 Shanghai business dates.

One read takes the notice record, the grant and the openid's send budget; a send already recorded,
without a grant or over the budget is not made (the grant is kept). Otherwise one transaction
writes the notice record keyed by (openid, template, business date, job) that may exist only once,
spends the grant (only if one is left) and counts the send in the budget (only if the budget is
still at the version read: a concurrent send anywhere makes it read and decide again); then the
message is sent. WeChat 5xx, busy and transport failures are retried with backoff; if the message
still cannot be sent the record is removed, the send taken out of the budget and the grant given
back, so nothing is lost and a later run may send it. 43101 (WeChat holds no grant) sets the
grants to 0. A rejected access token is refreshed once by the gateway.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.notices import render
from chalicelib.domain.send_budget import SendBudget
from chalicelib.errors import StoreUnavailable, WeChatUnavailable
from chalicelib.services.runner import Command, Decision, run
from chalicelib.store import messaging
from chalicelib.store.parts import Get, StaleRead, UnitOfWork, Write
from chalicelib.wechat.miniprogram import SendRefused, WeChatGateway

NO_GRANT_AT_WECHAT = 43101
SEND_BACKOFF_SECONDS = (0.2, 0.4)  # the waits between the 3 attempts of a send
NOTICE_KEEP = timedelta(days=3)
CONFIRM_BATCH = 100  # msgids noted per transaction

SENT, NO_GRANT, DUPLICATE, CAPPED, FAILED = "sent", "no_grant", "duplicate", "capped", "failed"
CAPPED_COUNT = "notices_capped"  # what the jobs call the sends the budget held back
STATE = ("recorded", "grants", "budget")  # what `state` reads
log = logging.getLogger(__name__)


def notice_key(openid: str, template_id: str, business_date: date, job: str) -> str:
    """The notice record's key: one message per openid, template, business date and job."""
    return f"{openid}#{template_id}#{business_date.isoformat()}#{job}"


def state(openid: str, template_id: str, key: str) -> dict[str, Get[Any, Any]]:
    """What decides a send (named as in `STATE`): its notice record, the grant and the openid's budget."""
    return {"recorded": messaging.notice_recorded(key), "grants": messaging.grant(openid, template_id),
            "budget": messaging.budget(openid)}


def refusal(read: dict[str, Any], business_date: date, weekly_cap: int) -> str | None:
    """Why the send that `read` (see `state`) describes is not made (`duplicate`, `no_grant` or
    `capped`); None if it may go out."""
    if read["recorded"]:
        return DUPLICATE
    if read["grants"] <= 0:
        return NO_GRANT
    budget: SendBudget = read["budget"]
    return None if budget.allows(business_date, weekly_cap) else CAPPED


def reservation(member_id: str, openid: str, template_id: str, key: str, budget: SendBudget, business_date: date,
                now: datetime) -> list[Write]:
    """The parts that reserve a send decided from `budget`: the notice record, the grant, the budget."""
    return messaging.reserve_notice(openid, template_id, key, member_id, now, NOTICE_KEEP, budget,
                                    budget.spending(key, business_date))


def send_notice(uow: UnitOfWork, wechat: WeChatGateway, member_id: str, openid: str, template_id: str,
                values: dict[str, Any], *, job: str, business_date: date, now: datetime, weekly_cap: int,
                page: str | None = None) -> str:
    """Send one subscribe message if the member holds a grant, was not sent this one today and the
    budget allows it; answer `sent`, `no_grant` (nothing read for a member without an openid: one
    imported and not yet on WeChat), `duplicate`, `capped` (nothing read: a cap of 0) or `failed`
    (nothing sent, nothing spent)."""
    if not openid:
        return NO_GRANT
    if weekly_cap <= 0:
        return CAPPED
    data = render(values)
    key = notice_key(openid, template_id, business_date, job)

    def decide(read: dict[str, Any]) -> Decision[str | None]:
        refused = refusal(read, business_date, weekly_cap)
        if refused is not None:
            return Decision(refused)
        return Decision(None, reservation(member_id, openid, template_id, key, read["budget"], business_date, now))

    try:
        refused = run(uow, Command(state(openid, template_id, key), decide))[1]
    except messaging.NoticeRecorded:
        return DUPLICATE
    except messaging.NoGrantLeft:
        return NO_GRANT
    if refused is not None:
        return refused
    msg_id = deliver(uow, wechat, openid, template_id, key, data, now, page)
    if msg_id is None:
        return FAILED
    confirm(uow, [(key, msg_id)])
    return SENT


def dry_outcome(uow: UnitOfWork, openid: str, template_id: str, *, job: str, business_date: date,
                weekly_cap: int) -> str:
    """What `send_notice` would answer if WeChat took the message (one read; none for a cap of 0 or a
    member without an openid)."""
    if not openid:
        return NO_GRANT
    if weekly_cap <= 0:
        return CAPPED
    read = uow.read(**state(openid, template_id, notice_key(openid, template_id, business_date, job)))
    return refusal(read, business_date, weekly_cap) or SENT


def deliver(uow: UnitOfWork, wechat: WeChatGateway, openid: str, template_id: str, key: str,
            data: dict[str, dict[str, str]], now: datetime, page: str | None = None) -> str | None:
    """Send a reserved notice: WeChat's msgid, or None when it could not be sent (the reservation
    is then released)."""
    try:
        return _send(wechat, openid, template_id, data, page)
    except WeChatUnavailable as exc:
        grant_left = not (isinstance(exc, SendRefused) and exc.errcode == NO_GRANT_AT_WECHAT)
        log.warning("notice %s not sent: %s", key, exc)
        release = Command({"budget": messaging.budget(openid)}, lambda read: Decision(None, messaging.release_notice(
            openid, template_id, key, now, read["budget"], grant_left=grant_left)))
        run(uow, release)
        return None


def confirm(uow: UnitOfWork, sent: list[tuple[str, str]]) -> None:
    """Note WeChat's msgids on the sent notices ((key, msgid) pairs), a hundred per transaction;
    a store failure here only loses the msgids."""
    for start in range(0, len(sent), CONFIRM_BATCH):
        batch = sent[start:start + CONFIRM_BATCH]
        try:
            uow.write(*[messaging.confirm_notice(key, msg_id) for key, msg_id in batch])
        except (StoreUnavailable, StaleRead):
            log.warning("%d notices sent; their msgids were not recorded", len(batch))


def counted(outcome: str, sent: str) -> Counter[str]:
    """The job counts an outcome adds: `sent` for a message sent (or, dry, one that would be),
    `notices_capped` for one the budget held back."""
    return Counter({sent: int(outcome == SENT), CAPPED_COUNT: int(outcome == CAPPED)})


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
