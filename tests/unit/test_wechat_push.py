"""WeChat message push, the adapter side: signatures and decryption against WeChat's published
vectors, PKCS#7 to 32 bytes, XML and JSON normalised to one event, and the grants each event plans."""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from chalicelib.config import Settings, settings
from chalicelib.domain.subscriptions import GrantChange, plan_grants
from chalicelib.errors import Unauthenticated, ValidationError
from chalicelib.wechat.push import (
    check_signature,
    decrypt,
    normalise,
    parse_document,
    pkcs7_unpad,
    read_push,
    signature,
    verify_url,
)

# Tencent's official message-encryption sample (WXBizMsgCrypt Sample.cs; the same values are in
# https://developer.work.weixin.qq.com/document/path/90968): token, EncodingAESKey and appid
# (corp id), a pushed message and the echostr of a URL check, with their signatures.
VECTOR_TOKEN = "QDG6eK"
VECTOR_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
VECTOR_APPID = "wx5823bf96d3bd56c7"
VECTOR_MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
VECTOR_TIMESTAMP = "1409659813"
VECTOR_NONCE = "1372623149"
VECTOR_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sY"
    "YvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR"
    "+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallc"
    "rw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8"
    "Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
VECTOR_BODY = (f"<xml><ToUserName><![CDATA[{VECTOR_APPID}]]></ToUserName>"
               f"<Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt></xml>").encode()
ECHO_MSG_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
ECHO_TIMESTAMP = "1409659589"
ECHO_NONCE = "263014780"
ECHO_ENCRYPT = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="


def vector_settings(**changes: str) -> Settings:
    """The test settings with the sample's token, key and appid (then `changes`)."""
    return replace(settings(), **{"wechat_token": VECTOR_TOKEN, "wechat_encoding_aes_key": VECTOR_AES_KEY,
                                  "wechat_appid": VECTOR_APPID, **changes})


def at(timestamp: str) -> datetime:
    return datetime.fromtimestamp(int(timestamp), timezone.utc)


# ---- signatures --------------------------------------------------------------------------------

