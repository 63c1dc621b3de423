"""The jobs by name: what the schedules, the queue handler and `POST /v1/admin/jobs/{job}/run` call."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.errors import NotFound
from chalicelib.jobs import birthday_gifts, coupon_expiry, member_day, points_expiring, points_reset, tier_review
from chalicelib.jobs.fanout import Segment

_STARTS: dict[str, Callable[..., Counter[str]]] = {
    points_reset.NAME: points_reset.start,
    tier_review.NAME: tier_review.start,
    coupon_expiry.NAME: coupon_expiry.start,
    member_day.NAME: member_day.start,
    birthday_gifts.NAME: birthday_gifts.start,
    points_expiring.NAME: points_expiring.start,
}
_SEGMENTS: dict[str, Callable[[Segment], Counter[str]]] = {
    points_reset.NAME: points_reset.run_segment,
    tier_review.NAME: tier_review.run_segment,
    coupon_expiry.NAME: coupon_expiry.run_segment,
    member_day.NAME: member_day.run_segment,
    birthday_gifts.NAME: birthday_gifts.run_segment,
    points_expiring.NAME: points_expiring.run_segment,
}


def run_job(name: str, as_of: datetime, *, dry_run: bool = False) -> dict[str, Any]:
    """Start a job as of an instant (the event time, or the clock for a manual run)."""
    if name not in _STARTS:
        raise NotFound(f"没有名为 {name} 的任务")
    counts = _STARTS[name](as_of, dry_run=dry_run)
    return {"job": name, "as_of": clock.render(as_of), "dry_run": dry_run, **counts}


def run_segment(segment: Segment) -> dict[str, Any]:
    """Handle one queued segment of a job."""
    return dict(_SEGMENTS[segment["job"]](segment))
