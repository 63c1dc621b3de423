"""The reminder notices of `coupon-expiry` (coupons ending within 3 days) and `points-expiring`
(December, points expiring at the new year), through `POST /v1/admin/jobs/{job}/run`."""
from __future__ import annotations

import uuid

import pytest
import storage
from helpers import Api

from chalicelib import clock as app_clock

COUPON_RUN = "/v1/admin/jobs/coupon-expiry/run"
POINTS_RUN = "/v1/admin/jobs/points-expiring/run"


def _grant(openid: str, template_id: str, grants: int = 1) -> None:
    storage.grant(openid, template_id, grants)


def _notice_template(program, kind: str) -> str:
    notice_template = "tpl-" + uuid.uuid4().hex[:10]
    edited, put = program
    edited["notifications"]["templates"][kind] = notice_template
    edited["points_expiry"]["keep_years"] = 0
    put()
    return notice_template


def _coupon_template(api: Api, name: str, days: int) -> str:
    status, template = api.call("POST", "/v1/admin/coupon-templates", {
        "name": name, "kind": "amount_off", "amount_off_fen": 500, "min_spend_fen": 5_000,
        "validity": {"type": "relative", "days": days}}, admin=True)
    assert status == 201, template
    return template["template_id"]


def _issue(api: Api, template_id: str, member_id: str) -> dict:
    status, body = api.call("POST", "/v1/admin/coupons/issue", {
        "request_id": uuid.uuid4().hex, "template_id": template_id, "member_ids": [member_id]}, admin=True)
    assert status == 202 and body["issued"] == 1, body
    [coupon] = [c for c in api.call("GET", "/v1/coupons?limit=50", token=api.token_for(member_id))[1]["items"]
                if c["template_id"] == template_id]
    return coupon


@pytest.fixture
def reset_wechat(fake_wechat):
    fake_wechat.reset()
    yield fake_wechat
    fake_wechat.reset()


def test_holders_of_coupons_ending_within_3_days_get_one_reminder(api: Api, clock, program, reset_wechat) -> None:
    clock("2026-12-10T00:05:00+08:00")
    notice_template = _notice_template(program, "coupon_expiring")
    _, soon = api.new_member()
    _, later = api.new_member()
    _, ungranted = api.new_member()
    ending = _issue(api, _coupon_template(api, "满50减5即将到期", 2), soon["member_id"])
    _issue(api, _coupon_template(api, "满50减5", 10), later["member_id"])
    _issue(api, _coupon_template(api, "满50减5无订阅", 1), ungranted["member_id"])
    for member in (soon, later):
        _grant(reset_wechat.openid_for(api.users[member["member_id"]]), notice_template)

    status, dry = api.call("POST", COUPON_RUN, {"dry_run": True}, admin=True)
    assert status == 200 and dry["reminders_sent"] == 1 and reset_wechat.sent_messages == []

    status, first = api.call("POST", COUPON_RUN, {}, admin=True)
    assert status == 200, first
    assert set(first) == {"job", "as_of", "dry_run", "coupons_expired", "reminders_sent", "notices_capped"}
    assert first["reminders_sent"] == 1
    [message] = reset_wechat.sent_messages
    assert message["touser"] == reset_wechat.openid_for(api.users[soon["member_id"]])
    assert message["template_id"] == notice_template
    assert message["data"]["thing1"] == {"value": "满50减5即将到期"}
    valid_until = app_clock.parse_instant(ending["valid_until"]).astimezone(app_clock.SHANGHAI)
    assert message["data"]["date2"] == {"value": valid_until.strftime("%Y年%m月%d日 %H:%M")}

    _grant(reset_wechat.openid_for(api.users[soon["member_id"]]), notice_template)
    status, second = api.call("POST", COUPON_RUN, {}, admin=True)
    assert status == 200 and second["reminders_sent"] == 0 and len(reset_wechat.sent_messages) == 1


def test_december_reminds_of_points_expiring_at_the_new_year(api: Api, clock, program, reset_wechat) -> None:
    clock("2026-12-01T10:00:00+08:00")  # the 1st: one of the default points_expiring_days (1 and 20)
    notice_template = _notice_template(program, "points_expiring")
    _, member = api.new_member()
    openid = reset_wechat.openid_for(api.users[member["member_id"]])
    _grant(openid, notice_template)
    balance = api.call("GET", "/v1/members/me", token=api.token_for(member["member_id"]))[1]["points"]["balance"]
    assert balance > 0

    status, dry = api.call("POST", POINTS_RUN, {"dry_run": True}, admin=True)
    assert status == 200 and dry["reminders_sent"] == 1 and reset_wechat.sent_messages == []

    status, first = api.call("POST", POINTS_RUN, {}, admin=True)
    assert status == 200, first
    assert set(first) == {"job", "as_of", "dry_run", "members", "reminders_sent", "notices_capped"}
    assert first["as_of"] == "2026-12-01T10:00:00+08:00" and first["members"] >= 1 and first["reminders_sent"] == 1
    [message] = reset_wechat.sent_messages
    assert message["touser"] == openid and message["template_id"] == notice_template
    assert message["data"] == {"number1": {"value": str(balance)}, "date2": {"value": "2027年01月01日 00:00"}}

    _grant(openid, notice_template)
    assert api.call("POST", POINTS_RUN, {}, admin=True)[1]["reminders_sent"] == 0
    clock("2026-12-02T10:00:00+08:00")  # not a reminding day: nothing walked, nothing sent
    assert api.call("POST", POINTS_RUN, {}, admin=True)[1] == {
        "job": "points-expiring", "as_of": "2026-12-02T10:00:00+08:00", "dry_run": False, "members": 0,
        "reminders_sent": 0, "notices_capped": 0}
    clock("2026-12-20T10:00:00+08:00")
    assert api.call("POST", POINTS_RUN, {}, admin=True)[1]["reminders_sent"] == 1
    assert len(reset_wechat.sent_messages) == 2 and storage.grants(openid) == {notice_template: 0}


def test_points_reminders_follow_points_expiring_days(api: Api, clock, program, reset_wechat) -> None:
    edited, _ = program
    edited["notifications"]["points_expiring_days"] = [5]
    notice_template = _notice_template(program, "points_expiring")
    _, member = api.new_member()
    openid = reset_wechat.openid_for(api.users[member["member_id"]])
    _grant(openid, notice_template, 2)
    clock("2026-12-01T10:00:00+08:00")
    assert api.call("POST", POINTS_RUN, {}, admin=True)[1]["members"] == 0
    clock("2026-12-05T10:00:00+08:00")
    assert api.call("POST", POINTS_RUN, {}, admin=True)[1]["reminders_sent"] == 1
    assert [m["touser"] for m in reset_wechat.sent_messages] == [openid] and storage.grants(openid) == {notice_template: 1}


def test_points_reminders_only_in_december(api: Api, clock, program, reset_wechat) -> None:
    clock("2026-11-30T10:00:00+08:00")
    notice_template = _notice_template(program, "points_expiring")
    _, member = api.new_member()
    _grant(reset_wechat.openid_for(api.users[member["member_id"]]), notice_template)
    assert api.call("POST", POINTS_RUN, {}, admin=True)[1] == {
        "job": "points-expiring", "as_of": "2026-11-30T10:00:00+08:00", "dry_run": False, "members": 0,
        "reminders_sent": 0, "notices_capped": 0}
    assert reset_wechat.sent_messages == []
