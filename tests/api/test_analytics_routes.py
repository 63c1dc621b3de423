"""The analytics summary over HTTP (§7), with the test clock across a year end.

Other tests share the store, so the checks compare the figures before and after this test's own
actions on dates nobody else uses (2031-2032), and check the points identity between ranges."""
from __future__ import annotations

import uuid
from typing import Any

from helpers import Api

SUMMARY = "/v1/admin/analytics/summary"


def summary(api: Api, first: str, last: str) -> dict[str, Any]:
    status, body = api.call("GET", f"{SUMMARY}?from={first}&to={last}", admin=True)
    assert status == 200, body
    return body


def order(api: Api, member_id: str, amount_fen: int, paid_at: str | None = None) -> str:
    order_id = "an-" + uuid.uuid4().hex[:12]
    body: dict[str, Any] = {"order_id": order_id, "member_id": member_id, "amount_fen": amount_fen}
    if paid_at:
        body["paid_at"] = paid_at
    assert api.call("POST", "/v1/admin/orders", body, admin=True)[0] == 201
    return order_id


def test_ranges_are_checked(api: Api, clock) -> None:
    clock("2031-06-10T12:00:00+08:00")
    for query, field in (("from=2031-06-01&to=2031-06-11", "to"), ("from=2031-06-09&to=2031-06-08", "from"),
                         ("from=2030-06-09&to=2031-06-10", "from"), ("from=2031-13-01&to=2031-06-10", "from"),
                         ("from=2031-06-01&to=06-10", "to")):
        status, body = api.call("GET", f"{SUMMARY}?{query}", admin=True)
        assert (status, body["error"]["field"]) == (400, field), query
    longest = summary(api, "2030-06-10", "2031-06-10")
    assert len(longest["daily"]) == 366
    assert longest["daily"][0]["date"] == "2030-06-10" and longest["daily"][-1]["date"] == "2031-06-10"
    default = summary(api, "2031-05-12", "2031-06-10")
    assert api.call("GET", SUMMARY, admin=True)[1]["daily"] == default["daily"]
    assert api.call("GET", SUMMARY)[0] == 401


def test_figures_follow_the_changes_across_a_year_end(api: Api, clock) -> None:
    first, last = "2031-12-30", "2032-01-02"
    clock("2032-01-02T12:00:00+08:00")
    was = summary(api, first, last)
    clock("2031-12-30T10:00:00+08:00")
    token, member = api.new_member()  # 100 points signup gift
    mid = member["member_id"]
    assert api.call("POST", "/v1/checkins", {}, token=token)[0] == 201  # 5 points
    kept = order(api, mid, 25_000)  # 250 points
    order(api, mid, 10_000)  # 100 points
    clock("2031-12-31T10:00:00+08:00")
    assert api.call("POST", f"/v1/admin/orders/{kept}/refunds", {"refund_id": "r1", "amount_fen": 5_000},
                    admin=True)[0] == 201  # 50 points back
    clock("2032-01-02T12:00:00+08:00")
    order(api, mid, 30_000, paid_at="2032-01-01T09:00:00+08:00")  # 300 points, a 2032 lot
    now = summary(api, first, last)

    def grew(section: str, name: str) -> int:
        return int(now[section][name] - was[section][name])

    assert (grew("members", "new"), grew("members", "active"), grew("members", "total")) == (1, 1, 1)
    assert (grew("orders", "count"), grew("orders", "revenue_fen"), grew("orders", "refunded_fen")) == \
        (3, 65_000, 5_000)
    assert (grew("orders", "buyers"), grew("orders", "repeat_buyers")) == (1, 1)
    assert (grew("points", "issued"), grew("points", "clawed_back"), grew("points", "expired")) == (755, 50, 405)
    assert grew("points", "outstanding") == 300 and now["checkins"] - was["checkins"] == 1
    by_date = {d["date"]: d for d in now["daily"]}
    assert by_date["2032-01-01"]["orders"] - {d["date"]: d for d in was["daily"]}["2032-01-01"]["orders"] == 1
    assert_identity(api, first, last)


def assert_identity(api: Api, first: str, last: str) -> None:
    """(outstanding + pending) at the end of `last`, less the same at the end of the day before
    `first`, is issued - spent - expired - clawed back - forfeited over the range."""
    whole, before = summary(api, first, last), summary(api, "2031-12-01", "2031-12-29")
    points = whole["points"]
    stock = points["outstanding"] + points["pending"]
    earlier = before["points"]["outstanding"] + before["points"]["pending"]
    assert stock - earlier == points["issued"] - points["spent"] - points["expired"] - points["clawed_back"] - \
        points["forfeited"]
