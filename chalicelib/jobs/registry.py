"""The jobs by name: what the schedules, the queue handler and `POST /v1/admin/jobs/{job}/run` call."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock, wiring
from chalicelib.errors import NotFound
from chalicelib.jobs import (
    automations,
    birthday_gifts,
    checkout_expiry,
    coupon_expiry,
    member_day,
    points_expiring,
    points_reset,
    rfm_segments,
    tier_review,
)
from chalicelib.jobs.fanout import Segment
from chalicelib.jobs.sharded import ShardedJob, run_segment, start

JOBS: dict[str, ShardedJob] = {job.name: job for job in (
    points_reset.JOB, tier_review.JOB, coupon_expiry.JOB, member_day.JOB, birthday_gifts.JOB, points_expiring.JOB,
    rfm_segments.JOB, automations.JOB, checkout_expiry.JOB,
)}


def run_job(name: str, as_of: datetime, *, dry_run: bool = False) -> dict[str, Any]:
    """Start a job as of an instant (the event time, or the clock for a manual run)."""
    if name not in JOBS:
        raise NotFound(f"没有名为 {name} 的任务")
    counts = start(JOBS[name], wiring.uow(), wiring.wechat(), as_of, dry_run=dry_run)
    return {"job": name, "as_of": clock.render(as_of), "dry_run": dry_run, **counts}


def run_queued_segment(segment: Segment) -> dict[str, Any]:
    """Handle one queued segment of a job."""
    return dict(run_segment(JOBS[segment["job"]], wiring.uow(), wiring.wechat(), segment))
