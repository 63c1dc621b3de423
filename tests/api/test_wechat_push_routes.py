"""WeChat message push through the app (§5): the URL check, XML and JSON pushes, plaintext and
encrypted, grants per openid in the admin view, and pushes that must change nothing (retries,
replays, forged, stale, other appid, undecryptable). Encryption here is wechatpy's, not ours."""
from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from helpers import Api, new_user
from servers import TEST_ENV

TOKEN = TEST_ENV["WECHAT_TOKEN"]
AES_KEY = TEST_ENV["WECHAT_ENCODING_AES_KEY"]
APPID = TEST_ENV["WECHAT_APPID"]
NOW = "2026-05-20T10:00:00+08:00"
NOW_TS = int(datetime.fromisoformat(NOW).timestamp())
POPUP, CHANGE, SENT = "subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event"


def sign(*parts: str) -> str:
    import hashlib

    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def seal(message: str, appid: str = APPID) -> str:
    """`message` encrypted by wechatpy's PrpCrypto (WeChat's scheme) for `appid`."""
    import base64

    from wechatpy.crypto import PrpCrypto

    return PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt(message, appid).decode()


def xml_event(openid: str, created: int, event: str, items: list[dict[str, str]]) -> str:
    wrapper = {POPUP: "SubscribeMsgPopupEvent", CHANGE: "SubscribeMsgChangeEvent", SENT: "SubscribeMsgSentEvent"}
    lists = "".join("<List>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in item.items()) + "</List>"
                    for item in items)
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><{wrapper[event]}>{lists}</{wrapper[event]}></xml>")


def json_event(openid: str, created: int, event: str, items: list[dict[str, str]]) -> str:
    listed: Any = items[0] if len(items) == 1 else items  # WeChat's JSON: one item is an object
    return json.dumps({"ToUserName": "gh_test", "FromUserName": openid, "CreateTime": created,
                       "MsgType": "event", "Event": event, "List": listed})


