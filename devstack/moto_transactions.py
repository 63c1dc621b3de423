"""TransactWriteItems for the embedded store without moto's whole-table copies.

moto (5.2) deep-copies every table a transaction touches before applying it, so that it can roll
back: each transaction costs time proportional to the table's size, which makes a local store of
thousands of members crawl. This replacement keeps moto's semantics (conditions checked per item in
order, all-or-nothing, cancellation reasons per item) but remembers only the items it changes.
`install()` puts it on moto's DynamoDB backend; the embedded store calls it before serving.
"""
from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

_OPERATIONS = {"ConditionCheck", "Put", "Delete", "Update"}


def install() -> None:
    """Replace moto's TransactWriteItems with the item-level one (idempotent)."""
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, rolling back from per-item snapshots."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshots: dict[tuple[str, str], tuple[Table, Any, Any, Item | None]] = {}
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        current: Item | None = None
        try:
            if op_type not in _OPERATIONS:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            key = _key(table, op_type, op)
            ident = (op["TableName"], str(dict(sorted(key.items()))))
            if ident in snapshots:
                raise MultipleTransactionsException()
            hash_value, range_value = self.get_keys_value(table, key)
            current = table.get_item(hash_value, range_value)
            snapshots[ident] = (table, hash_value, range_value, copy.deepcopy(current))
            _check(op, current)
            _apply(self, op_type, op, key)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            _restore(snapshots)
            raise
        except ConditionalCheckFailed as failed:
            wants_item = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
            errors.append(("ConditionalCheckFailed", str(failed.message),
                           current.to_json()["Attributes"] if wants_item else None))
        except Exception as failed:  # noqa: BLE001 - moto reports any other failure per item too
            errors.append((type(failed).__name__, str(failed), None))
    if any(code is not None for code, _, _ in errors):
        _restore(snapshots)
        raise TransactionCanceledException(errors)


def _key(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check(op: dict[str, Any], current: Item | None) -> None:
    expression = op.get("ConditionExpression")
    if expression is None:
        return
    condition = get_filter_expression(expression, op.get("ExpressionAttributeNames"),
                                      op.get("ExpressionAttributeValues"))
    if not condition.expr(current):
        raise ConditionalCheckFailed()


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    condition = op.get("ConditionExpression")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], condition_expression=condition,
                         expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, condition_expression=condition,
                            expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                            condition_expression=condition, expression_attribute_names=names,
                            expression_attribute_values=values)


def _restore(snapshots: dict[tuple[str, str], tuple[Table, Any, Any, Item | None]]) -> None:
    """Put every touched item back as it was (absent items are removed again)."""
    for table, hash_value, range_value, before in snapshots.values():
        if table.has_range_key:
            if before is None:
                table.items[hash_value].pop(range_value, None)
            else:
                table.items[hash_value][range_value] = before
        elif before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
