"""The unit of work over DynamoDB: every call the app makes goes through one botocore client,
shared by all models and created once per container (`chalicelib.wiring` creates it when the app
is imported, in the Lambda init phase), so that no request pays for building a client.

The pynamodb models give the items their shape: keys, serialization, condition and update
expressions (`get_*_kwargs_from_instance`, `from_raw_data`). A read of several parts is one
`TransactGetItems`; a write of several parts is one `TransactWriteItems` sent in the order given,
so the cancellation reason at position i belongs to part i. DynamoDB's failures become named
errors here: a failed condition is the part's own error, a clash with a concurrent transaction is
`StaleRead` (read again), anything else is `StoreUnavailable`: a throttle, a timeout, a refused or
cut connection, or an answer that is not what DynamoDB sends (garbage JSON, a missing `Responses`).

Every call is budgeted so that a hanging store is answered `503` well inside the API function's
10 s timeout: at most `MAX_ATTEMPTS` x (`CONNECT_TIMEOUT_SECONDS` + `READ_TIMEOUT_SECONDS`) plus
botocore's backoff (tens of milliseconds for DynamoDB), about 4 s when the connection opens and
nothing answers, 6 s at the very worst.
"""
from __future__ import annotations

import json
from binascii import crc32
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition as PynamoCondition
from pynamodb.expressions.condition import Exists
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.config import placement
from chalicelib.errors import StoreUnavailable
from chalicelib.store.parts import (
    Check,
    Condition,
    Delete,
    Get,
    Op,
    Page,
    Put,
    Query,
    StaleRead,
    Update,
    Write,
    decode_cursor,
    encode_cursor,
    failure,
    key_names,
)

T = TypeVar("T")
M = TypeVar("M", bound=Model)
MAX_READ_PARTS = 25
BATCH_KEYS = 100  # DynamoDB's most per BatchGetItem
BATCH_THREADS = 8  # on DynamoDB; a local endpoint (moto, DynamoDB Local) serves one request at a time
MAX_BATCH_ROUNDS = 5
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0
MAX_ATTEMPTS = 2
# What a broken store or network raises from the driver, besides DynamoDB's own ClientError: botocore's
# transport errors, an answer it cannot parse, and an answer of the wrong shape (a missing key, a
# list where a map belongs) met while reading it.
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    BotoCoreError, ResponseParserError, PynamoDBException, OSError, KeyError, IndexError, TypeError, ValueError,
    AttributeError,
)


@lru_cache(maxsize=1)
def shared_client() -> Any:
    """The container's botocore DynamoDB client (timeouts and retries well inside a request)."""
    conf = placement()
    return make_client(conf.aws_region, conf.dynamodb_endpoint_url)


def make_client(region: str, endpoint_url: str | None) -> Any:
    """A botocore DynamoDB client with the budget of the module docstring."""
    config = Config(connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS,
                    parameter_validation=False, max_pool_connections=20,
                    retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"})
    client = aws.session().create_client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config)
    client.meta.events.register("before-parse.dynamodb.*", read_answer)
    return client


class IncompleteAnswer(BotoCoreError):  # type: ignore[misc]
    """A 2xx answer that did not arrive whole."""

    fmt = "DynamoDB's answer was cut short or corrupted"


def check_whole_answer(response_dict: dict[str, Any], **_: Any) -> None:
    """Refuse a 2xx answer that did not arrive whole: a connection closed inside the headers reads
    as a 200 with an empty body (an item "not found"). DynamoDB answers a JSON object, with
    `Content-Length` and usually `x-amz-crc32` of the body, which is checked when present (as the
    AWS SDKs do)."""
    if not 200 <= int(response_dict.get("status_code") or 0) < 300:
        return
    headers, body = response_dict.get("headers") or {}, (response_dict.get("body") or b"").strip()
    if not (body.startswith(b"{") and body.endswith(b"}")):  # botocore reads an unparsable body as {}
        raise IncompleteAnswer()
    expected = headers.get("x-amz-crc32")
    if expected is None:
        if "content-length" not in headers:
            raise IncompleteAnswer()
        return
    if not (expected.isascii() and expected.isdigit()) or crc32(response_dict["body"]) & 0xFFFFFFFF != int(expected):
        raise IncompleteAnswer()


def read_answer(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], operation_model: Any,
                **_: Any) -> None:
    """Check that the answer arrived whole; then read a `BatchGetItem` answer with `json` (C) rather
    than botocore's walk of the output shape, value by value, which costs about 10 µs an attribute
    (a second for a year of the analytics counters): the items are DynamoDB's wire format
    (`{"N": "5"}`) either way, and botocore's parser is left an empty object."""
    check_whole_answer(response_dict)
    if operation_model.name == "BatchGetItem" and 200 <= int(response_dict.get("status_code") or 0) < 300:
        try:
            customized_response_dict.update(json.loads(response_dict["body"]))
        except ValueError as exc:
            raise IncompleteAnswer() from exc
        response_dict["body"] = b"{}"


