"""The `rfm-segments` job at scale: members with orders loaded straight into the embedded store (a
tenth of them in each of ten shapes of order history), then the job run through the admin route
twice: the first run (every member is tagged) and the next day's run (only the members whose
segment the new date changes are written; a second run of one date is in the unit tests). Calls
are counted per member; the snapshot's read and a page of a segment's members are counted too.

`python bench/run.py --section rfm --rfm-members N` runs this part alone on a fresh local stack, as
`make bench` does."""
from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any

import boto3

from bench.reset import moto_at_scale, write_items
from bench.stack import Bench, Measurement

RFM_JOB = "rfm-segments"
RFM_MEMBERS = 20_000
DAY = date(2027, 3, 1)
RUNS = (("first run", "2027-03-01T01:00:00+08:00"), ("next day", "2027-03-02T01:00:00+08:00"))
# Ten order histories (days before DAY, amount in fen), one member in ten each, under the default
# rules (window 365 days, recent 90, frequent 2, high spend 100,000 fen). The last two shapes cross
# an edge overnight: recency 90 -> 91 (R falls), 364 days -> 365 (out of the window).
SHAPES: tuple[tuple[str, str, tuple[tuple[int, int], ...]], ...] = (
    ("prospect", "prospect", ()),
    ("prospect", "prospect", ()),
    ("lost", "lost", ((400, 5_000),)),
    ("general_develop", "general_develop", ((10, 5_000),)),
    ("important_value", "important_value", ((5, 60_000), (20, 60_000))),
    ("general_keep", "general_keep", ((100, 5_000), (200, 5_000))),
    ("important_winback", "important_winback", ((120, 150_000),)),
    ("general_value", "general_value", ((1, 5_000), (30, 5_000))),
    ("general_develop", "general_winback", ((90, 5_000),)),
    ("general_winback", "lost", ((364, 5_000),)),
)
CHANGING_SHAPES = sum(1 for first, second, _ in SHAPES if first != second)


def measure_rfm(bench: Bench, members: int) -> dict[str, Any]:
    """Load `members` members, run the job three times, read the snapshot and a page of members."""
    from chalicelib.store.members import MemberRecord

    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    with moto_at_scale():
        with bench.meter.record() as load:
            started = time.perf_counter()
            write_items(client, MemberRecord.Meta.table_name, bulk_members(members))
            load_s = time.perf_counter() - started
        if load.operations:
            raise RuntimeError("the bulk load went through pynamodb's metered sessions")
        runs = []
        for label, at in RUNS:
            bench.call("PUT", "/v1/admin/clock", 200, admin=True, body={"now": at})
            started = time.perf_counter()
            with api_calls() as calls:
                run = bench.call("POST", f"/v1/admin/jobs/{RFM_JOB}/run", 200, admin=True, body={})
            runs.append(run_figures(label, run, time.perf_counter() - started, len(calls)))
        snapshot = bench.call("GET", "/v1/admin/analytics/rfm", 200, admin=True)
        page = bench.call("GET", "/v1/admin/analytics/rfm/members?segment=important_value&limit=20", 200, admin=True)
        bench.call("DELETE", "/v1/admin/clock", 204, admin=True)
    per_shape = members // len(SHAPES)
    return {
        "job": RFM_JOB,
        "members_loaded": members,
        "load_s": round(load_s, 1),
        "runs": runs,
        "expected_tagged": {"first run": members, "next day": per_shape * CHANGING_SHAPES},
        "snapshot_get": {"round_trips": snapshot.round_trips, "calls": dict(Counter(snapshot.operations)),
                         "members_in_snapshot": sum(s["members"] for s in snapshot.body["segments"])},
        "members_page": {"round_trips": page.round_trips, "calls": dict(Counter(page.operations)),
                         "items": len(page.body["items"])},
    }


@contextmanager
def api_calls() -> Iterator[list[str]]:
    """The DynamoDB API calls the app makes inside the block, once each however many attempts
    botocore sends (the meter counts attempts: the difference is botocore's retries)."""
    from chalicelib.store.dynamo import shared_client

    calls: list[str] = []

    def on_call(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    events = shared_client().meta.events
    events.register("before-call.dynamodb", on_call)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", on_call)


def run_figures(label: str, run: Measurement, wall_s: float, api_calls: int) -> dict[str, Any]:
    """One run's counts, calls and time."""
    counts, calls = run.body, Counter(run.operations)
    return {
        "run": label,
        "as_of": counts["as_of"],
        "members": counts["members"],
        "members_moved": counts["members_moved"],
        "members_tagged": counts["members_tagged"],
        "calls": dict(calls),
        "calls_total": run.round_trips,
        "retried_attempts": run.round_trips - api_calls,
        "calls_per_member": round(run.round_trips / counts["members"], 4) if counts["members"] else None,
        "wall_s": round(wall_s, 1),
    }


def bulk_members(count: int) -> Iterator[dict[str, Any]]:
    """Member items as signup and orders write them (the app's own mapping), shape i % 10."""
    from chalicelib.domain.member import Member
    from chalicelib.domain.orders import OrderDay
    from chalicelib.domain.program import default_program
    from chalicelib.store.members import new_record

    base_tier = default_program().base_tier.code
    joined_at = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for i in range(count):
        member_id = f"mrfm{i:07d}"
        orders = SHAPES[i % len(SHAPES)][2]
        days = {DAY - timedelta(days=ago): OrderDay(1, 1, amount) for ago, amount in orders}
        member = Member(member_id, f"mrfm-openid-{i}", joined_at, orders_count=len(days), order_days=days)
        yield new_record(member, base_tier).serialize()


def rfm_markdown(measured: dict[str, Any]) -> str:
    """The job's table for the README."""
    expected = measured["expected_tagged"]
    rows = [f"| {r['run']} ({r['as_of']}) | {r['members']:,} | {r['members_tagged']:,} (expected "
            f"{expected[r['run']]:,}) | {r['members_moved']:,} | {r['calls_total']:,}: "
            f"{', '.join(f'{op} {n:,}' for op, n in sorted(r['calls'].items(), key=lambda kv: -kv[1]))}"
            f"{f' ({n} retried by botocore)' if (n := r['retried_attempts']) else ''} | "
            f"{r['calls_per_member']} | {r['wall_s']:g} s |" for r in measured["runs"]]
    snapshot, page = measured["snapshot_get"], measured["members_page"]
    return "\n".join([
        f"| `{measured['job']}` over {measured['members_loaded']:,} loaded members | members | members written "
        "(tagged) | members moved | DynamoDB calls | calls per member | wall time |",
        "| --- | --- | --- | --- | --- | --- | --- |", *rows, "",
        f"`GET /v1/admin/analytics/rfm` afterwards: {snapshot['round_trips']} round trips "
        f"({', '.join(snapshot['calls'])}) for {snapshot['members_in_snapshot']:,} members; a page of 20 "
        f"`important_value` members: {page['round_trips']} round trips ({', '.join(page['calls'])}). Members "
        f"loaded in {measured['load_s']:g} s (BatchWriteItem, not metered).",
    ])
