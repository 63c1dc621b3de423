"""The `automations` job on the routes' stack: `AUTOMATION_MEMBERS` members loaded straight into the
store in seven shapes (a seventh each), a `lapsed` automation (60 days: 20 points and a coupon,
holdout 20%) and a `no_first_order` one (14 days: 10 points, holdout 20%), then the job run through
the admin route on three dates and once more on the last: DynamoDB calls per member reached, and
what a run that reaches nobody costs (the per-shard queries, none for the members no trigger
selects); then `GET /v1/admin/analytics/automations`'s round trips.

`python bench/automations.py [N]` runs this part alone on a fresh local stack (`make bench` runs it
after the routes)."""
from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import boto3  # noqa: E402

from bench.reset import write_items  # noqa: E402
from bench.stack import Bench  # noqa: E402

AUTOMATION_MEMBERS = 700
DAY = date(2027, 3, 1)
# (shape, days before DAY of the latest order or None, days before DAY of joining)
SHAPES: tuple[tuple[str, int | None, int], ...] = (
    ("lapsed 60 days", 60, 400), ("lapsed 200 days", 200, 400), ("lapses tomorrow", 59, 400),
    ("recent buyer", 10, 400), ("joined 14 days ago", None, 14), ("joined 13 days ago", None, 13),
    ("joined 3 days ago", None, 3),
)
RUNS = (("first run", "2027-03-01T09:00:00+08:00"), ("next day", "2027-03-02T09:00:00+08:00"),
        ("next day, again", "2027-03-02T09:00:00+08:00"), ("a day reaching nobody", "2027-03-03T09:00:00+08:00"))
TARGET_PER_MEMBER = 0.5


def measure_automations(bench: Bench, members: int = AUTOMATION_MEMBERS) -> dict[str, Any]:
    """Load the members, configure the automations, run the job on each date, read the results."""
    from chalicelib.store.members import MemberRecord

    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    write_items(client, MemberRecord.Meta.table_name, bulk_members(members))
    template = bench.call("POST", "/v1/admin/coupon-templates", 201, admin=True, body={
        "name": "回归券", "kind": "amount_off", "amount_off_fen": 2000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 30}}).body["template_id"]
    program = bench.call("GET", "/v1/admin/program", 200, admin=True).body
    original = dict(program)
    program["automations"] = [
        {"id": "bench-lapsed", "name": "回归礼包", "active": True, "trigger": {"type": "lapsed", "days": 60},
         "coupon_template_id": template, "points": 20, "notice_template_id": None, "holdout_pct": 20},
        {"id": "bench-first", "name": "首单激励", "active": True, "trigger": {"type": "no_first_order", "days": 14},
         "coupon_template_id": None, "points": 10, "notice_template_id": None, "holdout_pct": 20}]
    bench.call("PUT", "/v1/admin/program", 200, admin=True, body=program)
    runs = []
    for label, at in RUNS:
        bench.call("PUT", "/v1/admin/clock", 200, admin=True, body={"now": at})
        run = bench.call("POST", "/v1/admin/jobs/automations/run", 200, admin=True, body={})
        counts = run.body
        runs.append({"run": label, "as_of": counts["as_of"], "members_reached": counts["members"],
                     "entered": counts["entered"], "control": counts["control"], "calls_total": run.round_trips,
                     "calls": dict(Counter(run.operations)),
                     "calls_per_member_reached": round(run.round_trips / counts["members"], 3)
                     if counts["members"] else None})
    for run in runs:  # what each member reached adds to the run's fixed cost
        extra = run["calls_total"] - runs[-1]["calls_total"]
        reached = run["members_reached"]
        run["added_calls_per_member_reached"] = round(extra / reached, 3) if reached else None
    results = bench.call("GET", "/v1/admin/analytics/automations", 200, admin=True)
    bench.call("DELETE", "/v1/admin/clock", 204, admin=True)
    bench.call("PUT", "/v1/admin/program", 200, admin=True, body=original)
    write_items(client, MemberRecord.Meta.table_name, ({"DeleteRequest": {"Key": {"member_id": {"S": member_id}}}}
                                                      for member_id in member_ids(members)), wrap=False)
    nobody = runs[-1]["calls_total"]
    return {"members_loaded": members, "shapes": [shape for shape, _, _ in SHAPES], "runs": runs,
            "fixed_calls": nobody, "target_per_member": TARGET_PER_MEMBER,
            "results_get": {"round_trips": results.round_trips, "calls": dict(Counter(results.operations)),
                            "items": [item["id"] for item in results.body["items"]]}}


def bulk_members(count: int) -> Iterator[dict[str, Any]]:
    """Member items as signup and orders write them (the app's own mapping), shape i % 7."""
    from chalicelib.domain.member import Member
    from chalicelib.domain.orders import OrderDay
    from chalicelib.domain.program import default_program
    from chalicelib.store.members import new_record

    base_tier = default_program().base_tier.code
    for i, member_id in enumerate(member_ids(count)):
        _, ordered, joined = SHAPES[i % len(SHAPES)]
        days = {DAY - timedelta(days=ordered): OrderDay(1, 1, 10_000)} if ordered is not None else {}
        joined_at = datetime.combine(DAY - timedelta(days=joined), datetime.min.time(), timezone.utc)
        member = Member(member_id, f"mauto-openid-{i}", joined_at, orders_count=len(days), order_days=days)
        yield new_record(member, base_tier).serialize()


def member_ids(count: int) -> Iterator[str]:
    """The loaded members' ids."""
    return (f"mauto{i:06d}" for i in range(count))


def automations_markdown(measured: dict[str, Any]) -> str:
    """The job's table for the README."""
    lines = ["| `automations` run | members reached | entered (control) | DynamoDB calls | per member reached "
             f"(target ≤ {measured['target_per_member']}) | added per member reached |",
             "| --- | --- | --- | --- | --- | --- |"]
    for run in measured["runs"]:
        per, added = run["calls_per_member_reached"], run["added_calls_per_member_reached"]
        lines.append(f"| {run['run']} ({run['as_of'][:10]}) | {run['members_reached']} | {run['entered']} "
                     f"({run['control']}) | {run['calls_total']} | {per if per is not None else '–'} | "
                     f"{added if added is not None else '–'} |")
    get = measured["results_get"]
    lines += ["", f"{measured['members_loaded']} members loaded ({', '.join(measured['shapes'])}, a seventh each). "
              f"A run reaching nobody costs {measured['fixed_calls']} calls (per shard: the program and one Query "
              f"per trigger), whatever the members. `GET /v1/admin/analytics/automations`: {get['round_trips']} "
              "round trip."]
    return "\n".join(lines)


if __name__ == "__main__":
    from bench.stack import in_process_app

    with in_process_app() as running:
        measured = measure_automations(running, int(sys.argv[1]) if len(sys.argv) > 1 else AUTOMATION_MEMBERS)
    print(automations_markdown(measured))
