"""Every log line of an invocation carries its request ids, and the app's metrics are EMF lines:
the figures a committed change added, WeChat's failures by errcode and the grants it spent, and the
jobs' progress."""
from __future__ import annotations

from typing import Any

from helpers import Api
from test_request_logs import Lines, lines  # noqa: F401  (the fixture)

from chalicelib import metrics


def _metrics(captured: Lines) -> list[dict[str, Any]]:
    """The EMF records among the lines, each checked to declare what it carries."""
    found = []
    for entry in captured.entries():
        if "_aws" not in entry:
            continue
        [declared] = entry["_aws"]["CloudWatchMetrics"]
        assert declared["Namespace"] == metrics.NAMESPACE and isinstance(entry["_aws"]["Timestamp"], int)
        assert all(name in entry for dims in declared["Dimensions"] for name in dims)
        assert all(isinstance(entry[m["Name"]], int) and m["Unit"] == "Count" for m in declared["Metrics"])
        found.append(entry)
    return found


def _total(records: list[dict[str, Any]], name: str, **dimensions: str) -> int:
    return sum(r.get(name, 0) for r in records if all(r.get(k) == v for k, v in dimensions.items()))


def test_every_line_of_a_request_carries_its_lambda_request_id(api: Api, lines: Lines) -> None:  # noqa: F811
    api.new_member()
    entries = [entry for entry in lines.entries() if entry["message"] == "request"]
    ids = [entry.get("lambda_request_id") for entry in entries]
    assert len(entries) == 2 and all(ids) and ids[0] != ids[1]
    assert all(entry.get("lambda_request_id") for entry in lines.entries())


def test_a_signup_and_an_order_emit_their_figures(api: Api, lines: Lines) -> None:  # noqa: F811
    _, member = api.new_member()
    status, body = api.call("POST", "/v1/admin/orders", {
        "order_id": f"metrics-{member['member_id']}", "member_id": member["member_id"], "amount_fen": 10000},
        admin=True)
    assert status == 201, body
    records = _metrics(lines)
    assert _total(records, "NewMembers", Stage="local") == 1
    assert _total(records, "Orders", Stage="local") == 1
    assert _total(records, "PointsIssued", Stage="local") > 100  # the signup gift, then the order's points
    assert all(r["lambda_request_id"] for r in records)


def test_a_refused_wechat_call_is_counted_by_errcode(api: Api, lines: Lines) -> None:  # noqa: F811
    status, _ = api.call("POST", "/v1/auth/login", {"code": "invalid-code"})
    assert status == 401
    assert _total(_metrics(lines), "WeChatFailures", errcode="40029") == 1


def test_a_metric_record_names_only_what_it_counts(lines: Lines) -> None:  # noqa: F811
    metrics.emit({"JobPages": 1, "members": 3, "points_expired": 0}, Job="yearly-points-reset")
    metrics.emit({"Orders": 0})
    [record] = _metrics(lines)
    assert [m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["JobPages", "members"]
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage", "Job"]]


def test_a_job_reports_each_page_it_handled(api: Api, lines: Lines) -> None:  # noqa: F811
    status, body = api.call("POST", "/v1/admin/jobs/tier-review/run", {}, admin=True)
    assert status == 200, body
    records = _metrics(lines)
    assert _total(records, "JobPages", Job="tier-review") >= 16  # at least a page a shard
    assert _total(records, "members_reviewed", Job="tier-review") == body["members_reviewed"]
