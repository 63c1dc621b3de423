"""The fan-out of job segments: an SQS queue when `JOBS_QUEUE_URL` is set (each message is handled
by the app's `on_sqs_message` handler, in parallel Lambda invocations), otherwise inline in this
process (the local stage), which then also adds up the segments' counts."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.errors import StoreUnavailable

Segment = dict[str, Any]
SQS_BATCH = 10


def dispatch(segments: list[Segment], handle: Callable[[Segment], Counter[str]]) -> Counter[str]:
    """Queue every segment (deployed), or run them here and return their summed counts (local)."""
    queue_url = settings().jobs_queue_url
    if queue_url is None:
        totals: Counter[str] = Counter()
        for segment in segments:
            totals.update(handle(segment))
        return totals
    for start in range(0, len(segments), SQS_BATCH):
        batch = segments[start:start + SQS_BATCH]
        answer = _sqs().send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "MessageBody": json.dumps(segment)} for i, segment in enumerate(batch)])
        if answer.get("Failed"):
            # Nothing is lost by failing here: the job is idempotent, so running it again is safe.
            raise StoreUnavailable("任务队列暂时不可用，请重新运行任务")
    return Counter({"segments_queued": len(segments)})


def continue_later(segment: Segment) -> bool:
    """Queue the rest of a segment as a new message (deployed: one page per invocation, so a crash
    repeats at most one page); False locally, where the caller simply goes on."""
    queue_url = settings().jobs_queue_url
    if queue_url is None:
        return False
    _sqs().send_message(QueueUrl=queue_url, MessageBody=json.dumps(segment))
    return True


@lru_cache(maxsize=1)
def _sqs() -> Any:
    """The container's SQS client (botocore's, as every AWS client of the app: boto3 is not shipped)."""
    from botocore.config import Config

    # Bounded like every outbound call: a hanging queue fails the segment, which SQS then redelivers.
    config = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 3, "mode": "standard"})
    return aws.session().create_client("sqs", region_name=settings().aws_region, config=config)
