"""What a unit of work reads and writes, in terms of the pynamodb models but independent of how
they are stored: both units of work (`dynamo` over the wire, `memory` for unit tests) take the same
parts.

- `Get` names one item and how to convert its record (or None) into a domain value; a read of
  several named `Get`s is one round trip.
- `Query` names one page of a table or index partition; it answers a `Page` whose `cursor` is
  opaque (encoded here, bound to the partition it came from).
- `Put`, `Update`, `Delete` and `Check` (a condition on an item it leaves alone) each carry their
  own `Condition` and the error its failure means; a write of several parts is one transaction,
  all or nothing.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pynamodb.attributes import Attribute
from pynamodb.indexes import Index
from pynamodb.models import Model

from chalicelib.errors import ValidationError

INVALID_CURSOR = "cursor 无效，请使用上一页返回的 next_cursor"

T = TypeVar("T")
M = TypeVar("M", bound=Model)
Key = tuple[Any, ...]
RawKey = dict[str, dict[str, str]]


class StaleRead(Exception):
    """What was read has changed (a condition on it failed, or a concurrent transaction touched
    it): read again and decide again."""


class AlreadyAnswered(StaleRead):
    """The request's idempotency record (or order) was written first by another attempt: read
    again, and the answer recorded there is replayed."""


# ---- conditions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    """A condition on one item: a comparison of one attribute, the item's absence, or `&` / `|`
    of conditions. Attributes are the models' pynamodb attributes."""

    op: str
    attribute: Attribute[Any] | None = None
    values: tuple[Any, ...] = ()
    terms: tuple[Condition, ...] = ()
    path: tuple[str, ...] = ()  # an entry inside a map attribute, key by key

    def __and__(self, other: Condition) -> Condition:
        return Condition("and", terms=(self, other))

    def __or__(self, other: Condition) -> Condition:
        return Condition("or", terms=(self, other))


def absent() -> Condition:
    """The item does not exist yet."""
    return Condition("absent")


def eq(attribute: Attribute[Any], value: Any) -> Condition:
    """The attribute equals `value`."""
    return Condition("=", attribute, (value,))


def lt(attribute: Attribute[Any], value: Any) -> Condition:
    """The attribute is below `value`."""
    return Condition("<", attribute, (value,))


def le(attribute: Attribute[Any], value: Any) -> Condition:
    """The attribute is at most `value`."""
    return Condition("<=", attribute, (value,))


def gt(attribute: Attribute[Any], value: Any) -> Condition:
    """The attribute is above `value`."""
    return Condition(">", attribute, (value,))


def between(attribute: Attribute[Any], low: Any, high: Any) -> Condition:
    """low <= attribute <= high."""
    return Condition("between", attribute, (low, high))


def begins_with(attribute: Attribute[Any], prefix: str) -> Condition:
    """The (string) attribute starts with `prefix`."""
    return Condition("begins_with", attribute, (prefix,))


def lacks(attribute: Attribute[Any]) -> Condition:
    """The item has no such attribute (or no item exists)."""
    return Condition("lacks", attribute)


def present(attribute: Attribute[Any]) -> Condition:
    """The item has this attribute."""
    return Condition("has", attribute)


def has_entry(attribute: Attribute[Any], *path: str) -> Condition:
    """The map attribute holds an entry at `path` (keys, outermost first)."""
    return Condition("has", attribute, path=path)


# ---- update operations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One change of an attribute: `set` a value, `add` a number (from 0 when absent), `remove`."""

    kind: str
    attribute: Attribute[Any]
    value: Any = None
    path: tuple[str, ...] = ()  # an entry inside a map attribute, key by key


def assign(attribute: Attribute[Any], value: Any) -> Op:
    """Set the attribute, or remove it when `value` is None."""
    return Op("remove", attribute) if value is None else Op("set", attribute, value)


def assign_entry(attribute: Attribute[Any], path: tuple[str, ...], value: Any) -> Op:
    """Set an entry of a map attribute that exists (`path`: keys, outermost first)."""
    return Op("set", attribute, value, path)


def add(attribute: Attribute[Any], amount: int) -> Op:
    """Add `amount` to a number attribute (DynamoDB's ADD: a missing attribute counts as 0)."""
    return Op("add", attribute, amount)


# ---- parts ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Get(Generic[M, T]):
    """One item by key, converted by `convert` (which receives None when it does not exist)."""

    model: type[M]
    key: Key
    convert: Callable[[M | None], T]


@dataclass(frozen=True)
class Put:
    """Write a whole item (replacing any item with its key) if `condition` holds."""

    record: Model
    condition: Condition | None = None
    error: Exception | None = None


@dataclass(frozen=True)
class Update:
    """Change some attributes of an item (creating it if absent) if `condition` holds."""

    model: type[Model]
    key: Key
    ops: tuple[Op, ...]
    condition: Condition | None = None
    error: Exception | None = None


@dataclass(frozen=True)
class Delete:
    """Remove an item if `condition` holds."""

    model: type[Model]
    key: Key
    condition: Condition | None = None
    error: Exception | None = None


@dataclass(frozen=True)
class Check:
    """Change nothing, but only if `condition` holds of the item (a part of a transaction)."""

    model: type[Model]
    key: Key
    condition: Condition
    error: Exception | None = None


Write = Put | Update | Delete | Check


