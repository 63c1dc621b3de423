"""RFM over HTTP with the test clock (§7): the live `rfm` of the admin view, the `rfm-segments` job
and its snapshot (segments, migrations, the previous run), a segment's members page by page, and a
targeted issue to a segment.

The store is shared with every other API test, whose members joined in 2025 or later (real time or
their test clocks): the clock here stands in 2024, so the job's snapshots hold only this module's
members (members who joined after a run's instant are not in it) and every figure is exact."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from helpers import Api

RUN = "/v1/admin/jobs/rfm-segments/run"


def _order(api: Api, member_id: str, amount: int, paid_at: str) -> str:
    order_id = "rfm-" + uuid.uuid4().hex[:12]
    status, body = api.call("POST", "/v1/admin/orders", {"order_id": order_id, "member_id": member_id,
                                                         "amount_fen": amount, "paid_at": paid_at}, admin=True)
    assert status == 201, body
    return order_id


def _run(api: Api) -> dict[str, Any]:
    status, answer = api.call("POST", RUN, {}, admin=True)
    assert status == 200, answer
    return answer


def _snapshot(api: Api) -> dict[str, Any]:
    status, body = api.call("GET", "/v1/admin/analytics/rfm", admin=True)
    assert status == 200, body
    assert [(s["segment"], s["name"]) for s in body["segments"]][::9] == [("important_value", "重要价值客户"),
                                                                          ("prospect", "潜在客户")]
    return body


def _nonzero(snapshot: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {s["segment"]: (s["members"], s["monetary_fen"]) for s in snapshot["segments"] if s["members"]}


def _members(api: Api, segment: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, page = api.call("GET", f"/v1/admin/analytics/rfm/members?segment={segment}&limit={limit}{cursor}",
                                admin=True)
        assert status == 200, page
        assert len(page["items"]) <= limit
        items += page["items"]
        if not page["next_cursor"]:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def test_snapshots_migrations_members_and_an_issue_to_a_segment(api: Api, clock) -> None:
    clock("2024-05-31T12:00:00+08:00")
    value, develop, newcomer = (api.new_member()[1]["member_id"] for _ in range(3))
    _order(api, value, 60_000, "2024-05-20T10:00:00+08:00")
    _order(api, value, 60_000, "2024-05-25T10:00:00+08:00")
    refunded = _order(api, develop, 120_000, "2024-05-31T09:00:00+08:00")

    clock("2024-06-01T01:00:00+08:00")
    status, view = api.call("GET", f"/v1/admin/members/{value}", admin=True)
    assert status == 200 and view["rfm"] == {"recency_days": 7, "frequency": 2, "monetary_fen": 120_000,
                                             "segment": "important_value"}
    first = _run(api)
    assert first == {"job": "rfm-segments", "as_of": "2024-06-01T01:00:00+08:00", "dry_run": False,
                     "members": 3, "members_moved": 2, "members_tagged": 3}
    snapshot = _snapshot(api)
    assert (snapshot["as_of"], snapshot["previous_as_of"], snapshot["migrations"]) == (first["as_of"], None, [])
    assert _nonzero(snapshot) == {"important_value": (1, 120_000), "important_develop": (1, 120_000),
                                  "prospect": (1, 0)}

    # the next day: the refund sends `develop` back to prospect, the newcomer and a new member buy
    clock("2024-06-01T12:00:00+08:00")
    assert api.call("POST", f"/v1/admin/orders/{refunded}/refunds",
                    {"refund_id": "rf-" + uuid.uuid4().hex[:10], "amount_fen": 120_000}, admin=True)[0] == 201
    _order(api, newcomer, 120_000, "2024-06-01T11:00:00+08:00")
    latecomer = api.new_member()[1]["member_id"]
    _order(api, latecomer, 180_000, "2024-06-01T11:30:00+08:00")
    clock("2024-06-02T01:00:00+08:00")
    assert _run(api) == {"job": "rfm-segments", "as_of": "2024-06-02T01:00:00+08:00", "dry_run": False,
                         "members": 4, "members_moved": 3, "members_tagged": 3}
    snapshot = _snapshot(api)
    assert (snapshot["as_of"], snapshot["previous_as_of"]) == ("2024-06-02T01:00:00+08:00", first["as_of"])
    assert _nonzero(snapshot) == {"important_value": (1, 120_000), "important_develop": (2, 300_000),
                                  "prospect": (1, 0)}
    assert snapshot["migrations"] == [{"from": "important_develop", "to": "prospect", "members": 1},
                                      {"from": "prospect", "to": "important_develop", "members": 2}]

    members = _members(api, "important_develop", limit=1)
    assert sorted(m["member_id"] for m in members) == sorted([newcomer, latecomer])
    latest = next(m for m in members if m["member_id"] == latecomer)
    assert latest["rfm"] == {"recency_days": 1, "frequency": 1, "monetary_fen": 180_000,
                             "segment": "important_develop"}
    assert latest["tier"]["code"] and "openid" not in latest

    status, coupon = api.call("POST", "/v1/admin/coupon-templates", {
        "name": "重要发展客户专享", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 0,
        "validity": {"type": "relative", "days": 30}}, admin=True)
    assert status == 201, coupon
    body = {"request_id": uuid.uuid4().hex, "template_id": coupon["template_id"], "segment": "important_develop"}
    assert api.call("POST", "/v1/admin/coupons/issue", body, admin=True) == (202, {"issued": 2, "skipped": 0})
    assert api.call("POST", "/v1/admin/coupons/issue", body, admin=True) == (202, {"issued": 2, "skipped": 0})
    for member_id, held in ((newcomer, 1), (latecomer, 1), (value, 0), (develop, 0)):
        status, wallet = api.call("GET", f"/v1/admin/members/{member_id}/coupons", admin=True)
        assert status == 200 and [c["template_id"] for c in wallet["items"]].count(coupon["template_id"]) == held
    status, reused = api.call("POST", "/v1/admin/coupons/issue", {**body, "segment": "important_value"}, admin=True)
    assert (status, reused["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")


@pytest.mark.parametrize(("body", "field"), [
    ({"segment": "vip"}, "segment"),
    ({"segment": "lost", "member_ids": ["m1"]}, "segment"),
    ({}, "member_ids"),
])
def test_an_issue_names_exactly_one_target(api: Api, body: dict[str, Any], field: str) -> None:
    status, answer = api.call("POST", "/v1/admin/coupons/issue",
                              {"request_id": "r1", "template_id": "t-nope", **body}, admin=True)
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (400, "VALIDATION_ERROR", field)


@pytest.mark.parametrize(("query", "field"), [
    ("", "segment"), ("?segment=vip", "segment"), ("?segment=lost&cursor=zz", "cursor"),
    ("?segment=lost&cursor=07abc", "cursor"), ("?segment=lost&limit=0", "limit"),
])
def test_the_members_list_refuses_bad_queries(api: Api, query: str, field: str) -> None:
    status, answer = api.call("GET", f"/v1/admin/analytics/rfm/members{query}", admin=True)
    assert (status, answer["error"]["field"]) == (400, field)
