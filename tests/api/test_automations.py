"""Lifecycle automations over HTTP with the test clock (§8): a purchase streak in the order's own
step, the `automations` job (lapsed, no first order, tier at risk) with re-runs, holdouts and
notices, conversions in the attribution window, and `GET /v1/admin/analytics/automations`.

The clocks stand before 2024, before any other module's members joined, and each test in a year of
its own, so the job reaches only the test's members (a member who joined after the job's instant is
left out) and counts are exact."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import storage
from helpers import Api

RUN = "/v1/admin/jobs/automations/run"
RESULTS = "/v1/admin/analytics/automations"


def _automation(trigger: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": f"{trigger['type'][:6].replace('_', '-')}-{uuid.uuid4().hex[:8]}", "name": "自动化", "active": True,
            "trigger": trigger, "coupon_template_id": None, "points": 0, "notice_template_id": None,
            "holdout_pct": 0, "attribution_days": 30, **fields}


def _order(api: Api, member_id: str, amount: int, paid_at: str | None = None, order_id: str | None = None
           ) -> dict[str, Any]:
    body = {"order_id": order_id or "au-" + uuid.uuid4().hex[:12], "member_id": member_id, "amount_fen": amount}
    if paid_at:
        body["paid_at"] = paid_at
    status, answer = api.call("POST", "/v1/admin/orders", body, admin=True)
    assert status == 201, answer
    return answer


def _run(api: Api, **body: Any) -> dict[str, Any]:
    status, answer = api.call("POST", RUN, body, admin=True)
    assert status == 200, answer
    return answer


def _result(api: Api, automation_id: str) -> dict[str, Any]:
    status, body = api.call("GET", RESULTS, admin=True)
    assert status == 200, body
    return next(item for item in body["items"] if item["id"] == automation_id)


def _automation_entries(api: Api, member_id: str) -> list[dict[str, Any]]:
    status, page = api.call("GET", f"/v1/admin/members/{member_id}/ledger?limit=100", admin=True)
    assert status == 200, page
    return [e for e in page["items"] if e["reason"] == "automation"]


@pytest.fixture
def template(api: Api) -> str:
    status, body = api.call("POST", "/v1/admin/coupon-templates", {
        "name": "回购满100减20", "kind": "amount_off", "amount_off_fen": 2000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 30}}, admin=True)
    assert status == 201, body
    return str(body["template_id"])


def test_a_purchase_streak_rewards_in_the_order_s_answer_once_and_later_orders_convert(
        api: Api, clock, program, template) -> None:
    clock("2023-01-10T10:00:00+08:00")
    member_id = api.new_member()[1]["member_id"]
    rule = _automation({"type": "purchase_streak", "months": 3}, points=50, coupon_template_id=template,
                       attribution_days=10)
    edited, put = program
    edited["automations"] = [rule]
    put()
    _order(api, member_id, 10_000)
    clock("2023-02-10T10:00:00+08:00")
    assert "automations" not in _order(api, member_id, 10_000)
    clock("2023-03-15T10:00:00+08:00")
    third = {"order_id": "au-" + uuid.uuid4().hex[:12], "member_id": member_id, "amount_fen": 10_000}
    status, answer = api.call("POST", "/v1/admin/orders", third, admin=True)
    assert status == 201, answer
    [reward] = answer["automations"]
    assert reward["id"] == rule["id"] and reward["points"] == 50 and reward["coupon"]["source"] == "automation"
    assert answer["balance"] == 100 + 300 + 50
    assert api.call("POST", "/v1/admin/orders", third, admin=True) == (201, answer)  # a replay enters nobody
    [entry] = _automation_entries(api, member_id)
    assert entry["delta"] == 50 and entry["ref"] == rule["id"]
    status, wallet = api.call("GET", "/v1/coupons", token=api.token_for(member_id))
    assert [c["source"] for c in wallet["items"]] == ["automation"]
    clock("2023-03-15T10:00:01+08:00")
    assert "automations" not in _order(api, member_id, 5_000)  # the same month: the same multiple
    assert _result(api, rule["id"]) == {
        "id": rule["id"], "name": "自动化", "treated": 1, "control": 0, "treated_converted": 1,
        "control_converted": 0, "treated_revenue_fen": 5_000, "control_revenue_fen": 0, "lift_pct": None,
        "significant": False}
    clock("2023-03-25T10:00:01+08:00")  # 10 × 24 h after the entry: too late
    _order(api, member_id, 7_000)
    assert _result(api, rule["id"])["treated_revenue_fen"] == 5_000
    assert len(_automation_entries(api, member_id)) == 1

    edited["automations"] = []  # removed from the program: its results stay
    put()
    assert _result(api, rule["id"])["treated"] == 1


def test_the_job_enters_lapsed_and_new_members_once_with_a_holdout(api: Api, clock, program, fake_wechat) -> None:
    clock("2021-04-01T12:00:00+08:00")
    buyers = [api.new_member()[1]["member_id"] for _ in range(8)]
    newcomers = [api.new_member()[1]["member_id"] for _ in range(2)]
    for member_id in buyers:
        _order(api, member_id, 20_000)
    notice = "tpl-" + uuid.uuid4().hex[:10]
    lapsed = _automation({"type": "lapsed", "days": 30}, points=20, holdout_pct=50, notice_template_id=notice)
    first = _automation({"type": "no_first_order", "days": 7}, points=10)
    edited, put = program
    edited["automations"] = [lapsed, first]
    put()
    for member_id in buyers:
        storage.grant(fake_wechat.openid_for(api.users[member_id]), notice)
    fake_wechat.reset()

    clock("2021-04-30T09:00:00+08:00")  # 29 days after the orders, 29 after joining
    assert _run(api)["entered"] == len(newcomers)
    assert all(_automation_entries(api, m)[0]["delta"] == 10 for m in newcomers)
    clock("2021-05-01T09:00:00+08:00")
    dry = _run(api, dry_run=True)
    answer = _run(api)
    assert answer["entered"] == dry["entered"] == len(buyers)
    assert set(answer) == {"job", "as_of", "dry_run", "members", "entered", "control", "notices_sent"}
    treated = [m for m in buyers if _automation_entries(api, m)]
    assert answer["control"] == len(buyers) - len(treated) and 0 < len(treated) < len(buyers)
    assert answer["notices_sent"] == len(treated) == len(fake_wechat.sent_messages)
    assert all(m["data"]["thing2"] == {"value": "20积分"} for m in fake_wechat.sent_messages)
    assert _run(api)["entered"] == 0  # a re-run of the date
    clock("2021-05-02T09:00:00+08:00")
    assert _run(api) | {"as_of": None} == {"job": "automations", "as_of": None, "dry_run": False, "members": 0,
                                          "entered": 0, "control": 0, "notices_sent": 0}
    result = _result(api, lapsed["id"])
    assert (result["treated"], result["control"]) == (len(treated), len(buyers) - len(treated))

    clock("2021-05-05T12:00:00+08:00")  # a treated and a control member come back
    control = next(m for m in buyers if m not in treated)
    _order(api, treated[0], 30_000)
    _order(api, control, 12_000)
    result = _result(api, lapsed["id"])
    assert (result["treated_converted"], result["treated_revenue_fen"]) == (1, 30_000)
    assert (result["control_converted"], result["control_revenue_fen"]) == (1, 12_000)
    expected = 100 * 1 * result["control"] // (result["treated"] * 1) - 100
    assert result["lift_pct"] == expected and result["significant"] is False
    assert _result(api, first["id"])["treated"] == len(newcomers)

    clock("2021-06-04T09:00:00+08:00")  # a new lapse of the member who came back
    assert _run(api)["entered"] == 2
    assert len(_automation_entries(api, treated[0])) == 2
    fake_wechat.reset()


def test_tier_at_risk_tells_the_member_what_keeps_the_tier_once_a_year(api: Api, clock, program, fake_wechat) -> None:
    clock("2022-12-20T12:00:00+08:00")
    _, member = api.new_member()
    _order(api, member["member_id"], 150_000)  # silver on 2022's growth, which ages out on 1 January 2024
    notice = "tpl-" + uuid.uuid4().hex[:10]
    rule = _automation({"type": "tier_at_risk", "days": 15}, notice_template_id=notice)
    edited, put = program
    edited["automations"] = [rule]
    put()
    openid = fake_wechat.openid_for(api.users[member["member_id"]])
    storage.grant(openid, notice, grants=3)
    fake_wechat.reset()
    clock("2023-12-16T09:00:00+08:00")  # 16 days before 1 January
    assert _run(api) == {"job": "automations", "as_of": "2023-12-16T09:00:00+08:00", "dry_run": False,
                         "members": 0, "entered": 0, "control": 0, "notices_sent": 0}
    clock("2023-12-17T09:00:00+08:00")
    assert api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["growth"]["keep"]["to_keep"] == 1000
    assert _run(api)["entered"] >= 1
    [message] = [m for m in fake_wechat.sent_messages if m["touser"] == openid]
    assert message["data"]["thing2"] == {"value": "再消费1000元保级银卡会员"}
    clock("2023-12-18T09:00:00+08:00")
    assert _run(api)["entered"] == 0
    assert _result(api, rule["id"])["treated"] == 1
    fake_wechat.reset()


def test_results_list_every_automation_configured(api: Api, program) -> None:
    rule = _automation({"type": "lapsed", "days": 60}, points=5, name="回归礼包")
    edited, put = program
    edited["automations"] = [rule]
    put()
    assert _result(api, rule["id"]) == {
        "id": rule["id"], "name": "回归礼包", "treated": 0, "control": 0, "treated_converted": 0,
        "control_converted": 0, "treated_revenue_fen": 0, "control_revenue_fen": 0, "lift_pct": None,
        "significant": False}
