"""The analytics summary at scale: DynamoDB round trips and wall time over 31 and 366 days, with
`ROUTE_MEMBERS` members and with `SCALE_MEMBERS` (the round trips must be equal).

The first members are made through the routes (signup, a check-in, an order, a late order paid
weeks earlier); the others get synthetic histories (activity and orders on random dates of the past
400 days), counted by the app's own tally functions (`domain.analytics`, `store.analytics.writes`)
and added straight into the figures table with BatchWriteItem: what their requests would have left
there, without their hours of requests.
"""
from __future__ import annotations

import os
import random
import statistics
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import boto3

from bench.reset import moto_at_scale, write_items
from bench.stack import Bench

ROUTE_MEMBERS = 100
SCALE_MEMBERS = 20_000
AS_OF = "2026-06-30T12:00:00+08:00"
TODAY = date(2026, 6, 30)
RANGES = {"31 days": 31, "366 days": 366}
REPEATS = 3


def measure_summary(bench: Bench) -> dict[str, Any]:
    """The summary's cost with few members and with many; the clock is cleared afterwards."""
    bench.call("PUT", "/v1/admin/clock", 200, admin=True, body={"now": AS_OF})
    try:
        make_route_members(bench, ROUTE_MEMBERS)
        with moto_at_scale():  # moto's Query sorts the whole table first; DynamoDB reads the partition
            few = summary_costs(bench)
            load_s = load_histories(SCALE_MEMBERS - ROUTE_MEMBERS)
            many = summary_costs(bench)
    finally:
        bench.call("DELETE", "/v1/admin/clock", 204, admin=True)
    return {
        "as_of": AS_OF,
        "members": {"few": ROUTE_MEMBERS, "many": SCALE_MEMBERS},
        "synthetic_load_s": round(load_s, 1),
        "ranges": {name: {"few": few[name], "many": many[name],
                          "equal_round_trips": few[name]["round_trips"] == many[name]["round_trips"]}
                   for name in RANGES},
    }


def make_route_members(bench: Bench, count: int) -> None:
    """Members through the routes: signup, check-in, an order today and one paid 20 days ago."""
    late = (TODAY - timedelta(days=20)).isoformat() + "T10:00:00+08:00"
    for i in range(count):
        token = bench.login(f"an{i}.1").body["token"]
        member_id = bench.signup(token, nickname=f"an{i}").body["member_id"]
        bench.call("POST", "/v1/checkins", 201, token=token, body={})
        for n, paid_at in enumerate((None, late)):
            order: dict[str, Any] = {"order_id": f"an{i}-{n}", "member_id": member_id, "amount_fen": 10_000 + i}
            if paid_at:
                order["paid_at"] = paid_at
            bench.call("POST", "/v1/admin/orders", 201, admin=True, body=order)


def summary_costs(bench: Bench) -> dict[str, dict[str, Any]]:
    """Round trips and the median wall time of the summary over each range ending today."""
    costs = {}
    for name, days in RANGES.items():
        first = (TODAY - timedelta(days=days - 1)).isoformat()
        path = f"/v1/admin/analytics/summary?from={first}&to={TODAY.isoformat()}"
        walls, trips = [], set()
        for _ in range(REPEATS):
            started = time.perf_counter()
            trips.add(bench.call("GET", path, 200, admin=True).round_trips)
            walls.append(time.perf_counter() - started)
        costs[name] = {"round_trips": max(trips), "wall_ms": round(statistics.median(walls) * 1000)}
    return costs


def load_histories(count: int) -> float:
    """Add `count` synthetic members' figures to the figures table; return the seconds it took."""
    from chalicelib.domain.analytics import Tally
    from chalicelib.store.analytics import FigureRecord, writes
    from chalicelib.store.base import shard_of

    started = time.perf_counter()
    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    table = FigureRecord.Meta.table_name
    items = existing_counters(client, table)
    rng = random.Random(20_000)
    shards: dict[str, Tally] = {}
    for i in range(count):
        member_id = f"msyn{i:07d}"
        shards.setdefault(shard_of(member_id), Tally()).merge(member_history(rng))
    for shard, tally in shards.items():
        for update in writes(shard, tally):
            counters = items.setdefault(update.key, Counter())
            for op in update.ops:
                counters[op.attribute.attr_name] += op.value
    write_items(client, table, ({"bucket": {"S": bucket}, "key": {"S": key},
                                 **{name: {"N": str(n)} for name, n in counters.items()}}
                                for (bucket, key), counters in items.items()))
    return time.perf_counter() - started


def existing_counters(client: Any, table: str) -> dict[tuple[str, str], Counter[str]]:
    """Every figure item already in the table (from the route members), by key."""
    items: dict[tuple[str, str], Counter[str]] = {}
    for page in client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            items[(raw["bucket"]["S"], raw["key"]["S"])] = Counter(
                {name: int(value["N"]) for name, value in raw.items() if "N" in value})
    return items


def member_history(rng: random.Random) -> Any:
    """The tally of one member who joined, was active on about a dozen dates and ordered on about
    four of them, as the app's tally functions count it."""
    from chalicelib.domain.analytics import Tally, mark_active, record_order_day

    joined = TODAY - timedelta(days=rng.randrange(400))
    dates = sorted({joined + timedelta(days=rng.randrange((TODAY - joined).days + 1)) for _ in range(12)})
    tally = Tally().count(joined, new_members=1, members=1)
    active: dict[str, int] = {}
    orders: dict[date, Any] = {}
    for day in dates:
        active, first = mark_active(active, day)
        tally.merge(first)
        if rng.random() < 0.35:
            amount = rng.randrange(5_000, 80_000)
            orders, ordered = record_order_day(orders, day, amount, None)
            tally.merge(ordered).count(day, points_issued=amount // 100, outstanding=amount // 100)
            tally.lots[day.year] += amount // 100
        else:
            tally.count(day, checkins=1, points_issued=5, outstanding=5)
            tally.lots[day.year] += 5
    tally.tiers[f"{TODAY.year}|normal|normal"] += 1
    return tally
