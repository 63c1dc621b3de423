"""Automations on two server processes at once (two Lambda instances) with a test clock, on tables of
their own so the job's counts are exact: the job run on both at once enters each member once, and
one order completing a purchase streak posted to both at once rewards it once."""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from helpers import Api, LiveClient

PARALLEL = 6


@pytest.fixture(scope="module")
def apis(own_instances: list[str]) -> list[Api]:
    return [Api(LiveClient(base)) for base in own_instances]


def _clock(apis: list[Api], instant: str) -> None:
    for api in apis:
        assert api.call("PUT", "/v1/admin/clock", {"now": instant}, admin=True)[0] == 200


def _automations(api: Api, *rules: dict[str, Any]) -> None:
    program = api.call("GET", "/v1/admin/program", admin=True)[1]
    program["automations"] = [{"name": "并发", "active": True, "coupon_template_id": None, "notice_template_id": None,
                               "holdout_pct": 0, **rule} for rule in rules]
    assert api.call("PUT", "/v1/admin/program", program, admin=True)[0] == 200


def _entries(api: Api, member_id: str) -> list[dict[str, Any]]:
    status, page = api.call("GET", f"/v1/admin/members/{member_id}/ledger?limit=100", admin=True)
    assert status == 200, page
    return [e for e in page["items"] if e["reason"] == "automation"]


def test_the_job_on_two_instances_at_once_enters_each_member_once(apis: list[Api]) -> None:
    _clock(apis, "2023-04-01T12:00:00+08:00")
    members = [apis[0].new_member()[1]["member_id"] for _ in range(12)]
    _automations(apis[0], {"id": "first-order", "trigger": {"type": "no_first_order", "days": 2}, "points": 5,
                           "holdout_pct": 25})
    _clock(apis, "2023-04-03T09:00:00+08:00")
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda i: apis[i % 2].call("POST", "/v1/admin/jobs/automations/run", {}, admin=True),
                                range(PARALLEL)))
    assert all(status == 200 for status, _ in answers), answers
    assert sum(body["entered"] for _, body in answers) == len(members)
    treated = [m for m in members if len(_entries(apis[1], m)) == 1]
    assert all(len(_entries(apis[1], m)) <= 1 for m in members)
    [result] = apis[1].call("GET", "/v1/admin/analytics/automations", admin=True)[1]["items"]
    assert (result["treated"], result["control"]) == (len(treated), len(members) - len(treated))
    assert sum(body["control"] for _, body in answers) == result["control"]


def test_one_streak_order_posted_to_two_instances_at_once_rewards_once(apis: list[Api]) -> None:
    _clock(apis, "2023-05-10T12:00:00+08:00")
    member_id = apis[0].new_member()[1]["member_id"]
    _automations(apis[0], {"id": "monthly", "trigger": {"type": "purchase_streak", "months": 1}, "points": 7})
    body = {"order_id": "streak-" + secrets.token_hex(4), "member_id": member_id, "amount_fen": 10_000}
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda i: apis[i % 2].call("POST", "/v1/admin/orders", body, admin=True),
                                range(PARALLEL)))
    assert {status for status, _ in answers} == {201} and len({str(a) for _, a in answers}) == 1
    assert answers[0][1]["automations"] == [{"id": "monthly", "points": 7, "coupon": None}]
    [entry] = _entries(apis[1], member_id)
    assert entry["ref"] == "monthly"
    result = next(r for r in apis[1].call("GET", "/v1/admin/analytics/automations", admin=True)[1]["items"]
                  if r["id"] == "monthly")
    assert result["treated"] == 1
