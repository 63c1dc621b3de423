"""Lifecycle automations over HTTP with the test clock (§8), on two live servers with tables of their
own (so the job's counts are exact and nothing here touches another module's figures): a purchase
streak in the order's own step, the `automations` job (lapsed, no first order, tier at risk) with
re-runs, holdouts and notices, conversions in the attribution window,
`GET /v1/admin/analytics/automations`, and races across the two instances.

Each test stands in a year of its own and the job leaves out members who joined after its instant,
so each test's runs reach only its own members (the tests run in file order, latest year first)."""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
import requests
from helpers import Api, LiveClient
from servers import TEST_ENV

RUN = "/v1/admin/jobs/automations/run"
RESULTS = "/v1/admin/analytics/automations"
PARALLEL = 6


@pytest.fixture(scope="module")
def apis(own_instances: list[str]) -> list[Api]:
    return [Api(LiveClient(base)) for base in own_instances]


@pytest.fixture
def api(apis: list[Api]) -> Api:
    return apis[0]


def _clock(apis: list[Api], instant: str) -> None:
    for one in apis:
        assert one.call("PUT", "/v1/admin/clock", {"now": instant}, admin=True)[0] == 200


def _automation(trigger: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": f"{trigger['type'][:6].replace('_', '-')}-{uuid.uuid4().hex[:8]}", "name": "自动化", "active": True,
            "trigger": trigger, "coupon_template_id": None, "points": 0, "notice_template_id": None,
            "holdout_pct": 0, "attribution_days": 30, **fields}


def _configure(api: Api, *rules: dict[str, Any]) -> None:
    program = api.call("GET", "/v1/admin/program", admin=True)[1]
    program["automations"] = list(rules)
    assert api.call("PUT", "/v1/admin/program", program, admin=True)[0] == 200


