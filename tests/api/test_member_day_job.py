"""The `member-day` job through `POST /v1/admin/jobs/member-day/run`: one coupon and one notice
per member and member day, notices only to members holding a grant."""
from __future__ import annotations

import uuid

import pytest
import storage
from helpers import Api

RUN = "/v1/admin/jobs/member-day/run"


@pytest.fixture
def member_day(api: Api, clock, program, fake_wechat):
    """On the 8th (a member day) with a fresh member-day coupon and notice template: (template
    id, notice template id)."""
    clock("2026-12-08T00:30:00+08:00")
    status, template = api.call("POST", "/v1/admin/coupon-templates", {
        "name": "会员日满100减10", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 7}}, admin=True)
    assert status == 201, template
    notice_template = "tpl-" + uuid.uuid4().hex[:10]
    edited, put = program
    edited["member_days"]["coupon_template_id"] = template["template_id"]
    edited["notifications"]["templates"]["member_day"] = notice_template
    put()
    fake_wechat.reset()
    yield template["template_id"], notice_template
    fake_wechat.reset()


def _grant(openid: str, template_id: str) -> None:
    storage.grant(openid, template_id)


def _coupons(api: Api, token: str, template_id: str) -> list[dict]:
    status, page = api.call("GET", "/v1/coupons?limit=50", token=token)
    assert status == 200, page
    return [c for c in page["items"] if c["template_id"] == template_id]


def test_each_member_gets_one_coupon_and_granted_members_one_notice(api: Api, member_day, fake_wechat) -> None:
    template_id, notice_template = member_day
    granted = [api.new_member() for _ in range(2)]
    ungranted_token, ungranted = api.new_member()
    for _, member in granted:
        _grant(fake_wechat.openid_for(api.users[member["member_id"]]), notice_template)

    status, dry = api.call("POST", RUN, {"dry_run": True}, admin=True)
    assert status == 200 and dry["dry_run"] is True and dry["notices_sent"] == 2 and dry["coupons_issued"] >= 3
    assert fake_wechat.sent_messages == [] and _coupons(api, ungranted_token, template_id) == []

    status, first = api.call("POST", RUN, {}, admin=True)
    assert status == 200, first
    assert set(first) == {"job", "as_of", "dry_run", "members", "coupons_issued", "notices_sent", "notices_capped"}
    assert first["job"] == "member-day" and first["as_of"] == "2026-12-08T00:30:00+08:00"
    assert first["notices_sent"] == 2 and first["coupons_issued"] >= 3 and first["members"] >= 3
    messages = fake_wechat.sent_messages
    assert sorted(m["touser"] for m in messages) == sorted(
        fake_wechat.openid_for(api.users[m["member_id"]]) for _, m in granted)
    assert all(m["template_id"] == notice_template and m["data"]["thing2"] == {"value": "会员日满100减10"}
               and m["data"]["date3"] == {"value": "2026年12月08日"} for m in messages)
    for token, _ in [*granted, (ungranted_token, ungranted)]:
        [coupon] = _coupons(api, token, template_id)
        assert coupon["source"] == "member_day"
    for _, member in granted:
        assert storage.grants(fake_wechat.openid_for(api.users[member["member_id"]])) == {notice_template: 0}

    status, second = api.call("POST", RUN, {}, admin=True)
    assert status == 200 and second["coupons_issued"] == 0 and second["notices_sent"] == 0
    assert second["members"] == first["members"]
    assert len(fake_wechat.sent_messages) == 2
    assert len(_coupons(api, ungranted_token, template_id)) == 1


def test_a_second_grant_does_not_bring_a_second_notice_the_same_day(api: Api, member_day, fake_wechat) -> None:
    _, notice_template = member_day
    _, member = api.new_member()
    openid = fake_wechat.openid_for(api.users[member["member_id"]])
    _grant(openid, notice_template)
    _grant(openid, notice_template)
    assert api.call("POST", RUN, {}, admin=True)[1]["notices_sent"] == 1
    assert api.call("POST", RUN, {}, admin=True)[1]["notices_sent"] == 0
    assert len(fake_wechat.sent_messages) == 1 and storage.grants(openid) == {notice_template: 1}


def test_not_a_member_day_does_nothing(api: Api, member_day, clock, fake_wechat) -> None:
    template_id, notice_template = member_day
    clock("2026-12-09T00:30:00+08:00")
    token, member = api.new_member()
    _grant(fake_wechat.openid_for(api.users[member["member_id"]]), notice_template)
    status, body = api.call("POST", RUN, {}, admin=True)
    assert status == 200 and body == {"job": "member-day", "as_of": "2026-12-09T00:30:00+08:00", "dry_run": False,
                                      "members": 0, "coupons_issued": 0, "notices_sent": 0, "notices_capped": 0}
    assert fake_wechat.sent_messages == [] and _coupons(api, token, template_id) == []


def test_the_business_date_is_shanghai_s(api: Api, member_day, clock) -> None:
    clock("2026-12-07T16:29:59Z")  # 00:29:59 on the 8th in Shanghai: a member day
    assert api.call("POST", RUN, {"dry_run": True}, admin=True)[1]["members"] > 0
    clock("2026-12-08T16:00:00Z")  # 00:00 on the 9th
    assert api.call("POST", RUN, {"dry_run": True}, admin=True)[1]["members"] == 0
