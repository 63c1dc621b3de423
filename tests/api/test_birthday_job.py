"""The `birthday-gifts` job through `POST /v1/admin/jobs/birthday-gifts/run`: the birthday coupon
once a year to each member born in the job's Shanghai month."""
from __future__ import annotations

import pytest
from helpers import Api

RUN = "/v1/admin/jobs/birthday-gifts/run"


@pytest.fixture
def birthday_template(api: Api, clock, program) -> str:
    """00:20 Shanghai on 1 December with a fresh birthday coupon: its template id."""
    clock("2026-12-01T00:20:00+08:00")
    status, template = api.call("POST", "/v1/admin/coupon-templates", {
        "name": "生日满100减20", "kind": "amount_off", "amount_off_fen": 2000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 30}}, admin=True)
    assert status == 201, template
    edited, put = program
    edited["birthday"]["coupon_template_id"] = template["template_id"]
    put()
    return template["template_id"]


def _coupons(api: Api, token: str, template_id: str) -> list[dict]:
    status, page = api.call("GET", "/v1/coupons?limit=50", token=token)
    assert status == 200, page
    return [c for c in page["items"] if c["template_id"] == template_id]


def test_members_born_this_month_get_one_coupon_a_year(api: Api, birthday_template: str, clock) -> None:
    december_token, december = api.new_member(birthday="1990-12-15")
    june_token, _ = api.new_member(birthday="1990-06-15")
    no_birthday_token, _ = api.new_member()

    status, dry = api.call("POST", RUN, {"dry_run": True}, admin=True)
    assert status == 200 and dry["dry_run"] is True and dry["coupons_issued"] >= 1
    assert _coupons(api, december_token, birthday_template) == []

    status, first = api.call("POST", RUN, {}, admin=True)
    assert status == 200, first
    assert set(first) == {"job", "as_of", "dry_run", "members", "coupons_issued"}
    assert first["job"] == "birthday-gifts" and first["as_of"] == "2026-12-01T00:20:00+08:00"
    assert first["members"] >= 1 and first["coupons_issued"] >= 1
    [coupon] = _coupons(api, december_token, birthday_template)
    assert coupon["source"] == "birthday"
    assert _coupons(api, june_token, birthday_template) == []
    assert _coupons(api, no_birthday_token, birthday_template) == []

    status, second = api.call("POST", RUN, {}, admin=True)
    assert status == 200 and second["coupons_issued"] == 0 and second["members"] == first["members"]
    clock("2026-12-20T09:00:00+08:00")  # later the same month: still once a year
    assert api.call("POST", RUN, {}, admin=True)[1]["coupons_issued"] == 0
    assert len(_coupons(api, api.token_for(december["member_id"]), birthday_template)) == 1


def test_the_month_is_shanghai_s(api: Api, birthday_template: str, clock) -> None:
    _, member = api.new_member(birthday="1990-12-15")
    clock("2026-11-30T16:19:59Z")  # 00:19:59 on 1 December in Shanghai
    assert api.call("POST", RUN, {}, admin=True)[1]["coupons_issued"] >= 1
    assert len(_coupons(api, api.token_for(member["member_id"]), birthday_template)) == 1


def test_without_a_birthday_coupon_nothing_runs(api: Api, clock, program) -> None:
    clock("2026-12-01T00:20:00+08:00")
    edited, put = program
    edited["birthday"]["coupon_template_id"] = None
    put()
    api.new_member(birthday="1990-12-15")
    assert api.call("POST", RUN, {}, admin=True)[1] == {
        "job": "birthday-gifts", "as_of": "2026-12-01T00:20:00+08:00", "dry_run": False, "members": 0,
        "coupons_issued": 0}

