"""`python -m admin replay-dlq`: move the messages of the jobs' dead-letter queue back to the jobs
queue, so that the job segments that failed five times run again (every segment is idempotent, so
a segment that ran meanwhile, or a message moved twice, changes nothing twice).

Messages are received ten at a time, sent to the jobs queue with their body and attributes
(`SendMessageBatch`), and deleted from the dead-letter queue once sent. A message the jobs queue
refuses stays in the dead-letter queue (visible again when the run ends) and is counted as failed;
each message is tried once per run, so a run ends when the queue has nothing it has not tried, or
at once when the jobs queue takes none of a batch (it does not exist, no permission). A
message sent but not deleted (the delete failed) is moved again by a later run: harmless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from admin.progress import Progress

BATCH = 10  # SQS's most messages per receive, send and delete
VISIBILITY_SECONDS = 60  # a received message stays hidden from other consumers while it is moved
WAIT_SECONDS = 1  # long polling: an empty answer means the queue is (nearly) empty


@dataclass
class ReplaySummary:
    """Messages moved to the jobs queue, and those that could not be."""

    moved: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


def replay(sqs: Any, dlq_url: str, queue_url: str, progress: Progress, limit: int | None = None) -> ReplaySummary:
    """Move up to `limit` messages (all when None) from `dlq_url` to `queue_url`."""
    summary = ReplaySummary()
    tried: set[str] = set()
    refused: dict[str, str] = {}  # message id -> receipt handle of the messages left in the DLQ
    try:
        while limit is None or summary.moved + summary.failed < limit:
            wanted = BATCH if limit is None else min(BATCH, limit - summary.moved - summary.failed)
            messages = [m for m in _receive(sqs, dlq_url, wanted) if m["MessageId"] not in tried]
            if not messages:
                break
            tried.update(m["MessageId"] for m in messages)
            sent, failures = _send(sqs, queue_url, messages)
            _delete(sqs, dlq_url, [m for m in messages if m["MessageId"] in sent])
            summary.moved += len(sent)
            summary.failed += len(messages) - len(sent)
            summary.failures += failures
            refused.update({m["MessageId"]: m["ReceiptHandle"] for m in messages if m["MessageId"] not in sent})
            progress.advance(len(messages))
            if not sent:
                break
    finally:
        _release(sqs, dlq_url, list(refused.values()))
    return summary


def _receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, WaitTimeSeconds=WAIT_SECONDS,
                                 VisibilityTimeout=VISIBILITY_SECONDS, MessageAttributeNames=["All"])
    messages: list[dict[str, Any]] = answer.get("Messages", [])
    return messages


def _send(sqs: Any, url: str, messages: list[dict[str, Any]]) -> tuple[set[str], list[str]]:
    """The ids of the messages the jobs queue took, and why the others were refused."""
    entries = [{"Id": str(i), "MessageBody": m["Body"],
                **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})}
               for i, m in enumerate(messages)]
    try:
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    except (BotoCoreError, ClientError) as exc:  # the whole batch refused: a missing queue, no permission
        return set(), [f"{type(exc).__name__}: {exc}"]
    taken = {messages[int(entry["Id"])]["MessageId"] for entry in answer.get("Successful", [])}
    return taken, [f"{entry.get('Code')}: {entry.get('Message', '')}" for entry in answer.get("Failed", [])]


def _delete(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    if messages:
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])


def _release(sqs: Any, url: str, handles: list[str]) -> None:
    """Make the messages left in the dead-letter queue visible again at once."""
    for start in range(0, len(handles), BATCH):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(handles[start:start + BATCH])])