class DynamoUnitOfWork:
    """Reads and writes parts against DynamoDB; `committed` is told of every write that committed."""

    def __init__(self, client: Any | None = None,
                 committed: Callable[[Sequence[Write]], None] | None = None) -> None:
        self._client = client or shared_client()
        self._committed = committed

    def read(self, **parts: Get[Any, Any]) -> dict[str, Any]:
        """The named items, converted, in one round trip (GetItem, or TransactGetItems)."""
        if not parts:
            return {}
        if len(parts) > MAX_READ_PARTS:
            raise ValueError(f"a read holds at most {MAX_READ_PARTS} parts")
        named = list(parts.items())
        keys = [_get_kwargs(part) for _, part in named]
        with _translated():
            if len(named) == 1:
                raws = [self._client.get_item(**keys[0], ConsistentRead=True).get("Item")]
            else:
                answer = self._client.transact_get_items(TransactItems=[{"Get": key} for key in keys])
                raws = [response.get("Item") for response in answer["Responses"]]
            items = [part.model.from_raw_data(raw) if raw else None for (_, part), raw in zip(named, raws, strict=True)]
        return {name: part.convert(item) for (name, part), item in zip(named, items, strict=True)}

    def read_many(self, parts: Sequence[Get[Any, T]]) -> list[T]:
        """Many items, converted, in order: BatchGetItem calls of `BATCH_KEYS` distinct keys (a key
        asked twice is read once: DynamoDB refuses a batch that repeats one), strongly consistent,
        `BATCH_THREADS` at a time (keys DynamoDB leaves unprocessed are asked again)."""
        keys = [_get_kwargs(part) for part in parts]
        distinct = list({_key_id(key): key for key in keys}.values())
        found: dict[str, Any] = {}
        chunks = [distinct[start:start + BATCH_KEYS] for start in range(0, len(distinct), BATCH_KEYS)]
        threads = 1 if placement().dynamodb_endpoint_url else BATCH_THREADS
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for answer in pool.map(self._batch_get, chunks):
                found.update(answer)
        with _translated():
            records = [part.model.from_raw_data(found[_key_id(key)]) if _key_id(key) in found else None
                       for part, key in zip(parts, keys, strict=True)]
        return [part.convert(record) for part, record in zip(parts, records, strict=True)]

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[str, Any]:
        """The items of some keys (of any tables), by `_key_id`."""
        wanted: dict[str, Any] = {}
        for key in keys:
            wanted.setdefault(key["TableName"], {"Keys": [], "ConsistentRead": True})["Keys"].append(key["Key"])
        found: dict[str, Any] = {}
        with _translated():
            for _ in range(MAX_BATCH_ROUNDS):
                answer = self._client.batch_get_item(RequestItems=wanted)
                for table, items in answer.get("Responses", {}).items():
                    names = {name for key in keys if key["TableName"] == table for name in key["Key"]}
                    for item in items:
                        found[_key_id({"TableName": table, "Key": {n: item[n] for n in names}})] = item
                wanted = answer.get("UnprocessedKeys") or {}
                if not wanted:
                    return found
        raise StoreUnavailable()

    def query(self, part: Query[M, T]) -> Page[T]:
        """One page of a partition (one Query)."""
        kwargs = _query_kwargs(part)
        with _translated():
            answer = self._client.query(**kwargs)
            records = [part.model.from_raw_data(raw) for raw in answer.get("Items", [])]
            cursor = encode_cursor(answer.get("LastEvaluatedKey"))
        return Page([part.convert(record) for record in records], cursor)

    def write(self, *parts: Write) -> None:
        """Every part or none: one conditional single-item call, or one TransactWriteItems."""
        if not parts:
            return
        if len(parts) == 1 and not isinstance(parts[0], Check):
            operation, kwargs = _write_operation(parts[0])
            with _translated(parts):
                getattr(self._client, operation)(**kwargs)
        else:
            items = [{_TRANSACT_NAMES[type(part)]: _write_operation(part)[1]} for part in parts]
            with _translated(parts):
                self._client.transact_write_items(TransactItems=items)
        if self._committed is not None:
            self._committed(parts)

    def update(self, part: Update, convert: Callable[[Any], T]) -> T:
        """Apply one Update and convert the item as it is afterwards (one UpdateItem)."""
        kwargs = _write_operation(part)[1]
        with _translated([part]):
            record = part.model.from_raw_data(self._client.update_item(**kwargs, ReturnValues="ALL_NEW")["Attributes"])
        if self._committed is not None:
            self._committed([part])
        return convert(record)


_TRANSACT_NAMES: dict[type, str] = {Put: "Put", Update: "Update", Delete: "Delete", Check: "ConditionCheck"}


