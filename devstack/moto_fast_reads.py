"""Item reads of the embedded store without moto's generic response serializer.

moto (5.2) serializes every answer by walking botocore's output shape, value by value: an answer
of a hundred items of a hundred attributes each (a `BatchGetItem` of the analytics counters) takes
seconds, where DynamoDB takes milliseconds, and trips the app's 2-second read budget. The answers
of the item reads are already in DynamoDB's wire format (`{"N": "5"}` ...), so this writes them as
JSON directly, with the status and headers moto's serializer gives an empty answer. `install()`
puts it on moto; the embedded store calls it before serving.
"""
from __future__ import annotations

import json
from typing import Any

from moto.core.responses import ActionResult, PaginatedResult

ITEM_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
SERIALIZE = ActionResult.execute_result  # moto's own


def install() -> None:
    """Answer DynamoDB's item reads as plain JSON (idempotent)."""
    ActionResult.execute_result = execute_result  # type: ignore[method-assign]


def execute_result(self: ActionResult, context: Any) -> Any:
    """The answer of an item read as JSON; anything else as moto answers it."""
    if isinstance(self, PaginatedResult) or context.service_model.service_name != "dynamodb" or \
            context.operation_model.name not in ITEM_READS or not isinstance(self.result, dict):
        return SERIALIZE(self, context)
    status, headers, _ = SERIALIZE(ActionResult({}), context)
    return status, headers, json.dumps(self.result, separators=(",", ":"))
