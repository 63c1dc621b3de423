"""The plumbing under the repository: one connection, transactions, and DynamoDB failures turned
into named errors."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.config import settings
from chalicelib.errors import StoreUnavailable
from chalicelib.store.schema import ALL_MODELS

_MODELS_BY_TABLE = {model.Meta.table_name: model for model in ALL_MODELS}


class VersionConflict(Exception):
    """The item changed between our read and our write; read again and retry."""


class ReferralCodeTaken(Exception):
    """The freshly drawn referral code already belongs to someone; draw another."""


class IdempotencyRecordExists(Exception):
    """Another request with the same key committed first; replay its answer."""


class Cancelled(Exception):
    """A transaction refused by its conditions; `failed` names the items whose condition failed,
    as (table name, hash key value)."""

    def __init__(self, failed: set[tuple[str, str]]) -> None:
        super().__init__(failed)
        self.failed = failed

    def hit(self, model: type[Model], hash_key: str) -> bool:
        """Did the condition on this item fail?"""
        return (model.Meta.table_name, hash_key) in self.failed


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn unexpected DynamoDB failures into 503 STORE_UNAVAILABLE."""
    try:
        yield
    except PynamoDBException as exc:
        raise StoreUnavailable() from exc


@lru_cache(maxsize=1)
def connection() -> Connection:
    """The process-wide low-level connection used by transactions."""
    conf = settings()
    return Connection(region=conf.aws_region, host=conf.dynamodb_endpoint_url,
                      connect_timeout_seconds=2, read_timeout_seconds=5, max_retry_attempts=3)


def _item_key(operation: dict[str, Any]) -> tuple[str, str]:
    """(table, hash key value) of one TransactWriteItems operation."""
    table = operation["TableName"]
    hash_name = _MODELS_BY_TABLE[table]._hash_keyname
    attributes = operation.get("Key") or operation["Item"]
    return table, next(iter(attributes[hash_name].values()))


@contextmanager
def transaction() -> Iterator[TransactWrite]:
    """One TransactWriteItems: condition failures become Cancelled, a clash with a concurrent
    transaction becomes VersionConflict (retry), anything else StoreUnavailable."""
    tx = TransactWrite(connection=connection())
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
            raise Cancelled({_item_key(op) for op, code in zip(sent, codes)
                             if code == "ConditionalCheckFailed"}) from exc
        raise StoreUnavailable() from exc
    except PynamoDBException as exc:
        raise StoreUnavailable() from exc


def condition_failed(exc: PynamoDBException) -> bool:
    """Was a single-item write refused by its condition?"""
    return getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException"


def resolve(future: Any) -> Any:
    """The item a TransactGet future resolved to, or None if it does not exist."""
    try:
        return future.get()
    except DoesNotExist:
        return None
