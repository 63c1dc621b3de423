"""The ledger and manual adjustments (§3, §4): idempotency, pagination, expiry and the invariant
"balance = sum of unexpired lots = sum of ledger deltas", through the routes and the real store."""
from __future__ import annotations

import json

import boto3
from helpers import Api

from chalicelib.config import settings


def adjust(api: Api, member_id: str, request_id: str, delta: int, reason: str = "补偿", **kw):
    return api.call("POST", f"/v1/admin/members/{member_id}/points",
                    {"request_id": request_id, "delta": delta, "reason": reason}, admin=True, **kw)


def stored_points(member_id: str) -> tuple[dict[str, int], int]:
    """The lots and debt as DynamoDB holds them, read past the app."""
    conf = settings()
    table = boto3.resource("dynamodb", endpoint_url=conf.dynamodb_endpoint_url,
                           region_name=conf.aws_region).Table(conf.table_prefix + "members")
    item = table.get_item(Key={"member_id": member_id}, ConsistentRead=True)["Item"]
    return {k: int(v) for k, v in (item.get("lots") or {}).items()}, int(item.get("debt", 0))


def assert_invariant(api: Api, token: str) -> None:
    member = api.call("GET", "/v1/members/me", token=token)[1]
    ledger = api.ledger(token)
    lots, debt = stored_points(member["member_id"])
    assert member["points"]["balance"] == sum(e["delta"] for e in ledger) == sum(lots.values()) - debt
    assert ledger[0]["balance_after"] == member["points"]["balance"]
    if member["points"]["balance"] > 0:
        assert sum(x["points"] for x in member["points"]["expiring"]) == member["points"]["balance"]


def test_adjust_is_audited_and_idempotent(api: Api) -> None:
    token, member = api.new_member()
    mid = member["member_id"]
    first = adjust(api, mid, "adj-1", 50, "客诉补偿")
    assert first[0] == 201 and first[1]["balance"] == 150
    entry = first[1]["entry"]
    assert (entry["reason"], entry["note"], entry["delta"], entry["balance_after"]) == \
        ("admin_adjust", "客诉补偿", 50, 150)
    assert adjust(api, mid, "adj-1", 50, "客诉补偿") == first
    status, body = adjust(api, mid, "adj-1", 60, "客诉补偿")
    assert (status, body["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert api.call("GET", "/v1/members/me", token=token)[1]["points"]["balance"] == 150
    assert_invariant(api, token)


def test_the_audit_identity_is_the_key_hash_never_the_key(api: Api) -> None:
    _, member = api.new_member()
    adjust(api, member["member_id"], "who-1", 5)
    conf = settings()
    table = boto3.resource("dynamodb", endpoint_url=conf.dynamodb_endpoint_url,
                           region_name=conf.aws_region).Table(conf.table_prefix + "ledger")
    item = table.get_item(Key={"member_id": member["member_id"], "seq": 2}, ConsistentRead=True)["Item"]
    assert item["actor"].startswith("key-") and "test-admin-key" not in json.dumps(item, default=str)


def test_request_ids_are_scoped_to_the_admin_key(api: Api) -> None:
    _, member = api.new_member()
    assert adjust(api, member["member_id"], "same-id", 5)[0] == 201
    other = adjust(api, member["member_id"], "same-id", 7, headers={"X-Admin-Key": "second-admin-key"})
    assert other[0] == 201 and other[1]["balance"] == 112


def test_adjust_cannot_take_the_balance_below_zero(api: Api) -> None:
    token, member = api.new_member()
    status, body = adjust(api, member["member_id"], "neg-1", -101)
    assert (status, body["error"]["code"]) == (409, "NEGATIVE_BALANCE")
    assert adjust(api, member["member_id"], "neg-2", -100)[1]["balance"] == 0
    assert_invariant(api, token)


def test_adjusting_an_unknown_member_is_404(api: Api) -> None:
    assert adjust(api, "m-nobody", "x-1", 5)[0] == 404


def test_ledger_pages_newest_first(api: Api) -> None:
    token, member = api.new_member()
    for i in range(4):
        adjust(api, member["member_id"], f"page-{i}", i + 1)
    status, page = api.call("GET", "/v1/points/ledger?limit=2", token=token)
    assert status == 200 and [e["delta"] for e in page["items"]] == [4, 3] and page["next_cursor"]
    status, page2 = api.call("GET", f"/v1/points/ledger?limit=2&cursor={page['next_cursor']}", token=token)
    assert [e["delta"] for e in page2["items"]] == [2, 1]
    status, page3 = api.call("GET", f"/v1/points/ledger?limit=2&cursor={page2['next_cursor']}", token=token)
    assert [e["delta"] for e in page3["items"]] == [100] and page3["next_cursor"] is None
    assert len({e["entry_id"] for e in api.ledger(token)}) == 5


def test_points_expire_exactly_at_shanghai_new_year(api: Api, clock) -> None:
    clock("2026-12-31T23:59:59+08:00")
    token, member = api.new_member()
    assert member["points"]["expiring"] == [{"points": 100, "expires_at": "2027-01-01T00:00:00+08:00"}]
    clock("2027-01-01T00:00:00+08:00")
    assert api.call("GET", "/v1/members/me", token=token)[1]["points"] == \
        {"balance": 0, "pending": 0, "held": 0, "expiring": []}
    adjust(api, member["member_id"], "ny-1", 30)
    reasons = [(e["reason"], e["delta"], e["balance_after"]) for e in api.ledger(token)]
    assert reasons == [("admin_adjust", 30, 30), ("expire", -100, 0), ("signup_gift", 100, 100)]
    assert_invariant(api, token)


def test_keep_years_keeps_last_years_points(api: Api, clock) -> None:
    status, program = api.call("GET", "/v1/admin/program", admin=True)
    try:
        program["points_expiry"]["keep_years"] = 1
        assert api.call("PUT", "/v1/admin/program", program, admin=True)[0] == 200
        clock("2026-06-01T12:00:00+08:00")
        _, member = api.new_member()
        clock("2027-12-31T23:59:59+08:00")
        assert api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["points"]["balance"] == 100
        clock("2028-01-01T00:00:00+08:00")
        assert api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["points"]["balance"] == 0
    finally:
        program["points_expiry"]["keep_years"] = 0
        api.call("PUT", "/v1/admin/program", program, admin=True)
