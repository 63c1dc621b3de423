"""The `tier_changed` notice `tier-review` sends for each change it records."""
from __future__ import annotations

import uuid

import storage
from helpers import Api

RUN = "/v1/admin/jobs/tier-review/run"


def test_a_recorded_tier_change_brings_one_notice(api: Api, clock, program, fake_wechat) -> None:
    clock("2026-03-01T10:00:00+08:00")
    _, member = api.new_member()
    status, body = api.call("POST", "/v1/admin/orders", {
        "order_id": "o-" + uuid.uuid4().hex, "member_id": member["member_id"], "amount_fen": 600_000}, admin=True)
    assert status == 201 and body["tier"]["code"] == "gold", body
    clock("2028-01-01T00:10:00+08:00")  # the 2026 growth has aged out
    notice_template = "tpl-" + uuid.uuid4().hex[:10]
    edited, put = program
    edited["notifications"]["templates"]["tier_changed"] = notice_template
    put()
    openid = fake_wechat.openid_for(api.users[member["member_id"]])
    for _ in range(2):
        storage.grant(openid, notice_template)
    fake_wechat.reset()

    dry = api.call("POST", RUN, {"dry_run": True}, admin=True)[1]
    assert dry["notices_sent"] >= 1 and fake_wechat.sent_messages == []
    first = api.call("POST", RUN, {}, admin=True)[1]
    assert first["tier_changes"] >= 1 and first["notices_sent"] >= 1
    [message] = [m for m in fake_wechat.sent_messages if m["touser"] == openid]
    assert message["template_id"] == notice_template
    assert message["data"] == {"thing1": {"value": "普通会员"}, "thing2": {"value": "金卡会员"}}
    second = api.call("POST", RUN, {}, admin=True)[1]
    assert second["tier_changes"] == 0 and second["notices_sent"] == 0
    assert storage.grants(openid) == {notice_template: 1}
    fake_wechat.reset()
