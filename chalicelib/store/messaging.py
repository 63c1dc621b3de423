"""Messaging: subscribe-message grants per openid and template, the message pushes already
handled, the notices the jobs send and each openid's weekly budget of them.

| access pattern                                   | table / index                 | call           |
| ------------------------------------------------ | ----------------------------- | -------------- |
| subscribe-message grants of an openid            | subscriptions (openid, template) | Query / Update |
| a message push already handled (dedupe)          | push_events (TTL `expires_at`) | Put in the transaction |
| a signed (timestamp, nonce) already used         | push_nonces (TTL `expires_at`) | conditional Put / GetItem |
| a notice sent per openid, template, date and job | notices (TTL `expires_at`)    | Put in the transaction |
| an openid's recent job and automation sends      | notice_budgets (TTL)          | Get / in the transaction |
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.clock import shanghai_start_of
from chalicelib.domain.send_budget import SendBudget
from chalicelib.domain.subscriptions import GrantChange
from chalicelib.store.base import TableMeta
from chalicelib.store.parts import Delete, Get, Op, Put, Query, Update, Write, absent, add, assign, eq, gt, lacks

GRANTS_PAGE = 100


class PushHandled(Exception):
    """The push was applied before (a retry or a replay)."""


class NonceUsed(Exception):
    """The (timestamp, nonce) of a signed push came before."""


class NoticeRecorded(Exception):
    """The notice was sent (or is being sent) before."""


class NoGrantLeft(Exception):
    """The openid holds no grant for the template."""


class SubscriptionRecord(Model):
    """Subscribe-message grants of one openid for one template: sends left (`count`), the user's
    latest choice, and what WeChat said about the latest send."""

    class Meta(TableMeta):
        table_name = "subscriptions"

    openid = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)  # type: ignore[assignment]  # shadows Model.count(), never called
    choice = UnicodeAttribute(null=True)
    send_status = UnicodeAttribute(null=True)
    send_error_code = NumberAttribute(null=True)
    msg_id = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class PushEventRecord(Model):
    """A WeChat message push already applied, keyed by sender, CreateTime and content hash, so
    retries and replays change nothing; DynamoDB's TTL removes it."""

    class Meta(TableMeta):
        table_name = "push_events"

    key = UnicodeAttribute(hash_key=True)
    event = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class PushNonceRecord(Model):
    """A signed push's (timestamp, nonce) and the push it carried: a signed URL carries that push
    only, for as long as its timestamp is fresh (kept longer than that; DynamoDB's TTL removes it)."""

    class Meta(TableMeta):
        table_name = "push_nonces"

    key = UnicodeAttribute(hash_key=True)
    push_key = UnicodeAttribute()
    expires_at = TTLAttribute()


class NoticeRecord(Model):
    """A subscribe message a job sends (or is sending) to an openid, keyed by openid, template,
    business date and job: written with the grant it spends, so a member gets at most one; removed
    again if the send fails for good; DynamoDB's TTL removes it."""

    class Meta(TableMeta):
        table_name = "notices"

    key = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    msg_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class NoticeBudgetRecord(Model):
    """The subscribe messages jobs and automations sent an openid on recent dates (its weekly
    budget): `sends` is JSON {notice key: business date}; `version` counts its changes, each
    conditioned on the version read. DynamoDB's TTL removes it once none of its sends counts."""

    class Meta(TableMeta):
        table_name = "notice_budgets"

    openid = UnicodeAttribute(hash_key=True)
    sends = UnicodeAttribute(default="{}")
    version = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


MODELS: tuple[type[Model], ...] = (SubscriptionRecord, PushEventRecord, PushNonceRecord, NoticeRecord,
                                   NoticeBudgetRecord)


def grants(openid: str, cursor: str | None = None) -> Query[SubscriptionRecord, tuple[str, int]]:
    """(template, sends left) of an openid."""
    return Query(SubscriptionRecord, openid, lambda r: (r.template_id, int(r.count or 0)), limit=GRANTS_PAGE,
                 cursor=cursor)


def grant(openid: str, template_id: str) -> Get[SubscriptionRecord, int]:
    """The sends left to an openid for one template."""
    return Get(SubscriptionRecord, (openid, template_id), lambda r: int(r.count or 0) if r else 0)


def apply_push(openid: str, push_key: str, event: str, changes: list[GrantChange], now: datetime,
               keep_for: timedelta) -> list[Write]:
    """Record a push as handled (PushHandled if it was) and apply its grant changes."""
    writes: list[Write] = [Put(PushEventRecord(push_key, event=event, received_at=now, expires_at=now + keep_for),
                               absent(), PushHandled())]
    return writes + [Update(SubscriptionRecord, (openid, change.template_id), _grant_ops(change, now))
                     for change in changes]