def test_plain_signature_matches_wechatpys_published_vector() -> None:
    """wechatpy tests/test_utils.py: token "test", timestamp 1410685589, nonce "test"; and its
    WeChatSigner case ("789", "456", "123")."""
    assert signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert signature("789", "456", "123") == "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
    check_signature("f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "test", "1410685589", "test")
    with pytest.raises(Unauthenticated):
        check_signature("f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", "test", "1410685589", "test")
    with pytest.raises(Unauthenticated):
        check_signature(None, "test", "1410685589", "test")


def test_msg_signature_of_the_published_message_covers_encrypt() -> None:
    check_signature(VECTOR_MSG_SIGNATURE, VECTOR_TOKEN, VECTOR_TIMESTAMP, VECTOR_NONCE, VECTOR_ENCRYPT)
    check_signature(ECHO_MSG_SIGNATURE, VECTOR_TOKEN, ECHO_TIMESTAMP, ECHO_NONCE, ECHO_ENCRYPT)
    with pytest.raises(Unauthenticated):
        check_signature(VECTOR_MSG_SIGNATURE, VECTOR_TOKEN, VECTOR_TIMESTAMP, VECTOR_NONCE, ECHO_ENCRYPT)


def test_get_check_answers_echostr_only_with_the_right_signature() -> None:
    conf = replace(settings(), wechat_token="test")
    query = {"signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "timestamp": "1410685589",
             "nonce": "test", "echostr": "hello 123"}
    assert verify_url(conf, query) == "hello 123"
    for broken in ({"signature": "0" * 40}, {"nonce": "other"}, {"echostr": None}):
        with pytest.raises(Unauthenticated):
            verify_url(conf, {k: v for k, v in {**query, **broken}.items() if v is not None})


# ---- decryption --------------------------------------------------------------------------------

def test_published_message_decrypts_to_the_published_plaintext() -> None:
    message = decrypt(VECTOR_AES_KEY, VECTOR_ENCRYPT, VECTOR_APPID)
    document = parse_document(message)
    assert document["Content"] == "hello" and document["MsgId"] == "4561255354251345929"
    assert decrypt(VECTOR_AES_KEY, ECHO_ENCRYPT, VECTOR_APPID) == b"1616140317555161061"


def test_published_push_reads_end_to_end() -> None:
    query = {"signature": "ignored-in-safe-mode", "timestamp": VECTOR_TIMESTAMP, "nonce": VECTOR_NONCE,
             "encrypt_type": "aes", "msg_signature": VECTOR_MSG_SIGNATURE}
    event = read_push(vector_settings(), query, VECTOR_BODY, at(VECTOR_TIMESTAMP))
    assert (event.openid, event.create_time, event.event, event.items) == ("mycreate", 1409659813, "", ())


def test_published_push_is_refused_for_another_appid_a_forgery_or_when_stale() -> None:
    query = {"timestamp": VECTOR_TIMESTAMP, "nonce": VECTOR_NONCE, "encrypt_type": "aes",
             "msg_signature": VECTOR_MSG_SIGNATURE}
    with pytest.raises(Unauthenticated, match="appid"):
        read_push(vector_settings(wechat_appid="wx0000000000000000"), query, VECTOR_BODY, at(VECTOR_TIMESTAMP))
    with pytest.raises(Unauthenticated):
        read_push(vector_settings(wechat_token="other"), query, VECTOR_BODY, at(VECTOR_TIMESTAMP))
    with pytest.raises(Unauthenticated):
        read_push(vector_settings(), {**query, "nonce": "1"}, VECTOR_BODY, at(VECTOR_TIMESTAMP))
    with pytest.raises(Unauthenticated, match="过期"):
        read_push(vector_settings(), query, VECTOR_BODY, at(str(int(VECTOR_TIMESTAMP) + 301)))
    read_push(vector_settings(), query, VECTOR_BODY, at(str(int(VECTOR_TIMESTAMP) - 300)))


def test_tampered_or_garbage_ciphertext_is_unauthenticated() -> None:
    sealed = bytearray(base64.b64decode(VECTOR_ENCRYPT))
    sealed[-1] ^= 1  # breaks the padding of the last block
    for encrypt in (base64.b64encode(bytes(sealed)).decode(), "not base64!", "", base64.b64encode(b"x" * 15).decode()):
        with pytest.raises(Unauthenticated):
            decrypt(VECTOR_AES_KEY, encrypt, VECTOR_APPID)


def test_pkcs7_to_32_bytes() -> None:
    from wechatpy.crypto.pkcs7 import PKCS7Encoder

    for size in (0, 1, 31, 32, 33, 63):
        data = b"a" * size
        padded = PKCS7Encoder.encode(data)
        assert len(padded) % 32 == 0 and pkcs7_unpad(padded) == data
    assert pkcs7_unpad(b"a" * 32 + bytes([32]) * 32) == b"a" * 32
    for bad in (b"", b"a" * 31 + b"\x00", b"a" * 31 + b"\x21", b"a" * 30 + b"\x01\x02", b"\x03\x03"):
        with pytest.raises(ValueError):
            pkcs7_unpad(bad)


# ---- normalisation -----------------------------------------------------------------------------

POPUP_XML = b"""<xml>
<ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
<FromUserName><![CDATA[o7esq5OI1Buej_Zkl6pu8ezJG4p0]]></FromUserName>
<CreateTime>1620736926</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[subscribe_msg_popup_event]]></Event>
<SubscribeMsgPopupEvent>
<List>
<TemplateId><![CDATA[T1]]></TemplateId>
<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
<PopupScene>2</PopupScene>
</List>
</SubscribeMsgPopupEvent>
</xml>"""


def test_a_single_item_list_reads_the_same_as_an_array_in_json_and_xml() -> None:
    item = {"TemplateId": "T1", "SubscribeStatusString": "accept", "PopupScene": "2"}
    base = {"ToUserName": "gh_123456789abc", "FromUserName": "o7esq5OI1Buej_Zkl6pu8ezJG4p0",
            "CreateTime": 1620736926, "MsgType": "event", "Event": "subscribe_msg_popup_event"}
    as_object = normalise(parse_document(json.dumps({**base, "List": item}).encode()))
    as_array = normalise(parse_document(json.dumps({**base, "List": [item], "CreateTime": "1620736926"}).encode()))
    from_xml = normalise(parse_document(POPUP_XML))
    assert as_object == as_array == from_xml
    assert as_object.items == (item,) and as_object.create_time == 1620736926
    assert as_object.dedupe_key == from_xml.dedupe_key


def test_several_items_and_sent_results_are_kept_as_strings() -> None:
    sent = {"FromUserName": "o1", "CreateTime": "1620963428", "Event": "subscribe_msg_sent_event",
            "List": [{"TemplateId": "T1", "MsgID": 1700827132819554304, "ErrorCode": 0, "ErrorStatus": "success"},
                     {"TemplateId": "T2", "MsgID": "17", "ErrorCode": "43101", "ErrorStatus": "fail"}]}
    event = normalise(parse_document(json.dumps(sent).encode()))
    assert event.items[0] == {"TemplateId": "T1", "MsgID": "1700827132819554304", "ErrorCode": "0",
                              "ErrorStatus": "success"}
    xml = POPUP_XML.replace(b"</SubscribeMsgPopupEvent>", b"<List><TemplateId>T2</TemplateId>"
                            b"<SubscribeStatusString>reject</SubscribeStatusString></List></SubscribeMsgPopupEvent>")
    assert [i["TemplateId"] for i in normalise(parse_document(xml)).items] == ["T1", "T2"]


def test_content_changes_the_dedupe_key() -> None:
    one = normalise(parse_document(POPUP_XML))
    other = normalise(parse_document(POPUP_XML.replace(b"accept", b"reject")))
    assert one.dedupe_key != other.dedupe_key
    assert one.dedupe_key.startswith("o7esq5OI1Buej_Zkl6pu8ezJG4p0#1620736926#")


@pytest.mark.parametrize("body", [b"", b"nonsense", b"[1]", b"<xml><a>", "{\"x\": 1}".encode("utf-16"),
                                  b'{"FromUserName": "o1"}', b'{"FromUserName": "o1", "CreateTime": true}',
                                  b'{"CreateTime": 1}', b"<xml></xml>"])
def test_bodies_that_are_not_pushes_are_validation_errors(body: bytes) -> None:
    with pytest.raises(ValidationError):
        normalise(parse_document(body))


# ---- grants ------------------------------------------------------------------------------------

def test_popup_accepts_grant_one_send_each_and_rejects_nothing() -> None:
    items = [{"TemplateId": "T1", "SubscribeStatusString": "accept"},
             {"TemplateId": "T2", "SubscribeStatusString": "reject"},
             {"TemplateId": "T3", "SubscribeStatusString": "accept"},
             {"TemplateId": "T1", "SubscribeStatusString": "accept"}]
    assert plan_grants("subscribe_msg_popup_event", items) == [
        GrantChange("T1", grants=2, choice="accept"), GrantChange("T3", grants=1, choice="accept")]
    assert plan_grants("subscribe_msg_popup_event", items[1:2]) == []


def test_switching_a_template_off_takes_its_grants_and_sent_results_are_recorded() -> None:
    assert plan_grants("subscribe_msg_change_event", [{"TemplateId": "T1", "SubscribeStatusString": "reject"}]) == [
        GrantChange("T1", switched_off=True, choice="reject")]
    assert plan_grants("subscribe_msg_sent_event", [
        {"TemplateId": "T1", "MsgID": "9", "ErrorCode": "43101", "ErrorStatus": "fail"}]) == [
        GrantChange("T1", send_status="fail", send_error_code=43101, msg_id="9")]
    assert plan_grants("unsubscribe", [{"TemplateId": "T1", "SubscribeStatusString": "accept"}]) == []