def _grant(api: Api, member_id: str, template_id: str, at: str, grants: int = 1) -> str:
    """The member's openid, after `grants` plaintext popup pushes accepting the template at `at`."""
    openid = api.call("GET", f"/v1/admin/members/{member_id}", admin=True)[1]["openid"]
    ts = str(int(datetime.fromisoformat(at).timestamp()))
    for n in range(grants):
        body = json.dumps({"ToUserName": "gh_test", "FromUserName": openid, "CreateTime": int(ts) + n,
                           "MsgType": "event", "Event": "subscribe_msg_popup_event",
                           "List": {"TemplateId": template_id, "SubscribeStatusString": "accept", "PopupScene": "0"}})
        nonce = secrets.token_hex(4)
        signature = hashlib.sha1("".join(sorted((TEST_ENV["WECHAT_TOKEN"], ts, nonce))).encode())
        answer = requests.post(f"{api.client.base_url}/v1/wechat/push", data=body.encode(), timeout=30,
                               params={"signature": signature.hexdigest(), "timestamp": ts, "nonce": nonce},
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
    return str(openid)


def _in_control(automation_id: str, member_id: str, holdout_pct: int) -> bool:
    """The holdout as the README defines it: sha256(id NUL member id), first 4 bytes mod 10,000."""
    digest = hashlib.sha256(f"{automation_id}\x00{member_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < holdout_pct * 100


def _order(api: Api, member_id: str, amount: int, order_id: str | None = None) -> dict[str, Any]:
    body = {"order_id": order_id or "au-" + uuid.uuid4().hex[:12], "member_id": member_id, "amount_fen": amount}
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


def _entries(api: Api, member_id: str) -> list[dict[str, Any]]:
    status, page = api.call("GET", f"/v1/admin/members/{member_id}/ledger?limit=100", admin=True)
    assert status == 200, page
    return [e for e in page["items"] if e["reason"] == "automation"]


def test_a_purchase_streak_rewards_in_the_order_s_answer_once_and_later_orders_convert(apis: list[Api],
                                                                                       api: Api) -> None:
    _clock(apis, "2023-01-10T10:00:00+08:00")
    member_id = api.new_member()[1]["member_id"]
    status, template = api.call("POST", "/v1/admin/coupon-templates", {
        "name": "回购满100减20", "kind": "amount_off", "amount_off_fen": 2000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 30}}, admin=True)
    assert status == 201, template
    rule = _automation({"type": "purchase_streak", "months": 3}, points=50,
                       coupon_template_id=template["template_id"], attribution_days=10)
    _configure(api, rule)
    _order(api, member_id, 10_000)
    _clock(apis, "2023-02-10T10:00:00+08:00")
    assert "automations" not in _order(api, member_id, 10_000)
    _clock(apis, "2023-03-15T10:00:00+08:00")
    third = {"order_id": "au-" + uuid.uuid4().hex[:12], "member_id": member_id, "amount_fen": 10_000}
    status, answer = api.call("POST", "/v1/admin/orders", third, admin=True)
    assert status == 201, answer
    [reward] = answer["automations"]
    assert reward["id"] == rule["id"] and reward["points"] == 50 and reward["coupon"]["source"] == "automation"
    assert answer["balance"] == 100 + 300 + 50
    assert api.call("POST", "/v1/admin/orders", third, admin=True) == (201, answer)  # a replay enters nobody
    [entry] = _entries(api, member_id)
    assert entry["delta"] == 50 and entry["ref"] == rule["id"]
    status, wallet = api.call("GET", "/v1/coupons", token=api.token_for(member_id))
    assert [c["source"] for c in wallet["items"]] == ["automation"]
    _clock(apis, "2023-03-15T10:00:01+08:00")
    assert "automations" not in _order(api, member_id, 5_000)  # the same month: the same multiple
    assert _result(api, rule["id"]) == {
        "id": rule["id"], "name": "自动化", "treated": 1, "control": 0, "treated_converted": 1,
        "control_converted": 0, "treated_revenue_fen": 5_000, "control_revenue_fen": 0, "lift_pct": None,
        "significant": False}
    _clock(apis, "2023-03-25T10:00:01+08:00")  # 10 × 24 h after the entry: too late
    _order(api, member_id, 7_000)
    assert _result(api, rule["id"])["treated_revenue_fen"] == 5_000
    assert len(_entries(api, member_id)) == 1

    _configure(api)  # removed from the program: its results stay
    assert _result(api, rule["id"])["treated"] == 1


def test_tier_at_risk_tells_the_member_what_keeps_the_tier_once_a_year(apis: list[Api], api: Api,
                                                                        fake_wechat) -> None:
    _clock(apis, "2022-12-20T12:00:00+08:00")
    member_id = api.new_member()[1]["member_id"]
    _order(api, member_id, 150_000)  # silver on 2022's growth, which ages out on 1 January 2024
    notice = "tpl-" + uuid.uuid4().hex[:10]
    rule = _automation({"type": "tier_at_risk", "days": 15}, notice_template_id=notice)
    _configure(api, rule)
    _clock(apis, "2023-12-16T09:00:00+08:00")  # 16 days before 1 January
    openid = _grant(api, member_id, notice, "2023-12-16T09:00:00+08:00", grants=3)
    fake_wechat.reset()
    assert _run(api) == {"job": "automations", "as_of": "2023-12-16T09:00:00+08:00", "dry_run": False,
                         "members": 0, "entered": 0, "control": 0, "notices_sent": 0, "notices_capped": 0}
    _clock(apis, "2023-12-17T09:00:00+08:00")
    assert api.call("GET", f"/v1/admin/members/{member_id}", admin=True)[1]["growth"]["keep"]["to_keep"] == 1000
    assert _run(api)["entered"] == 1
    [message] = [m for m in fake_wechat.sent_messages if m["touser"] == openid]
    assert message["template_id"] == notice and message["data"]["thing2"] == {"value": "再消费1000元保级银卡会员"}
    _clock(apis, "2023-12-18T09:00:00+08:00")
    assert _run(api)["entered"] == 0
    assert _result(api, rule["id"])["treated"] == 1
    fake_wechat.reset()


def test_the_job_enters_lapsed_and_new_members_once_with_a_holdout(apis: list[Api], api: Api, fake_wechat) -> None:
    _clock(apis, "2021-04-01T12:00:00+08:00")
    buyers = [api.new_member()[1]["member_id"] for _ in range(8)]
    newcomers = [api.new_member()[1]["member_id"] for _ in range(2)]
    for member_id in buyers:
        _order(api, member_id, 20_000)
    notice = "tpl-" + uuid.uuid4().hex[:10]
    while True:  # an id whose holdout (as the README defines it) puts buyers in both groups
        lapsed = _automation({"type": "lapsed", "days": 30}, points=20, holdout_pct=50, notice_template_id=notice)
        held_out = [m for m in buyers if _in_control(lapsed["id"], m, 50)]
        if 0 < len(held_out) < len(buyers):
            break
    first = _automation({"type": "no_first_order", "days": 7}, points=10)
    _configure(api, lapsed, first)

    _clock(apis, "2021-04-30T09:00:00+08:00")  # 29 days after the orders, 29 after joining
    openids = {m: _grant(api, m, notice, "2021-04-30T09:00:00+08:00") for m in buyers}
    fake_wechat.reset()
    assert _run(api)["entered"] == len(newcomers)
    assert all(_entries(api, m)[0]["delta"] == 10 for m in newcomers)
    _clock(apis, "2021-05-01T09:00:00+08:00")
    dry = _run(api, dry_run=True)
    answer = _run(api)
    assert answer["entered"] == dry["entered"] == len(buyers)
    assert set(answer) == {"job", "as_of", "dry_run", "members", "entered", "control", "notices_sent",
                           "notices_capped"}
    treated = [m for m in buyers if _entries(api, m)]
    assert treated == [m for m in buyers if m not in held_out] and answer["control"] == len(held_out)
    assert answer["notices_sent"] == len(treated)
    assert sorted(m["touser"] for m in fake_wechat.sent_messages) == sorted(openids[m] for m in treated)
    assert all(m["data"]["thing2"] == {"value": "20积分"} for m in fake_wechat.sent_messages)
    assert _run(api)["entered"] == 0  # a re-run of the date
    _clock(apis, "2021-05-02T09:00:00+08:00")
    assert _run(api) | {"as_of": None} == {"job": "automations", "as_of": None, "dry_run": False, "members": 0,
                                          "entered": 0, "control": 0, "notices_sent": 0,
                                          "notices_capped": 0}
    result = _result(api, lapsed["id"])
    assert (result["treated"], result["control"]) == (len(treated), len(buyers) - len(treated))

    _clock(apis, "2021-05-05T12:00:00+08:00")  # a treated and a control member come back
    control = next(m for m in buyers if m not in treated)
    _order(api, treated[0], 30_000)
    _order(api, control, 12_000)
    result = _result(api, lapsed["id"])
    assert (result["treated_converted"], result["treated_revenue_fen"]) == (1, 30_000)
    assert (result["control_converted"], result["control_revenue_fen"]) == (1, 12_000)
    assert result["lift_pct"] == 100 * result["control"] // result["treated"] - 100
    assert result["significant"] is False
    assert _result(api, first["id"])["treated"] == len(newcomers)

    _clock(apis, "2021-06-04T09:00:00+08:00")  # a new lapse of the two who came back
    assert _run(api)["entered"] == 2
    assert len(_entries(api, treated[0])) == 2
    fake_wechat.reset()


def test_the_job_on_two_instances_at_once_enters_each_member_once(apis: list[Api]) -> None:
    _clock(apis, "2020-04-01T12:00:00+08:00")
    members = [apis[0].new_member()[1]["member_id"] for _ in range(12)]
    rule = _automation({"type": "no_first_order", "days": 2}, points=5, holdout_pct=25)
    _configure(apis[0], rule)
    _clock(apis, "2020-04-03T09:00:00+08:00")
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda i: apis[i % 2].call("POST", RUN, {}, admin=True), range(PARALLEL)))
    assert all(status == 200 for status, _ in answers), answers
    assert sum(body["entered"] for _, body in answers) == len(members)
    entries = {m: len(_entries(apis[1], m)) for m in members}
    assert set(entries.values()) <= {0, 1}
    result = _result(apis[1], rule["id"])
    assert (result["treated"], result["control"]) == (sum(entries.values()), len(members) - sum(entries.values()))
    assert sum(body["control"] for _, body in answers) == result["control"]


