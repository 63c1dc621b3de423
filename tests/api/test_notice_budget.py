"""`notifications.weekly_cap` through the job routes: every job's sends to a member count together
over any 7 consecutive Shanghai dates; a send over the cap is skipped, its grant kept."""
from __future__ import annotations

import uuid

import storage
from helpers import Api

MEMBER_DAY = "/v1/admin/jobs/member-day/run"
POINTS = "/v1/admin/jobs/points-expiring/run"


def _templates(program, weekly_cap: int) -> tuple[str, str]:
    """Fresh member-day and points-expiring notice templates, member days on the 7th and 8th."""
    member_day, points = ("tpl-" + uuid.uuid4().hex[:10] for _ in range(2))
    edited, put = program
    edited["notifications"].update(weekly_cap=weekly_cap, points_expiring_days=[1])
    edited["notifications"]["templates"].update(member_day=member_day, points_expiring=points)
    edited["member_days"].update(days_of_month=[7, 8], coupon_template_id=None)
    edited["points_expiry"]["keep_years"] = 0
    put()
    return member_day, points


def test_two_jobs_on_different_dates_share_the_cap_and_the_eighth_date_frees_it(
        api: Api, clock, program, fake_wechat) -> None:
    clock("2026-12-01T10:00:00+08:00")
    member_day, points = _templates(program, weekly_cap=1)
    _, member = api.new_member()
    openid = fake_wechat.openid_for(api.users[member["member_id"]])
    for template_id in (member_day, points):
        storage.grant(openid, template_id)
    fake_wechat.reset()

    assert api.call("POST", POINTS, {}, admin=True)[1]["reminders_sent"] == 1
    clock("2026-12-07T00:30:00+08:00")  # six dates later: the week holds one send already
    dry = api.call("POST", MEMBER_DAY, {"dry_run": True}, admin=True)[1]
    assert dry["notices_sent"] == 0 and dry["notices_capped"] == 1
    capped = api.call("POST", MEMBER_DAY, {}, admin=True)[1]
    assert capped["notices_sent"] == 0 and capped["notices_capped"] == 1
    assert storage.grants(openid) == {member_day: 1, points: 0}  # the grant is kept

    clock("2026-12-08T00:30:00+08:00")  # the 8th date: 1 December has left every window
    sent = api.call("POST", MEMBER_DAY, {}, admin=True)[1]
    assert sent["notices_sent"] == 1 and sent["notices_capped"] == 0
    assert [m["template_id"] for m in fake_wechat.sent_messages if m["touser"] == openid] == [points, member_day]
    assert storage.grants(openid) == {member_day: 0, points: 0}
    fake_wechat.reset()


def test_a_cap_of_zero_sends_nothing_and_walks_nothing_for_notices_alone(api: Api, clock, program, fake_wechat) -> None:
    clock("2026-12-01T10:00:00+08:00")
    member_day, points = _templates(program, weekly_cap=0)
    _, member = api.new_member()
    openid = fake_wechat.openid_for(api.users[member["member_id"]])
    storage.grant(openid, points)
    fake_wechat.reset()
    assert api.call("POST", POINTS, {}, admin=True)[1]["members"] == 0
    clock("2026-12-07T00:30:00+08:00")
    assert api.call("POST", MEMBER_DAY, {}, admin=True)[1]["members"] == 0
    assert fake_wechat.sent_messages == [] and storage.grants(openid) == {points: 1}