def merged(writes: list[Write]) -> list[Write]:
    """The writes with unconditioned ADD-only updates of one item made one (a transaction touches
    each item once: two members of one shard add to the same counters)."""
    result: list[Write] = []
    counters: dict[tuple[Any, ...], int] = {}
    for part in writes:
        if isinstance(part, Update) and part.condition is None and all(op.kind == "add" for op in part.ops):
            identity = (part.model, part.key)
            if identity in counters:
                at = counters[identity]
                earlier = result[at]
                assert isinstance(earlier, Update)
                result[at] = Update(part.model, part.key, _sum_ops(earlier.ops + part.ops))
                continue
            counters[identity] = len(result)
        result.append(part)
    return result


def _sum_ops(ops: tuple[Op, ...]) -> tuple[Op, ...]:
    totals: dict[str, Op] = {}
    for op in ops:
        name = op.attribute.attr_name
        totals[name] = Op("add", op.attribute, (totals[name].value if name in totals else 0) + op.value)
    return tuple(totals.values())


def failure(part: Write) -> Exception:
    """The error a part's failed condition means (StaleRead when the part names none)."""
    return part.error if part.error is not None else StaleRead()


@dataclass(frozen=True)
class Query(Generic[M, T]):
    """One page of the items of a partition (`hash_value`) of a table or index, in range-key
    order (`forward`), optionally narrowed by a condition on the range key."""

    model: type[M]
    hash_value: Any
    convert: Callable[[M], T]
    limit: int
    cursor: str | None = None
    index: type[Index[Any]] | None = None
    range: Condition | None = None
    forward: bool = True
    consistent: bool = False


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items and the opaque cursor of the next page (None on the last page)."""

    items: list[T] = field(default_factory=list)
    cursor: str | None = None


# ---- keys and cursors ----------------------------------------------------------------------------

def key_names(model: type[Model], index: type[Index[Any]] | None = None) -> tuple[str, str | None]:
    """The (hash, range) attribute names of a table, or of one of its indexes."""
    attributes = index.Meta.attributes if index is not None else model.get_attributes()
    hash_name = next(name for name, a in attributes.items() if a.is_hash_key)
    range_name = next((name for name, a in attributes.items() if a.is_range_key), None)
    return hash_name, range_name


def page_key_names(model: type[Model], index: type[Index[Any]] | None) -> set[str]:
    """The attributes of a LastEvaluatedKey: the table's key, plus the index's key."""
    names = {n for n in key_names(model) if n}
    if index is not None:
        names |= {n for n in key_names(model, index) if n}
    return names


def encode_cursor(raw_key: RawKey | None) -> str | None:
    """An opaque cursor for a LastEvaluatedKey (None for the last page)."""
    if not raw_key:
        return None
    text = json.dumps(raw_key, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(part: Query[Any, Any]) -> RawKey | None:
    """The ExclusiveStartKey behind a part's cursor; a ValidationError ("cursor is invalid") unless
    it is a key of the part's own table, index and partition."""
    if not part.cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(part.cursor + "=" * (-len(part.cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise ValidationError(INVALID_CURSOR, "cursor") from None
    hash_name = key_names(part.model, part.index)[0]
    expected_hash = part.model.get_attributes()[hash_name].serialize(part.hash_value)
    if not isinstance(raw, dict) or set(raw) != page_key_names(part.model, part.index) or \
            not all(_scalar(value) for value in raw.values()) or \
            next(iter(raw[hash_name].values())) != expected_hash:
        raise ValidationError(INVALID_CURSOR, "cursor")
    return raw


def _scalar(value: Any) -> bool:
    """A key value as DynamoDB writes it: `{"S": text}` or `{"N": digits}`."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    kind, text = next(iter(value.items()))
    if not isinstance(text, str) or kind not in ("S", "N"):
        return False
    digits = text.removeprefix("-")
    return kind == "S" or (digits.isascii() and digits.isdigit() and len(digits) <= 38)


class UnitOfWork(Protocol):
    """What the services and jobs need of storage: `dynamo.DynamoUnitOfWork` and, in unit tests,
    `memory.InMemoryUnitOfWork`."""

    def read(self, **parts: Get[Any, Any]) -> dict[str, Any]:
        """The named items, converted, in one round trip."""

    def read_many(self, parts: list[Get[Any, T]]) -> list[T]:
        """Many items of one kind, converted, in order (a round trip per hundred)."""

    def query(self, part: Query[Any, T]) -> Page[T]:
        """One page of a partition."""

    def write(self, *parts: Write) -> None:
        """Every part or none, in one round trip."""

    def update(self, part: Update, convert: Callable[[Any], T]) -> T:
        """Apply one Update and convert the item as it is afterwards."""


def every(uow: UnitOfWork, query: Callable[[str | None], Query[Any, T]]) -> list[T]:
    """All the items of a partition, page after page."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = uow.query(query(cursor))
        items += page.items
        cursor = page.cursor
        if cursor is None:
            return items


def read_all(uow: UnitOfWork, parts: dict[str, Get[Any, Any]]) -> dict[str, Any]:
    """Many named items of any kinds, converted: one BatchGetItem per hundred, strongly consistent."""
    names = list(parts)
    return dict(zip(names, uow.read_many([parts[name] for name in names]), strict=True))
