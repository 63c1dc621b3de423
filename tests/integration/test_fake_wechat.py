"""The fake WeChat answers each endpoint like WeChat, over HTTP, errors included."""
from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.fake_wechat import FakeWeChat

APPID = "wx1234567890fake"
SECRET = "fake-secret"


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    """A FakeWeChat of its own, so that tokens and faults do not leak into other tests."""
    fake = FakeWeChat(APPID, SECRET)
    fake.start()
    yield fake
    fake.stop()


def _login(base: str, code: str, appid: str = APPID, secret: str = SECRET) -> dict[str, Any]:
    response = requests.get(
        f"{base}/sns/jscode2session",
        params={"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"},
        timeout=5,
    )
    assert response.status_code == 200
    return response.json()


def _token(base: str, **extra: Any) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **extra}
    response = requests.post(f"{base}/cgi-bin/stable_token", json=body, timeout=5)
    assert response.status_code == 200
    return response.json()


def _post(base: str, path: str, token: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{base}{path}", params={"access_token": token}, json=body, timeout=5)


def _phone(base: str, token: str, code: str) -> dict[str, Any]:
    response = _post(base, "/wxa/business/getuserphonenumber", token, {"code": code})
    assert response.status_code == 200
    return response.json()


def _send(base: str, token: str, **body: Any) -> requests.Response:
    return _post(base, "/cgi-bin/message/subscribe/send", token, body)


MESSAGE = {"touser": "oSomeone", "template_id": "tpl-1", "data": {"thing1": {"value": "积分到账"}}}


def test_codes_of_one_user_share_an_openid_and_are_single_use(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    first, second, other = _login(base, "alice.1"), _login(base, "alice.2"), _login(base, "bob.1")

    assert first["openid"] == second["openid"] == wechat.openid_for("alice")
    assert first["openid"].startswith("o") and len(first["openid"]) == 28
    assert other["openid"] != first["openid"]
    assert len(first["session_key"]) == 24 and first["session_key"] != second["session_key"]
    assert "errcode" not in first
    assert _login(base, "alice.1") == {"errcode": 40163, "errmsg": "code been used"}


def test_jscode2session_answers_json_as_text_plain_like_wechat(wechat: FakeWeChat) -> None:
    response = requests.get(
        f"{wechat.base_url}/sns/jscode2session",
        params={"appid": APPID, "secret": SECRET, "js_code": "carol.1", "grant_type": "authorization_code"},
        timeout=5,
    )
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.json()["openid"] == wechat.openid_for("carol")


def test_jscode2session_errors(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    assert _login(base, "dave.1", appid="wxwrong")["errcode"] == 40013
    assert _login(base, "dave.1", secret="wrong")["errcode"] == 40125
    assert _login(base, "invalid-code") == {"errcode": 40029, "errmsg": "invalid code"}
    assert _login(base, "")["errcode"] == 41008
    assert "openid" in _login(base, "dave.1")  # a refused call does not use the code up


def test_openids_differ_between_appids() -> None:
    assert FakeWeChat("wxA", "s").openid_for("alice") != FakeWeChat("wxB", "s").openid_for("alice")


def test_stable_token_is_stable_until_force_refresh(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    first = _token(base)
    assert first["expires_in"] == 7200 and first["access_token"]
    assert _token(base)["access_token"] == first["access_token"]
    refreshed = _token(base, force_refresh=True)["access_token"]
    assert refreshed != first["access_token"]
    assert _send(base, first["access_token"], **MESSAGE).json()["errcode"] == 40001
    assert _send(base, refreshed, **MESSAGE).json()["errcode"] == 0


def test_stable_token_errors(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    assert _token(base, appid="wxwrong")["errcode"] == 40013
    assert _token(base, secret="wrong")["errcode"] == 40125
    assert _token(base, grant_type="authorization_code")["errcode"] == 40002


def test_phone_number_from_the_code_or_derived(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    token = _token(base)["access_token"]
    answer = _phone(base, token, "phone-13812345678")
    assert answer["errcode"] == 0
    info = answer["phone_info"]
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13812345678"
    assert info["countryCode"] == "86"
    assert info["watermark"]["appid"] == APPID and isinstance(info["watermark"]["timestamp"], int)

    derived = _phone(base, token, "some-code")["phone_info"]["purePhoneNumber"]
    assert derived.startswith("138") and len(derived) == 11 and derived.isdigit()
    fresh = FakeWeChat(APPID, SECRET)
    fresh.start()
    try:
        again = _phone(fresh.base_url, _token(fresh.base_url)["access_token"], "some-code")
    finally:
        fresh.stop()
    assert again["phone_info"]["purePhoneNumber"] == derived


def test_phone_number_errors(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    token = _token(base)["access_token"]
    assert _phone(base, "not-a-token", "phone-13900000000") == {
        "errcode": 40001,
        "errmsg": "invalid credential, access_token is invalid or not latest",
    }
    assert _phone(base, token, "invalid-phone")["errcode"] == 40029
    assert _phone(base, token, "phone-13900000000")["errcode"] == 0
    assert _phone(base, token, "phone-13900000000")["errcode"] == 40163


def test_subscribe_send_records_the_message(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    token = _token(base)["access_token"]
    answer = _send(base, token, page="pages/points/index", miniprogram_state="developer", **MESSAGE).json()
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and isinstance(answer["msgid"], int)

    [sent] = wechat.sent_messages
    assert sent == {**MESSAGE, "page": "pages/points/index", "miniprogram_state": "developer", "msgid": answer["msgid"]}
    over_http = requests.get(f"{base}/__fake__/messages", timeout=5).json()
    assert over_http == {"messages": [sent]}


def test_subscribe_send_errors(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    token = _token(base)["access_token"]
    assert _send(base, "bad-token", **MESSAGE).json()["errcode"] == 40001
    for missing in ("touser", "template_id", "data"):
        body = {k: v for k, v in MESSAGE.items() if k != missing}
        assert _send(base, token, **body).json() == {"errcode": 47003, "errmsg": "argument invalid!"}
    assert wechat.sent_messages == []


def test_faults_answer_the_next_calls_then_wear_off(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    token = _token(base)["access_token"]
    path = "/cgi-bin/message/subscribe/send"
    assert requests.post(f"{base}/__fake__/faults", json={"path": path, "status": 500, "count": 2}, timeout=5).ok
    assert requests.post(f"{base}/__fake__/faults", json={"path": path, "errcode": 43101}, timeout=5).ok

    statuses = [_send(base, token, **MESSAGE) for _ in range(4)]
    assert [r.status_code for r in statuses] == [500, 500, 200, 200]
    assert statuses[2].json() == {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
    assert statuses[3].json()["errcode"] == 0
    assert len(wechat.sent_messages) == 1


def test_fault_on_login_does_not_use_the_code(wechat: FakeWeChat) -> None:
    wechat.inject_fault("/sns/jscode2session", errcode=-1)
    assert _login(wechat.base_url, "erin.1")["errcode"] == -1
    assert _login(wechat.base_url, "erin.1")["openid"] == wechat.openid_for("erin")


def test_bad_fault_requests_are_refused(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    for body in ({"path": "/x"}, {"path": "/x", "status": 500, "errcode": 1}, {"path": "/x", "status": "500"}, [1]):
        assert requests.post(f"{base}/__fake__/faults", json=body, timeout=5).status_code == 400


def test_reset_clears_messages_faults_and_used_codes(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    token = _token(base)["access_token"]
    _login(base, "frank.1")
    _send(base, token, **MESSAGE)
    wechat.inject_fault("/cgi-bin/message/subscribe/send", status=503)

    assert requests.post(f"{base}/__fake__/reset", timeout=5).json()["errcode"] == 0

    assert wechat.sent_messages == []
    assert "openid" in _login(base, "frank.1")
    assert _send(base, token, **MESSAGE).json()["errcode"] == 0  # the token survives a reset


def test_unknown_paths_and_methods(wechat: FakeWeChat) -> None:
    base = wechat.base_url
    missing = requests.get(f"{base}/cgi-bin/token", timeout=5)
    assert missing.status_code == 404 and missing.json()["errcode"] == 404
    assert requests.get(f"{base}/cgi-bin/stable_token", timeout=5).status_code == 405


def test_concurrent_logins_with_one_code_succeed_once(wechat: FakeWeChat) -> None:
    code = f"racer-{secrets.token_hex(3)}.1"
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(10)

    def login() -> None:
        barrier.wait()
        results.append(_login(wechat.base_url, code))

    threads = [threading.Thread(target=login) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(r.get("errcode", 0) for r in results) == [0] + [40163] * 9


def test_session_fake_is_wired_into_the_environment(fake_wechat: FakeWeChat, wechat_url: str) -> None:
    assert fake_wechat.base_url == wechat_url
    assert _login(wechat_url, f"session-{secrets.token_hex(3)}.1", fake_wechat.appid, fake_wechat.secret)["openid"]
