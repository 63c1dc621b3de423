"""The `member-day` job's DynamoDB calls per member, on the routes' stack: `JOB_MEMBERS` members
loaded straight into the store (the app's own mapping), each holding a grant of the member-day
notice, then the job run through the admin route on a member day with a coupon and a notice, run
again (a re-run issues and sends nothing), and run with nothing to do (no coupon, no notice).
The loaded members are removed afterwards, so the sections that follow see the routes' store."""
from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3

from bench.reset import write_items
from bench.stack import Bench

JOB_MEMBERS = 400
MEMBER_DAY = "2026-12-08T00:30:00+08:00"
NOTICE_TEMPLATE = "tpl-bench-member-day"
CALLS_TARGET = 0.5  # most DynamoDB calls per member reached, with a coupon and a notice


def measure_member_day(bench: Bench, members: int = JOB_MEMBERS) -> dict[str, Any]:
    """Load the members and their grants, run the job three ways, remove the members."""
    from chalicelib.store.members import MemberRecord
    from chalicelib.store.messaging import SubscriptionRecord

    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    ids = [f"mday{i:06d}" for i in range(members)]
    write_items(client, MemberRecord.Meta.table_name, bulk_members(ids))
    write_items(client, SubscriptionRecord.Meta.table_name,
                (SubscriptionRecord(f"mday-openid-{i}", NOTICE_TEMPLATE, count=1).serialize() for i in range(members)))
    original = bench.call("GET", "/v1/admin/program", 200, admin=True).body
    template = bench.call("POST", "/v1/admin/coupon-templates", 201, admin=True, body={
        "name": "会员日满100减10", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 7}}).body
    bench.call("PUT", "/v1/admin/clock", 200, admin=True, body={"now": MEMBER_DAY})
    try:
        put_program(bench, original, template["template_id"], NOTICE_TEMPLATE)
        first = run_job(bench, "with a coupon and a notice")
        again = run_job(bench, "the same day again")
        put_program(bench, original, None, None)
        idle = run_job(bench, "with nothing to do")
    finally:
        bench.call("PUT", "/v1/admin/program", 200, admin=True, body=original)
        bench.call("DELETE", "/v1/admin/clock", 204, admin=True)
        write_items(client, MemberRecord.Meta.table_name,
                    ({"DeleteRequest": {"Key": {"member_id": {"S": member_id}}}} for member_id in ids), wrap=False)
    return {"job": "member-day", "as_of": MEMBER_DAY, "members_loaded": members,
            "target_calls_per_member": CALLS_TARGET, "meets_target": first["calls_per_member"] <= CALLS_TARGET,
            "runs": [first, again, idle]}


def put_program(bench: Bench, original: dict[str, Any], template_id: str | None, notice: str | None) -> None:
    """The program with 8 December a member day giving this coupon and this notice."""
    program = {**original,
               "member_days": {**original["member_days"], "days_of_month": [8], "coupon_template_id": template_id},
               "notifications": {**original["notifications"],
                                 "templates": {**original["notifications"]["templates"], "member_day": notice}}}
    bench.call("PUT", "/v1/admin/program", 200, admin=True, body=program)


def run_job(bench: Bench, label: str) -> dict[str, Any]:
    """One run of the job through the admin route: its counts, calls and WeChat sends."""
    started = time.perf_counter()
    run = bench.call("POST", "/v1/admin/jobs/member-day/run", 200, admin=True, body={})
    wall_s = time.perf_counter() - started
    reached = run.body["members"]
    return {"run": label, "counts": {k: v for k, v in run.body.items() if isinstance(v, int) and k != "dry_run"},
            "calls_total": run.round_trips, "calls": dict(Counter(run.operations)),
            "calls_per_member": round(run.round_trips / reached, 3) if reached else None,
            "wechat_sends": sum(1 for path in run.wechat_calls if path.endswith("/subscribe/send")),
            "wall_s": round(wall_s, 2)}


def bulk_members(ids: list[str]) -> Iterator[dict[str, Any]]:
    """Member items as signup writes them (without points, so the reset bench never sees them)."""
    from chalicelib.domain.member import Member
    from chalicelib.domain.program import default_program
    from chalicelib.store.members import new_record

    base_tier = default_program().base_tier.code
    joined_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i, member_id in enumerate(ids):
        yield new_record(Member(member_id, f"mday-openid-{i}", joined_at), base_tier).serialize()


def member_day_markdown(measured: dict[str, Any]) -> str:
    """The job's table for the README."""
    rows = [f"| {r['run']} | {r['counts'].get('members', 0):,} | {r['counts'].get('coupons_issued', 0):,} | "
            f"{r['counts'].get('notices_sent', 0):,} | {r['calls_total']:,}: "
            f"{', '.join(f'{op} {n:,}' for op, n in sorted(r['calls'].items(), key=lambda kv: -kv[1]))} | "
            f"{r['calls_per_member'] if r['calls_per_member'] is not None else '–'} | {r['wechat_sends']:,} | "
            f"{r['wall_s']:g} s |" for r in measured["runs"]]
    verdict = "" if measured["meets_target"] else " (missed)"
    return "\n".join([
        f"| `member-day` on {measured['as_of'][:10]}, {measured['members_loaded']:,} loaded members + the routes' | "
        "members | coupons issued | notices sent | DynamoDB calls | calls per member | WeChat sends | wall time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |", *rows, "",
        f"Target: ≤ {measured['target_calls_per_member']:g} DynamoDB calls per member reached with a coupon and a "
        f"notice{verdict}; with nothing to do, the program's read alone.",
    ])
