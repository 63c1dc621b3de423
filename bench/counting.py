"""Counting DynamoDB round trips: every HTTP request the app's one botocore client sends (each
attempt, retries included) and the items its Queries return.

The only module that knows how the count is hooked in: `metered_dynamodb()` registers botocore
handlers on the container's shared client (`chalicelib.store.dynamo.shared_client`); everything
else asks a `DynamoMeter` to `record()`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Recording:
    """The DynamoDB requests sent while one `DynamoMeter.record()` block ran."""

    operations: list[str] = field(default_factory=list)
    items_queried: int = 0


class DynamoMeter:
    """Hands every DynamoDB request (its operation name) and Query result count to the recordings
    open at that moment; recordings may nest."""

    def __init__(self) -> None:
        self._open: list[Recording] = []

    @contextmanager
    def record(self) -> Iterator[Recording]:
        """A recording of the requests sent inside the block."""
        recording = Recording()
        self._open.append(recording)
        try:
            yield recording
        finally:
            self._open.remove(recording)

    def on_send(self, event_name: str, **_: Any) -> None:
        """botocore `before-send.dynamodb.<Operation>`: once per HTTP attempt."""
        operation = event_name.rsplit(".", 1)[-1]
        for recording in self._open:
            recording.operations.append(operation)

    def on_query(self, parsed: dict[str, Any], **_: Any) -> None:
        """botocore `after-call.dynamodb.Query`: the items a Query page returned."""
        for recording in self._open:
            recording.items_queried += int(parsed.get("Count", 0))


@contextmanager
def metered_dynamodb() -> Iterator[DynamoMeter]:
    """A meter on the app's shared DynamoDB client (created here if it does not exist yet: enter
    this once the environment names the endpoint)."""
    from chalicelib.store.dynamo import shared_client

    meter = DynamoMeter()
    events = shared_client().meta.events
    events.register("before-send.dynamodb", meter.on_send)
    events.register("after-call.dynamodb.Query", meter.on_query)
    try:
        yield meter
    finally:
        events.unregister("before-send.dynamodb", meter.on_send)
        events.unregister("after-call.dynamodb.Query", meter.on_query)