def test_one_streak_order_posted_to_two_instances_at_once_rewards_once(apis: list[Api]) -> None:
    _clock(apis, "2020-05-10T12:00:00+08:00")
    member_id = apis[0].new_member()[1]["member_id"]
    rule = _automation({"type": "purchase_streak", "months": 1}, points=7)
    _configure(apis[0], rule)
    body = {"order_id": "streak-" + secrets.token_hex(4), "member_id": member_id, "amount_fen": 10_000}
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda i: apis[i % 2].call("POST", "/v1/admin/orders", body, admin=True),
                                range(PARALLEL)))
    assert {status for status, _ in answers} == {201} and len({str(a) for _, a in answers}) == 1
    assert answers[0][1]["automations"] == [{"id": rule["id"], "points": 7, "coupon": None}]
    [entry] = _entries(apis[1], member_id)
    assert entry["ref"] == rule["id"]
    assert _result(apis[1], rule["id"])["treated"] == 1


def test_results_list_every_automation_configured(api: Api) -> None:
    rule = _automation({"type": "lapsed", "days": 60}, points=5, name="回归礼包")
    _configure(api, rule)
    assert _result(api, rule["id"]) == {
        "id": rule["id"], "name": "回归礼包", "treated": 0, "control": 0, "treated_converted": 0,
        "control_converted": 0, "treated_revenue_fen": 0, "control_revenue_fen": 0, "lift_pct": None,
        "significant": False}