def content_type_of(response: Any) -> str:
    return {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")


class Push:
    """Sends pushes as WeChat does, signed with the test token at the test clock's time."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, message: str, *, kind: str = "xml", encrypted: bool = True, timestamp: int = NOW_TS,
             appid: str = APPID, token: str = TOKEN, encrypt: str | None = None,
             content_type: str | None = None) -> tuple[int, str, str]:
        ts, nonce = str(timestamp), secrets.token_hex(4)
        query = {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "o-ignored"}
        body = message
        if encrypted:
            encrypt = encrypt if encrypt is not None else seal(message, appid)
            query.update(encrypt_type="aes", msg_signature=sign(token, ts, nonce, encrypt))
            body = (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
                    if kind == "xml" else json.dumps({"ToUserName": "gh_test", "Encrypt": encrypt}))
        headers = {"Content-Type": content_type or ("text/xml" if kind == "xml" else "application/json")}
        response = self.client.http.post("/v1/wechat/push?" + urlencode(query), headers=headers, body=body)
        return response.status_code, content_type_of(response), response.body.decode()


@pytest.fixture
def push(client, clock) -> Push:
    clock(NOW)
    return Push(client)


def grants(api: Api, member_id: str) -> dict[str, int]:
    status, view = api.call("GET", f"/v1/admin/members/{member_id}", admin=True)
    assert status == 200, view
    return view["subscriptions"]


def accept(*templates: str) -> list[dict[str, str]]:
    return [{"TemplateId": t, "SubscribeStatusString": "accept", "PopupScene": "0"} for t in templates]


def assert_unauthenticated(answer: tuple[int, str, str]) -> None:
    status, content_type, body = answer
    assert status == 401 and content_type.startswith("application/json"), answer
    assert json.loads(body)["error"]["code"] == "UNAUTHENTICATED"


# ---- the URL check -----------------------------------------------------------------------------

def test_url_check_answers_echostr_as_plain_text(client) -> None:
    echostr = "7253398126405126431"
    query = {"signature": sign(TOKEN, "1716170000", "n1"), "timestamp": "1716170000", "nonce": "n1",
             "echostr": echostr}
    response = client.http.get("/v1/wechat/push?" + urlencode(query))
    assert response.status_code == 200 and response.body == echostr.encode()
    assert content_type_of(response) == "text/plain; charset=utf-8"


@pytest.mark.parametrize("change", [{"signature": "0" * 40}, {"nonce": "n2"}, {"signature": None},
                                    {"timestamp": None}])
def test_url_check_with_a_forged_or_missing_signature_is_401(client, change: dict[str, Any]) -> None:
    query = {"signature": sign(TOKEN, "1716170000", "n1"), "timestamp": "1716170000", "nonce": "n1",
             "echostr": "42", **change}
    response = client.http.get("/v1/wechat/push?" + urlencode({k: v for k, v in query.items() if v is not None}))
    assert response.status_code == 401
    assert json.loads(response.body)["error"]["code"] == "UNAUTHENTICATED"


# ---- grants ------------------------------------------------------------------------------------

def test_encrypted_xml_popup_grants_one_send_per_accept_and_a_retry_changes_nothing(api, push) -> None:
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    items = accept("T-order", "T-points") + [{"TemplateId": "T-no", "SubscribeStatusString": "reject"}]
    message = xml_event(openid, NOW_TS - 2, POPUP, items)
    assert push.send(message) == (200, "text/plain; charset=utf-8", "success")
    assert grants(api, member["member_id"]) == {"T-order": 1, "T-points": 1}
    for _ in range(3):  # WeChat's retries (re-encrypted, new nonce) and a replay of the same bytes
        assert push.send(message)[::2] == (200, "success")
    assert grants(api, member["member_id"]) == {"T-order": 1, "T-points": 1}
    assert push.send(xml_event(openid, NOW_TS - 1, POPUP, accept("T-order")))[::2] == (200, "success")
    assert grants(api, member["member_id"]) == {"T-order": 2, "T-points": 1}


def test_replaying_the_exact_request_changes_nothing(client, api, push) -> None:
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    ts, nonce = str(NOW_TS), "replay"
    encrypt = seal(json_event(openid, NOW_TS, POPUP, accept("T1")))
    query = urlencode({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                       "msg_signature": sign(TOKEN, ts, nonce, encrypt), "signature": sign(TOKEN, ts, nonce)})
    body = json.dumps({"ToUserName": "gh_test", "Encrypt": encrypt})
    for _ in range(2):
        response = client.http.post("/v1/wechat/push?" + query, headers={"Content-Type": "application/json"},
                                    body=body)
        assert (response.status_code, response.body) == (200, b"success")
    assert grants(api, member["member_id"]) == {"T1": 1}


def test_encrypted_json_push_with_a_single_item_list_object(api, push) -> None:
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    assert push.send(json_event(openid, NOW_TS, POPUP, accept("T-json")), kind="json")[::2] == (200, "success")
    assert push.send(json_event(openid, NOW_TS + 1, POPUP, accept("T-json", "T-two")), kind="json",
                     content_type="application/json; charset=utf-8")[::2] == (200, "success")
    assert grants(api, member["member_id"]) == {"T-json": 2, "T-two": 1}


def test_plaintext_pushes_are_refused_in_safe_mode(api, push) -> None:
    """With an EncodingAESKey configured, a plaintext push (whose signature does not cover the
    body) is 401 and changes nothing."""
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    assert_unauthenticated(push.send(xml_event(openid, NOW_TS, POPUP, accept("T-plain")), encrypted=False))
    assert_unauthenticated(push.send(json_event(openid, NOW_TS, POPUP, accept("T-plain")), kind="json",
                                     encrypted=False))
    assert grants(api, member["member_id"]) == {}


def plain_push(base: str, message: str, ts: str, nonce: str, kind: str = "xml") -> tuple[int, str]:
    response = requests.post(f"{base}/v1/wechat/push", params={"signature": sign(TOKEN, ts, nonce), "timestamp": ts,
                                                                "nonce": nonce},
                             data=message.encode(), timeout=30,
                             headers={"Content-Type": "text/xml" if kind == "xml" else "application/json"})
    return response.status_code, response.text


def test_plaintext_mode_pushes_xml_and_json_and_a_signed_url_carries_one_push(api, live_server) -> None:
    """A server without an EncodingAESKey takes plaintext pushes; a reused (timestamp, nonce) with
    another body is 401 and changes nothing, the same push again is a replay: success, once."""
    base = live_server(WECHAT_ENCODING_AES_KEY="")
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    now = int(time.time())
    first = xml_event(openid, now, POPUP, accept("T-plain"))
    assert plain_push(base, first, str(now), "n-1") == (200, "success")
    assert plain_push(base, first, str(now), "n-1") == (200, "success")  # the exact request again
    assert plain_push(base, json_event(openid, now, POPUP, accept("T-plain")), str(now), "n-2", "json") == \
        (200, "success")  # the same event (a retry): once
    for other in (xml_event(openid, now + 1, POPUP, accept("T-plain")), xml_event(openid, now, POPUP, accept("T-x")),
                  json_event(openid, now + 2, POPUP, accept("T-plain", "T-more"))):
        status, body = plain_push(base, other, str(now), "n-1", "json" if other.startswith("{") else "xml")
        assert status == 401 and json.loads(body)["error"]["code"] == "UNAUTHENTICATED", body
    assert plain_push(base, json_event(openid, now + 5, POPUP, accept("T-plain")), str(now), "n-3", "json") == \
        (200, "success")
    assert grants(api, member["member_id"]) == {"T-plain": 2}


def test_a_reused_timestamp_and_nonce_with_another_encrypted_push_is_401(client, api, push) -> None:
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    ts, nonce = str(NOW_TS), "reused-" + secrets.token_hex(4)

    def send(message: str) -> tuple[int, str]:
        encrypt = seal(message)
        query = urlencode({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "signature": sign(TOKEN, ts, nonce),
                           "msg_signature": sign(TOKEN, ts, nonce, encrypt)})
        response = client.http.post("/v1/wechat/push?" + query, headers={"Content-Type": "application/json"},
                                    body=json.dumps({"ToUserName": "gh_test", "Encrypt": encrypt}))
        return response.status_code, response.body.decode()

    assert send(json_event(openid, NOW_TS, POPUP, accept("T-once"))) == (200, "success")
    status, body = send(json_event(openid, NOW_TS + 1, POPUP, accept("T-once", "T-twice")))
    assert status == 401 and json.loads(body)["error"]["code"] == "UNAUTHENTICATED"
    assert grants(api, member["member_id"]) == {"T-once": 1}


def test_a_visitors_grants_count_once_they_sign_up(api, push, fake_wechat) -> None:
    name = new_user()
    assert push.send(xml_event(fake_wechat.openid_for(name), NOW_TS, POPUP, accept("T-early")))[::2] == \
        (200, "success")
    token = api.login(name)["token"]
    status, member = api.call("POST", "/v1/members", {}, token=token)
    assert status == 201, member
    assert grants(api, member["member_id"]) == {"T-early": 1}


def test_switching_a_template_off_zeroes_it_and_send_results_are_recorded(api, push) -> None:
    from chalicelib.store.messaging import SubscriptionRecord

    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    push.send(xml_event(openid, NOW_TS - 9, POPUP, accept("T-a", "T-b")))
    push.send(xml_event(openid, NOW_TS - 8, POPUP, accept("T-a")))
    off = [{"TemplateId": "T-a", "SubscribeStatusString": "reject"}]
    assert push.send(json_event(openid, NOW_TS - 7, CHANGE, off), kind="json")[::2] == (200, "success")
    assert grants(api, member["member_id"]) == {"T-a": 0, "T-b": 1}
    sent = [{"TemplateId": "T-b", "MsgID": "1700827132819554304", "ErrorCode": "0", "ErrorStatus": "success"}]
    assert push.send(xml_event(openid, NOW_TS - 6, SENT, sent))[::2] == (200, "success")
    record = SubscriptionRecord.get(openid, "T-b", consistent_read=True)
    assert (record.send_status, record.send_error_code, record.msg_id, record.count) == \
        ("success", 0, "1700827132819554304", 1)
    assert SubscriptionRecord.get(openid, "T-a", consistent_read=True).choice == "reject"


# ---- pushes that change nothing ----------------------------------------------------------------

def test_forged_stale_other_appid_or_undecryptable_pushes_are_401_and_change_nothing(client, api, push) -> None:
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    message = xml_event(openid, NOW_TS, POPUP, accept("T-x"))
    assert_unauthenticated(push.send(message, token="forged-token"))
    assert_unauthenticated(push.send(message, encrypted=False, token="forged-token"))
    assert_unauthenticated(push.send(message, timestamp=NOW_TS - 301))
    assert_unauthenticated(push.send(message, timestamp=NOW_TS + 301))
    assert_unauthenticated(push.send(message, appid="wx1111111111111111"))
    assert_unauthenticated(push.send(message, encrypt="bm90IGEgY2lwaGVydGV4dA=="))
    assert_unauthenticated(push.send(message, encrypt=seal(message)[:-8] + "AAAAAAA="))
    assert_unauthenticated(push.send("<xml><Encrypt></Encrypt></xml>", encrypt=""))
    assert_unauthenticated(push.send("garbage", kind="json", encrypt="", content_type="text/plain"))
    ts, nonce = str(NOW_TS), "garbage"
    response = client.http.post("/v1/wechat/push?" + urlencode(
        {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": sign(TOKEN, ts, nonce, "x")}),
        headers={"Content-Type": "text/plain"}, body="neither xml nor json")
    assert_unauthenticated((response.status_code, content_type_of(response), response.body.decode()))
    assert grants(api, member["member_id"]) == {}
    # none of them was recorded as handled: the genuine push still applies
    assert push.send(message)[::2] == (200, "success")
    assert grants(api, member["member_id"]) == {"T-x": 1}


def test_the_test_clock_decides_what_is_stale(api, push, clock) -> None:
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    message = xml_event(openid, NOW_TS, POPUP, accept("T-clock"))
    clock("2026-05-20T10:05:01+08:00")
    assert_unauthenticated(push.send(message))
    clock("2026-05-20T10:05:00+08:00")
    assert push.send(message)[::2] == (200, "success")
    assert grants(api, member["member_id"]) == {"T-clock": 1}


def test_an_authentic_body_that_is_not_a_push_is_400(push) -> None:
    status, _, body = push.send("{\"hello\": 1}", kind="json")
    assert status == 400 and json.loads(body)["error"]["code"] == "VALIDATION_ERROR"


def test_an_event_without_grants_answers_success(api, push) -> None:
    message = json.dumps({"FromUserName": "o-someone", "CreateTime": NOW_TS, "MsgType": "text", "Content": "hi"})
    assert push.send(message, kind="json")[::2] == (200, "success")


def test_a_local_server_answers_plain_text_unquoted(live_server) -> None:
    url = live_server() + "/v1/wechat/push"
    query = {"signature": sign(TOKEN, "1716170000", "n1"), "timestamp": "1716170000", "nonce": "n1",
             "echostr": "7253398126405126431"}
    response = requests.get(url, params=query, timeout=5)
    assert (response.status_code, response.text) == (200, "7253398126405126431")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    ts, nonce = str(int(datetime.now().timestamp())), "live-" + secrets.token_hex(4)
    message = json_event("o-live-" + new_user(), int(ts), "other_event", [])
    encrypt = seal(xml_event("o-live", int(ts), POPUP, []))
    response = requests.post(url, params={"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
                                          "encrypt_type": "aes", "msg_signature": sign(TOKEN, ts, nonce, encrypt)},
                             data=f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode(),
                             headers={"Content-Type": "text/xml"}, timeout=5)
    assert (response.status_code, response.text) == (200, "success")
    response = requests.post(url, params={"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                                          "msg_signature": sign(TOKEN, ts, nonce, "x")},
                             data=message, headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHENTICATED"


# ---- pushes bigger than WeChat sends -------------------------------------------------------------

def test_oversized_signed_pushes_are_400_and_change_nothing(api, push) -> None:
    """150 templates (over DynamoDB's 100-item transaction), a 2,000-character TemplateId, a
    3,000-character FromUserName or a 5,000-digit CreateTime: a clean 400 (WeChat gives up after its
    3 retries), never a 5xx that it would retry, and nothing is written."""
    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    cases = [
        xml_event(openid, NOW_TS, POPUP, accept(*(f"T-{i}" for i in range(150)))),
        json_event(openid, NOW_TS, POPUP, accept("T" * 2000)),
        json_event(openid, NOW_TS, POPUP, accept("T-ok", "T 空格")),
        xml_event("o" * 3000, NOW_TS, POPUP, accept("T-ok")),
        xml_event(openid + "\u202e", NOW_TS, POPUP, accept("T-ok")),
        xml_event(openid, NOW_TS, POPUP, accept("T-ok")).replace(f"<CreateTime>{NOW_TS}", "<CreateTime>" + "9" * 5000),
        xml_event(openid, NOW_TS, POPUP, accept("T-ok")).replace(f"<CreateTime>{NOW_TS}", "<CreateTime>\u00b2"),
        json_event(openid, NOW_TS, POPUP, [{"TemplateId": "T-ok", "SubscribeStatusString": "accept" + "x" * 200}]),
    ]
    for message in cases:
        status, _, body = push.send(message, kind="json" if message.startswith("{") else "xml")
        assert status == 400 and json.loads(body)["error"]["code"] == "VALIDATION_ERROR", (message[:80], body)
    assert grants(api, member["member_id"]) == {}
    assert push.send(xml_event(openid, NOW_TS, POPUP, accept(*(f"T-{i}" for i in range(20)))))[::2] == \
        (200, "success")
    assert len(grants(api, member["member_id"])) == 20


def test_a_sent_event_with_a_huge_error_code_is_recorded_without_it(api, push) -> None:
    from chalicelib.store.messaging import SubscriptionRecord

    _, member = api.new_member()
    openid = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]["openid"]
    for created, code in ((NOW_TS - 2, "9" * 100), (NOW_TS - 1, "\u00b2")):
        sent = [{"TemplateId": "T-code", "MsgID": "1", "ErrorCode": code, "ErrorStatus": "failed"}]
        assert push.send(json_event(openid, created, SENT, sent), kind="json")[::2] == (200, "success")
        assert SubscriptionRecord.get(openid, "T-code", consistent_read=True).send_error_code is None


@pytest.mark.parametrize("timestamp", ["\u00b2", "9" * 5000, "１７"])
def test_a_push_timestamp_that_is_not_ascii_digits_is_refused(client, timestamp: str) -> None:
    query = {"signature": sign(TOKEN, timestamp, "n1"), "timestamp": timestamp, "nonce": "n1"}
    response = client.http.post("/v1/wechat/push?" + urlencode(query), headers={"Content-Type": "text/xml"},
                                body="<xml></xml>")
    assert response.status_code == 400 and json.loads(response.body)["error"]["field"] == "timestamp"
