"""Idempotency records: the first answer given to a request key, replayed on retries.

| access pattern                         | table / index                  | call                          |
| -------------------------------------- | ------------------------------ | ----------------------------- |
| the answer already given to a key      | idempotency (TTL `expires_at`) | in the use case's TransactGet |
| record an answer with its state change | idempotency                    | Put in its transaction        |

Keys are scoped by caller: `member:<member_id>:<request_id>`, `admin:<key identity>:<request_id>`,
`refund:<order_id>:<refund_id>`, `job:<job>:<date>:<member_id>`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.base import TableMeta
from chalicelib.store.parts import AlreadyAnswered, Get, Put, Write, absent

KEEP_FOR = timedelta(days=30)


class IdempotencyRecord(Model):
    """The first answer to a request key, replayed on retries until DynamoDB's TTL removes it."""

    class Meta(TableMeta):
        table_name = "idempotency"

    key = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    status = NumberAttribute()
    body = UnicodeAttribute()
    expires_at = TTLAttribute()


MODELS: tuple[type[Model], ...] = (IdempotencyRecord,)


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given to a key, with the fingerprint of the request that got it."""

    fingerprint: str
    status: int
    body: Any


def _answer(record: IdempotencyRecord | None) -> StoredAnswer | None:
    return StoredAnswer(record.fingerprint, int(record.status), json.loads(record.body)) if record else None


@dataclass(frozen=True)
class RequestKey:
    """Where a command's answer is kept: an idempotency record of its own."""

    key: str

    @property
    def read(self) -> Get[IdempotencyRecord, StoredAnswer | None]:
        """The answer already given, if any."""
        return Get(IdempotencyRecord, (self.key,), _answer)

    def record(self, answer: StoredAnswer, now: datetime) -> Write | None:
        """Keep the answer (AlreadyAnswered if another attempt kept one first)."""
        return Put(IdempotencyRecord(self.key, fingerprint=answer.fingerprint, status=answer.status,
                                     body=json.dumps(answer.body, ensure_ascii=False), expires_at=now + KEEP_FOR),
                   absent(), AlreadyAnswered())