def test_an_automation_s_notice_is_held_back_by_the_weekly_cap_and_its_grant_kept(apis: list[Api], api: Api,
                                                                                 fake_wechat) -> None:
    _clock(apis, "2019-03-01T12:00:00+08:00")
    member_id = api.new_member()[1]["member_id"]
    notice = "tpl-" + uuid.uuid4().hex[:10]
    rule = _automation({"type": "no_first_order", "days": 3}, points=5, notice_template_id=notice)
    _configure(api, rule)
    program = api.call("GET", "/v1/admin/program", admin=True)[1]
    program["notifications"]["weekly_cap"] = 0
    assert api.call("PUT", "/v1/admin/program", program, admin=True)[0] == 200
    _clock(apis, "2019-03-05T09:00:00+08:00")
    openid = _grant(api, member_id, notice, "2019-03-05T09:00:00+08:00")
    fake_wechat.reset()
    answer = _run(api)
    assert (answer["entered"], answer["notices_sent"], answer["notices_capped"]) == (1, 0, 1)
    assert not [m for m in fake_wechat.sent_messages if m["touser"] == openid]
    assert api.call("GET", f"/v1/admin/members/{member_id}", admin=True)[1]["subscriptions"][notice] == 1
    program["notifications"]["weekly_cap"] = 3
    program["automations"] = []
    assert api.call("PUT", "/v1/admin/program", program, admin=True)[0] == 200


def test_an_automation_s_coupon_must_be_an_existing_template(api: Api) -> None:
    before = api.call("GET", "/v1/admin/program", admin=True)[1]
    program = {**before, "automations": [_automation({"type": "lapsed", "days": 30}, points=5),
                                         _automation({"type": "lapsed", "days": 60}, coupon_template_id="no-such")]}
    status, body = api.call("PUT", "/v1/admin/program", program, admin=True)
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR", body
    assert body["error"]["field"] == "automations[1].coupon_template_id"
    assert api.call("GET", "/v1/admin/program", admin=True)[1] == before


def test_a_program_may_name_more_coupon_templates_than_one_transactional_read_holds(api: Api) -> None:
    before = api.call("GET", "/v1/admin/program", admin=True)[1]
    status, template = api.call("POST", "/v1/admin/coupon-templates", {
        "name": "回归券", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 0,
        "validity": {"type": "relative", "days": 30}}, admin=True)
    assert status == 201, template
    rules = [_automation({"type": "lapsed", "days": 30 + i}, coupon_template_id=template["template_id"])
             for i in range(30)]
    status, body = api.call("PUT", "/v1/admin/program", {**before, "automations": rules}, admin=True)
    assert status == 200, body
    assert api.call("PUT", "/v1/admin/program", before, admin=True)[0] == 200
