"""The unit of work in memory, for the service unit tests: the same parts and the same answers as
`dynamo.DynamoUnitOfWork`, with DynamoDB's semantics where the app relies on them.

Items are kept as DynamoDB would hold them (each record's serialized attribute map), so every read
goes through the models' deserialization and the stores' conversions as it does over the wire.
A write checks every part's condition first and applies all of them or none; the first failing
part (in the order given) raises its error. An Update of a missing item creates it; a Query reads
one partition of a table or of an index (sparse: items lacking the index's keys are not in it) in
range-key order, a page of `limit` items at a time, with a cursor wherever a page is full.
`fail_next_write` makes the next write raise an error, as a lost race or an outage would.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.models import Model

from chalicelib.store import parts
from chalicelib.store.parts import Get, Page, Query, Update, Write

T = TypeVar("T")
M = TypeVar("M", bound=Model)
Raw = dict[str, dict[str, Any]]


class InMemoryUnitOfWork:
    """Reads and writes parts against dictionaries; counts its round trips in `calls`."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple[Any, ...], Raw]] = {}
        self.calls = 0
        self._failures: list[Exception] = []

    def fail_next_write(self, error: Exception) -> None:
        """Make the next `write` raise `error` and change nothing."""
        self._failures.append(error)

    def read(self, **gets: Get[Any, Any]) -> dict[str, Any]:
        """The named items, converted."""
        self.calls += 1 if gets else 0
        return {name: get.convert(self._record(get.model, get.key)) for name, get in gets.items()}

    def read_many(self, gets: list[Get[Any, T]]) -> list[T]:
        """Many items, converted, in order (a round trip per hundred distinct keys, as BatchGetItem)."""
        self.calls += -(-len({(get.model, get.key) for get in gets}) // 100)
        return [get.convert(self._record(get.model, get.key)) for get in gets]

    def query(self, part: Query[M, T]) -> Page[T]:
        """One page of a partition."""
        self.calls += 1
        start = parts.decode_cursor(part)
        records = self._partition(part)
        if start is not None:
            after = _position(part, part.model.from_raw_data(copy.deepcopy(start)))
            records = [r for r in records
                       if (_position(part, r) > after if part.forward else _position(part, r) < after)]
        page = records[:part.limit]
        cursor = parts.encode_cursor(_raw_key(part, page[-1])) if len(page) == part.limit and page else None
        return Page([part.convert(record) for record in page], cursor)

    def write(self, *writes: Write) -> None:
        """Every part or none."""
        if not writes:
            return
        self.calls += 1
        if self._failures:
            raise self._failures.pop(0)
        keys = [_write_key(part) for part in writes]
        if len(set(keys)) != len(keys):
            raise ValueError("a transaction touches each item at most once")
        for part, (model, key) in zip(writes, keys, strict=True):
            if part.condition is not None and not _holds(part.condition, self._record(model, key)):
                raise parts.failure(part)
        for part in writes:
            self._apply(part)

    def update(self, part: Update, convert: Callable[[Any], T]) -> T:
        """Apply one Update and convert the item as it is afterwards."""
        self.write(part)
        return convert(self._record(part.model, part.key))

    # ---- storage ---------------------------------------------------------------------------------

    def _table(self, model: type[Model]) -> dict[tuple[Any, ...], Raw]:
        return self.tables.setdefault(model.Meta.table_name, {})

    def _record(self, model: type[M], key: tuple[Any, ...]) -> M | None:
        raw = self._table(model).get(_normal(key))
        return model.from_raw_data(copy.deepcopy(raw)) if raw is not None else None

    def _apply(self, part: Write) -> None:
        model, key = _write_key(part)
        if isinstance(part, parts.Check):
            return
        if isinstance(part, parts.Delete):
            self._table(model).pop(key, None)
            return
        if isinstance(part, parts.Put):
            record = part.record
        else:
            record = self._record(model, key) or model(*part.key)
            for op in part.ops:
                name = op.attribute.attr_name
                if op.path:
                    setattr(record, name, _with_entry(_plain(getattr(record, name)), op.path, op.value))
                elif op.kind == "set":
                    setattr(record, name, copy.deepcopy(op.value))
                elif op.kind == "add" and name not in model.get_attributes():  # a CounterRecord's counter
                    record.counters[name] = record.counters.get(name, 0) + op.value  # type: ignore[attr-defined]
                elif op.kind == "add":
                    setattr(record, name, (getattr(record, name) or 0) + op.value)
                else:
                    setattr(record, name, None)
        self._table(model)[key] = record.serialize(null_check=False)

    def _partition(self, part: Query[M, Any]) -> list[M]:
        hash_name, range_name = parts.key_names(part.model, part.index)
        records = [part.model.from_raw_data(copy.deepcopy(raw)) for raw in self._table(part.model).values()
                   if hash_name in raw and (range_name is None or range_name in raw)]
        matching = [r for r in records if getattr(r, hash_name) == part.hash_value and
                    (part.range is None or _holds(part.range, r))]
        return sorted(matching, key=lambda r: _position(part, r), reverse=not part.forward)


def _normal(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A key without its absent range part; ValueError for an empty string, which DynamoDB refuses
    as a key value."""
    if "" in key:
        raise ValueError("a key attribute cannot be an empty string")
    return tuple(k for k in key if k is not None)


def _write_key(part: Write) -> tuple[type[Model], tuple[Any, ...]]:
    if isinstance(part, parts.Put):
        model = type(part.record)
        hash_name, range_name = parts.key_names(model)
        key = (getattr(part.record, hash_name),) + ((getattr(part.record, range_name),) if range_name else ())
        return model, _normal(key)
    return part.model, _normal(part.key)


def _position(part: Query[Any, Any], record: Model) -> tuple[Any, ...]:
    """Where a record sorts in its partition: the range key, then the table's key."""
    _, range_name = parts.key_names(part.model, part.index)
    table_key = tuple(getattr(record, n) for n in parts.key_names(part.model) if n)
    return ((getattr(record, range_name),) if range_name else ()) + table_key


def _raw_key(part: Query[Any, Any], record: Model) -> parts.RawKey:
    """The LastEvaluatedKey DynamoDB would give after `record`."""
    raw = record.serialize(null_check=False)
    return {name: raw[name] for name in parts.page_key_names(part.model, part.index)}


def _holds(condition: parts.Condition, record: Model | None) -> bool:
    """Evaluate a condition on an item (None: no such item), as DynamoDB does."""
    if condition.op == "and":
        return all(_holds(term, record) for term in condition.terms)
    if condition.op == "or":
        return any(_holds(term, record) for term in condition.terms)
    if condition.op == "absent":
        return record is None
    assert condition.attribute is not None
    value = getattr(record, condition.attribute.attr_name) if record is not None else None
    if condition.path:
        value = _entry(_plain(value), condition.path)
    if condition.op == "has":
        return value is not None
    if condition.op == "lacks":
        return value is None
    if value is None:
        return False
    if condition.op == "between":
        return bool(condition.values[0] <= value <= condition.values[1])
    if condition.op == "begins_with":
        return isinstance(value, str) and value.startswith(condition.values[0])
    return bool(_COMPARE[condition.op](value, condition.values[0]))


def _plain(value: Any) -> Any:
    """A map attribute's value as plain dictionaries (None when absent)."""
    return value.as_dict() if hasattr(value, "as_dict") else copy.deepcopy(value)


def _entry(value: Any, path: tuple[str, ...]) -> Any:
    """The entry at `path` of a map (None when any key is missing)."""
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _with_entry(value: Any, path: tuple[str, ...], entry: Any) -> dict[str, Any]:
    """The map with the entry at `path` set (DynamoDB refuses a path whose parent is missing)."""
    parent = _entry(value, path[:-1])
    if not isinstance(parent, dict):
        raise ValueError(f"the document path {'.'.join(path)} is invalid for update")
    parent[path[-1]] = copy.deepcopy(entry)
    return dict(value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