def claim_nonce(timestamp: str, nonce: str, push_key: str, now: datetime, keep_for: timedelta) -> Put:
    """Record a signed (timestamp, nonce) with the push it carries (NonceUsed if it came before)."""
    return Put(PushNonceRecord(f"{timestamp}#{nonce}", push_key=push_key, expires_at=now + keep_for), absent(),
               NonceUsed())


def nonce_push(timestamp: str, nonce: str) -> Get[PushNonceRecord, str | None]:
    """The push a signed (timestamp, nonce) carried, if it came before."""
    return Get(PushNonceRecord, (f"{timestamp}#{nonce}",), lambda r: r.push_key if r else None)


def _grant_ops(change: GrantChange, now: datetime) -> tuple[Op, ...]:
    ops = [assign(SubscriptionRecord.updated_at, now)]
    if change.switched_off:
        ops.append(assign(SubscriptionRecord.count, 0))
    elif change.grants:
        ops.append(add(SubscriptionRecord.count, change.grants))
    details = ((SubscriptionRecord.choice, change.choice), (SubscriptionRecord.send_status, change.send_status),
               (SubscriptionRecord.send_error_code, change.send_error_code), (SubscriptionRecord.msg_id, change.msg_id))
    return tuple(ops + [assign(attribute, value) for attribute, value in details if value is not None])


def notice_recorded(key: str) -> Get[NoticeRecord, bool]:
    """Whether the notice under `key` was sent (or is being sent)."""
    return Get(NoticeRecord, (key,), lambda r: r is not None)


def _budget(record: NoticeBudgetRecord | None) -> SendBudget:
    if record is None:
        return SendBudget()
    sends = {key: date.fromisoformat(day) for key, day in json.loads(record.sends).items()}
    return SendBudget(sends, int(record.version or 0))


def budget(openid: str) -> Get[NoticeBudgetRecord, SendBudget]:
    """The openid's recent job and automation sends."""
    return Get(NoticeBudgetRecord, (openid,), _budget)


def _budget_change(openid: str, before: SendBudget, after: SendBudget) -> Update:
    """Store the budget as `after`, if it is still at the version of `before` (else StaleRead);
    it expires once none of its sends (nor those of `before`) counts any more."""
    condition = eq(NoticeBudgetRecord.version, before.version) if before.version else lacks(NoticeBudgetRecord.version)
    until = after.counts_until() or before.counts_until()
    sends = json.dumps({key: day.isoformat() for key, day in sorted(after.sends.items())}, separators=(",", ":"))
    return Update(NoticeBudgetRecord, (openid,),
                  (assign(NoticeBudgetRecord.sends, sends), assign(NoticeBudgetRecord.version, after.version),
                   assign(NoticeBudgetRecord.expires_at, shanghai_start_of(until) if until else None)),
                  condition=condition)


def reserve_notice(openid: str, template_id: str, key: str, member_id: str, now: datetime, keep_for: timedelta,
                   budget_before: SendBudget, budget_after: SendBudget) -> list[Write]:
    """Record the notice (NoticeRecorded if it was), spend one grant (NoGrantLeft if none) and
    count the send in the openid's budget (StaleRead if it changed since `budget_before`)."""
    return [Put(NoticeRecord(key, member_id=member_id, created_at=now, expires_at=now + keep_for),
                absent(), NoticeRecorded()),
            Update(SubscriptionRecord, (openid, template_id),
                   (add(SubscriptionRecord.count, -1), assign(SubscriptionRecord.updated_at, now)),
                   condition=gt(SubscriptionRecord.count, 0), error=NoGrantLeft()),
            _budget_change(openid, budget_before, budget_after)]


def confirm_notice(key: str, msg_id: str) -> Update:
    """Note WeChat's msgid on a sent notice."""
    return Update(NoticeRecord, (key,), (assign(NoticeRecord.msg_id, msg_id),))


def release_notice(openid: str, template_id: str, key: str, now: datetime, budget_now: SendBudget, *,
                   grant_left: bool) -> list[Write]:
    """Undo a reservation whose message was not sent: remove the notice record (a later run may
    send it), take the send out of the budget, and give the grant back, or, when WeChat says none
    is left, set the grants to 0."""
    count = add(SubscriptionRecord.count, 1) if grant_left else assign(SubscriptionRecord.count, 0)
    writes: list[Write] = [Delete(NoticeRecord, (key,)), Update(SubscriptionRecord, (openid, template_id),
                                                                 (count, assign(SubscriptionRecord.updated_at, now)))]
    if key in budget_now.sends:
        writes.append(_budget_change(openid, budget_now, budget_now.giving_back(key)))
    return writes
