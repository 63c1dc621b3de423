"""Login, signup, profile and account deletion through the HTTP routes (§3), with the real store
and the fake WeChat over HTTP."""
from __future__ import annotations

from helpers import Api, new_user


def test_health(api: Api) -> None:
    assert api.call("GET", "/v1/health") == (200, {"status": "ok"})


def test_a_visitor_logs_in_signs_up_and_keeps_the_same_token(api: Api) -> None:
    name = new_user()
    first = api.login(name)
    assert first["is_member"] is False and first["member"] is None and first["expires_in"] > 0
    token = first["token"]
    assert api.call("GET", "/v1/members/me", token=token)[1]["error"]["code"] == "NOT_A_MEMBER"

    status, member = api.call("POST", "/v1/members", {"nickname": "小红", "gender": "female",
                                                      "birthday": "1995-03-08"}, token=token)
    assert status == 201
    assert member["nickname"] == "小红" and member["gender"] == "female" and member["birthday"] == "1995-03-08"
    assert member["points"]["balance"] == 100
    assert member["points"]["expiring"][0]["points"] == 100
    assert member["tier"] == {"code": "normal", "name": "普通会员", "points_multiplier_pct": 100}
    assert member["growth"] == {"value": 0, "next_tier": "silver", "to_next": 1000, "keep": None}
    assert member["checkin"] == {"streak": 0, "last_date": None}
    assert member["joined_at"].endswith("+08:00")
    assert len(member["referral_code"]) == 8

    assert api.call("GET", "/v1/members/me", token=token) == (200, member)
    again = api.login(name)
    assert again["is_member"] is True and again["member"] == member
    assert "session_key" not in str(again)

    [gift] = api.ledger(token)
    assert (gift["reason"], gift["delta"], gift["balance_after"]) == ("signup_gift", 100, 100)


def test_signing_up_twice_is_already_member(api: Api) -> None:
    token, _ = api.new_member()
    status, body = api.call("POST", "/v1/members", {}, token=token)
    assert (status, body["error"]["code"]) == (409, "ALREADY_MEMBER")
    assert len(api.ledger(token)) == 1


def test_login_with_a_bad_or_reused_code_is_wechat_code_invalid(api: Api) -> None:
    status, body = api.call("POST", "/v1/auth/login", {"code": "invalid-code"})
    assert (status, body["error"]["code"]) == (401, "WECHAT_CODE_INVALID")
    code = f"{new_user()}.1"
    assert api.call("POST", "/v1/auth/login", {"code": code})[0] == 200
    status, body = api.call("POST", "/v1/auth/login", {"code": code})
    assert (status, body["error"]["code"]) == (401, "WECHAT_CODE_INVALID")


def test_phone_code_is_exchanged_and_masked(api: Api) -> None:
    token, member = api.new_member(phone_code="phone-13912345678")
    assert member["phone"] == "139****5678"
    status, found = api.call("GET", "/v1/admin/members?phone=13912345678", admin=True)
    assert status == 200
    mine = [m for m in found["items"] if m["member_id"] == member["member_id"]]
    assert mine and mine[0]["phone"] == "13912345678" and mine[0]["openid"].startswith("o")


def test_a_bad_phone_code_changes_nothing(api: Api) -> None:
    token = api.login(new_user())["token"]
    status, body = api.call("POST", "/v1/members", {"phone_code": "invalid-phone"}, token=token)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert api.call("GET", "/v1/members/me", token=token)[0] == 403


def test_referral_code_records_the_inviter_and_unknown_codes_are_refused(api: Api) -> None:
    _, inviter = api.new_member()
    token = api.login(new_user())["token"]
    status, body = api.call("POST", "/v1/members", {"referral_code": "NOSUCH99"}, token=token)
    assert (status, body["error"]["code"]) == (400, "REFERRAL_CODE_INVALID")
    assert api.call("GET", "/v1/members/me", token=token)[0] == 403
    status, member = api.call("POST", "/v1/members", {"referral_code": inviter["referral_code"].lower()},
                              token=token)
    assert status == 201 and member["referral_code"] != inviter["referral_code"]


def test_profile_updates_and_the_birthday_is_set_once(api: Api) -> None:
    token, member = api.new_member()
    assert member["birthday"] is None
    status, updated = api.call("PATCH", "/v1/members/me", {"nickname": "阿强", "birthday": "1990-01-31",
                                                           "preferences": {"size": "L", "newsletter": True}},
                               token=token)
    assert status == 200 and updated["nickname"] == "阿强" and updated["birthday"] == "1990-01-31"
    assert api.call("PATCH", "/v1/members/me", {"birthday": "1990-01-31"}, token=token)[0] == 200
    status, body = api.call("PATCH", "/v1/members/me", {"birthday": "1991-01-31"}, token=token)
    assert (status, body["error"]["code"]) == (409, "BIRTHDAY_LOCKED")
    assert api.call("GET", "/v1/members/me", token=token)[1]["birthday"] == "1990-01-31"


def test_account_deletion_erases_the_member_and_frees_the_openid(api: Api) -> None:
    name = new_user()
    token = api.login(name)["token"]
    _, member = api.call("POST", "/v1/members", {"phone_code": "phone-13700001111", "nickname": "删我"},
                         token=token)
    old_id = member["member_id"]
    assert api.call("DELETE", "/v1/members/me", token=token) == (204, None)

    assert api.call("GET", "/v1/members/me", token=token)[1]["error"]["code"] == "NOT_A_MEMBER"
    assert api.call("GET", "/v1/points/ledger", token=token)[1]["error"]["code"] == "NOT_A_MEMBER"
    assert api.call("GET", f"/v1/admin/members/{old_id}", admin=True)[0] == 404
    found = api.call("GET", "/v1/admin/members?phone=13700001111", admin=True)[1]["items"]
    assert old_id not in [m["member_id"] for m in found]
    assert api.call("DELETE", "/v1/members/me", token=token)[0] == 403

    status, fresh = api.call("POST", "/v1/members", {}, token=token)
    assert status == 201 and fresh["member_id"] != old_id and fresh["nickname"] is None
    assert fresh["points"]["balance"] == 100
    assert [e["reason"] for e in api.ledger(token)] == ["signup_gift"]
    status, inviting = api.call("POST", "/v1/members", {"referral_code": member["referral_code"]},
                                token=api.login(new_user())["token"])
    assert (status, inviting["error"]["code"]) == (400, "REFERRAL_CODE_INVALID")


def test_admin_member_view_and_member_tokens_do_not_work_on_admin_routes(api: Api) -> None:
    token, member = api.new_member()
    status, view = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)
    assert status == 200 and view["subscriptions"] == {} and view["openid"].startswith("o")
    assert view["rfm"] == {"recency_days": None, "frequency": 0, "monetary_fen": 0, "segment": "prospect"}
    assert {k: v for k, v in view.items() if k not in ("openid", "phone", "subscriptions", "rfm")} == \
        {k: v for k, v in member.items() if k != "phone"}
    status, body = api.call("GET", f"/v1/admin/members/{member['member_id']}", token=token)
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED")
    assert api.call("GET", "/v1/admin/members/nobody", admin=True)[0] == 404


def test_a_second_admin_key_works_and_a_wrong_one_does_not(api: Api) -> None:
    assert api.call("GET", "/v1/admin/program", headers={"X-Admin-Key": "second-admin-key"})[0] == 200
    status, body = api.call("GET", "/v1/admin/program", headers={"X-Admin-Key": "nope"})
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED")
