"""CloudWatch metrics in the embedded metric format (EMF): a log line that CloudWatch Logs turns
into metrics, so no client, call or dependency is needed. Namespace `MemberLoyalty`, every metric
with the `Stage` dimension (some with one more), emitted from the few places that see every case:

- `committed`: after every committed write (the unit of work), the store-wide figures it added
  (`Orders`, `PointsIssued`, `PointsSpent`, `CouponsIssued`, `NewMembers`), read from the figure
  counters the write itself carries: whatever the use case, exactly what was committed;
- `wechat_failed` (`WeChatFailures`, by `errcode`) and `grant_spent` (`GrantsSpent`: a subscribe
  message WeChat accepted uses one grant) from the WeChat adapter;
- `job_progress` from the sharded jobs' page loop: `JobPages` and the page's counts, by `Job`.
"""
from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from chalicelib.store.analytics import day_counts
from chalicelib.store.parts import Write

NAMESPACE = "MemberLoyalty"
FIGURE_METRICS = {"orders": "Orders", "points_issued": "PointsIssued", "points_spent": "PointsSpent",
                  "coupons_issued": "CouponsIssued", "new_members": "NewMembers"}
log = logging.getLogger("chalicelib.metrics")


def emit(values: Mapping[str, int], **dimensions: str) -> None:
    """One EMF record of counts (nothing when every count is 0), with `Stage` and `dimensions`."""
    counted = {name: value for name, value in values.items() if value}
    if not counted:
        return
    dims = {"Stage": os.environ.get("STAGE", "local"), **dimensions}
    record = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [list(dims)],
            "Metrics": [{"Name": name, "Unit": "Count"} for name in counted]}]},
        **dims, **counted,
    }
    log.info("metrics", extra={"root": record})


def committed(parts: Sequence[Write]) -> None:
    """The figures a committed write added, as metrics."""
    counts = day_counts(parts)
    emit({metric: counts[name] for name, metric in FIGURE_METRICS.items()})


def wechat_failed(errcode: object) -> None:
    """A WeChat call that failed, by its errcode (`transport` when no answer came)."""
    emit({"WeChatFailures": 1}, errcode=str(errcode))


def grant_spent() -> None:
    """A subscribe message WeChat accepted."""
    emit({"GrantsSpent": 1})


def job_progress(job: str, counts: Counter[str]) -> None:
    """One page of a job handled, with what it counted."""
    emit({"JobPages": 1, **counts}, Job=job)