@contextmanager
def _translated(parts: Sequence[Write] = ()) -> Iterator[None]:
    """DynamoDB's failures as named errors (see the module docstring)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException" and len(parts) == 1:
            raise failure(parts[0]) from exc
        if code == "TransactionCanceledException":
            reasons = [(r or {}).get("Code") for r in exc.response.get("CancellationReasons", [])]
            failed = [part for part, reason in zip(parts, reasons, strict=False) if reason == "ConditionalCheckFailed"]
            if failed:
                raise failure(failed[0]) from exc
            if "TransactionConflict" in reasons:
                raise StaleRead() from exc
        if code == "TransactionConflictException":
            raise StaleRead() from exc
        raise StoreUnavailable() from exc
    except DRIVER_ERRORS as exc:
        raise StoreUnavailable() from exc


def _key_id(key: dict[str, Any]) -> str:
    """A table and key as one comparable text."""
    return json.dumps([key["TableName"], key["Key"]], sort_keys=True)


def _get_kwargs(part: Get[Any, Any]) -> dict[str, Any]:
    """TableName and Key of the item."""
    key = part.key
    kwargs: dict[str, Any] = part.model.get_operation_kwargs_from_class(key[0],
                                                                         range_key=key[1] if len(key) > 1 else None)
    return kwargs


def _write_operation(part: Write) -> tuple[str, dict[str, Any]]:
    """The single-item operation's name and its kwargs (also a TransactWriteItems entry)."""
    if isinstance(part, Put):
        model: type[Model] = type(part.record)
        return "put_item", part.record.get_save_kwargs_from_instance(condition=_condition(part.condition, model))
    if isinstance(part, Update):
        return "update_item", part.model(*part.key).get_update_kwargs_from_instance(
            actions=[_action(op) for op in part.ops], condition=_condition(part.condition, part.model))
    if isinstance(part, Check):  # only inside a transaction: there is no single-item call
        return "condition_check", part.model.get_operation_kwargs_from_class(
            part.key[0], range_key=part.key[1] if len(part.key) > 1 else None,
            condition=_condition(part.condition, part.model))
    return "delete_item", part.model(*part.key).get_delete_kwargs_from_instance(
        condition=_condition(part.condition, part.model))


def _query_kwargs(part: Query[Any, Any]) -> dict[str, Any]:
    hash_name, _ = key_names(part.model, part.index)
    key_condition = part.model.get_attributes()[hash_name] == part.hash_value
    if part.range is not None:
        key_condition &= _condition(part.range, part.model)
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    kwargs: dict[str, Any] = {
        "TableName": part.model.Meta.table_name, "Limit": part.limit, "ScanIndexForward": part.forward,
        "KeyConditionExpression": key_condition.serialize(names, values),
    }
    kwargs.update(ExpressionAttributeNames={v: k for k, v in names.items()}, ExpressionAttributeValues=values)
    if part.index is not None:
        kwargs["IndexName"] = part.index.Meta.index_name
    if part.consistent:
        kwargs["ConsistentRead"] = True
    start = decode_cursor(part)
    if start:
        kwargs["ExclusiveStartKey"] = start
    return kwargs


def _condition(condition: Condition | None, model: type[Model]) -> PynamoCondition | None:
    """Our condition as pynamodb's."""
    if condition is None:
        return None
    if condition.op in ("and", "or"):
        left, right = (_condition(term, model) for term in condition.terms)
        joined: PynamoCondition = (left & right) if condition.op == "and" else (left | right)  # type: ignore[operator]
        return joined
    attribute: Any = _target(condition.attribute, condition.path)
    if condition.op == "absent":
        attribute = model.get_attributes()[key_names(model)[0]]
    translated: PynamoCondition = _TRANSLATIONS[condition.op](attribute, *condition.values)
    return translated


_TRANSLATIONS: dict[str, Callable[..., PynamoCondition]] = {
    "=": lambda a, v: a == v, "<": lambda a, v: a < v, "<=": lambda a, v: a <= v,
    ">": lambda a, v: a > v, ">=": lambda a, v: a >= v,
    "between": lambda a, low, high: a.between(low, high), "begins_with": lambda a, prefix: a.startswith(prefix),
    "lacks": lambda a: a.does_not_exist(), "absent": lambda a: a.does_not_exist(),
    "has": lambda a: Exists(a if isinstance(a, Path) else Path(a)),  # an attribute, or a map entry's path
}


def _target(attribute: Any, path: tuple[str, ...]) -> Any:
    """An attribute, or the entry at `path` inside it (pynamodb's document path)."""
    for key in path:
        attribute = attribute[key]
    return attribute


def _action(op: Op) -> Action:
    """Our update operation as pynamodb's."""
    if op.kind == "set":
        return _target(op.attribute, op.path).set(op.value)  # type: ignore[no-any-return]
    if op.kind == "add":
        return op.attribute.add(op.value)
    return op.attribute.remove()
