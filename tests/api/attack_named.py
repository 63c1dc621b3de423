"""The named half of the attacker's table (issue 9, run by test_attacks.py): the attacks issue 9 lists
one by one (extreme dates and the test clock, validity extremes, duplicate keys, nickname characters,
floats, booleans and huge integers as amounts, admin list limits) and the signed WeChat pushes (sizes,
malformed parts, signatures, timestamps, plaintext), built and signed at run time."""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from attack_table import DEEP, PUSH_PATH, SURROGATE, VALID, Attack, Raw, Target, dumps
from servers import TEST_ENV

SHANGHAI = timezone(timedelta(hours=8))
PUSH_TOKEN = TEST_ENV["WECHAT_TOKEN"]
AES_KEY = TEST_ENV["WECHAT_ENCODING_AES_KEY"]
APPID = TEST_ENV["WECHAT_APPID"]
POPUP = "subscribe_msg_popup_event"
ORDER = {"order_id": "atk-@UNIQ@", "member_id": "@MEMBER_ID@", "amount_fen": 100}
NICKNAMES = [("NUL", "a\x00b"), ("RTL override", "\u202eabc"), ("zero-width space", "a\u200bb"),
             ("BEL", "a\x07b"), ("ESC", "a\x1b[31mb"), ("newline", "a\nb"), ("BOM", "\ufeffab"),
             ("LTR isolate", "a\u2066b"), ("DEL", "a\x7fb"), ("C1 control", "a\x85b"), ("line separator", "a\u2028b")]
NUMBERS = [("10**30", str(10**30)), ("1.0", "1.0"), ("1e2", "1e2"), ("true", "true"), ("-0.0", "-0.0")]


def clock_untouched(world: Any) -> None:
    """The test clock was not set: the calendar's month is today's (Shanghai) month."""
    status, calendar = world.api.call("GET", "/v1/checkins", token=world.token)
    assert status == 200, calendar
    assert calendar["month"] == datetime.now(SHANGHAI).strftime("%Y-%m"), calendar


def named_attacks() -> list[Attack]:
    template = VALID[("POST", "/v1/admin/coupon-templates")]
    attacks = [
        Attack(f"order paid_at {when}", "POST", "/v1/admin/orders", dumps({**ORDER, "paid_at": when}), "admin",
               field="paid_at", unchanged=True)
        for when in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00", "0000-01-01T00:00:00+00:00",
                     "2026-13-01T00:00:00+08:00", "2026-01-01T00:00:00+99:00")
    ]
    attacks += [Attack(f"clock now {when}", "PUT", "/v1/admin/clock", dumps({"now": when}), "admin", field="now",
                       after=clock_untouched)
                for when in ("9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00",
                             "2026-01-01T00:00:00", SURROGATE)]
    # validity extremes: each on create; a date and an instant also on patch
    for index, (end, start) in enumerate([("9999-12-31", "2026-01-01"), ("2026-12-31", "0001-01-01"),
                                          ("9999-12-31T23:59:59-12:00", "2026-01-01"),
                                          ("2026-12-31", "0001-01-01T00:00:00+08:00")]):
        bad = "validity.end" if end.startswith("9999") else "validity.start"
        validity = {"type": "fixed", "start": start, "end": end}
        attacks.append(Attack(f"template validity {start}..{end}", "POST", "/v1/admin/coupon-templates",
                              dumps({**template, "validity": validity}), "admin", field=bad))
        if index in (0, 3):
            attacks.append(Attack(f"template patch validity {start}..{end}", "PATCH",
                                  "/v1/admin/coupon-templates/{template_id}", dumps({"validity": validity}), "admin",
                                  field=bad))
    attacks.append(Attack("template amount_off without amount_off_fen", "POST", "/v1/admin/coupon-templates",
                          dumps({**template, "amount_off_fen": None}), "admin", field="amount_off_fen"))
    attacks.append(Attack("template tier the program lacks", "POST", "/v1/admin/coupon-templates",
                          dumps({**template, "tiers": ["platinum"]}), "admin"))
    attacks.append(Attack("reward tier the program lacks", "POST", "/v1/admin/rewards",
                          dumps({**VALID[("POST", "/v1/admin/rewards")], "tiers": ["platinum"]}), "admin"))
    attacks.append(Attack("duplicate amount_fen -5 then 100", "POST", "/v1/admin/orders",
                          b'{"order_id": "atk-@UNIQ@", "member_id": "@MEMBER_ID@", "amount_fen": -5, "amount_fen": 100}',
                          "admin", field="amount_fen", unchanged=True))
    attacks.append(Attack("duplicate delta", "POST", "/v1/admin/members/{member_id}/points",
                          b'{"request_id": "atk-@UNIQ@", "delta": 5, "reason": "x", "delta": 5}', "admin",
                          field="delta", unchanged=True))
    # nicknames: the three issue 9 names on signup and patch, the others on one of them each
    for index, (name, nickname) in enumerate(NICKNAMES):
        if index < 3 or index % 2:
            attacks.append(Attack(f"signup nickname with {name}", "POST", "/v1/members",
                                  dumps({"nickname": nickname}), "visitor", field="nickname"))
        if index < 3 or not index % 2:
            attacks.append(Attack(f"patch nickname with {name}", "PATCH", "/v1/members/me",
                                  dumps({"nickname": nickname}), "member", field="nickname", unchanged=True))
    # money as floats, booleans and huge integers: 10**30 on both, the others on one of them each
    for index, (name, value) in enumerate(NUMBERS):
        if index == 0 or index % 2:
            attacks.append(Attack(f"points delta {name}", "POST", "/v1/admin/members/{member_id}/points",
                                  b'{"request_id": "atk-@UNIQ@", "reason": "x", "delta": ' + value.encode() + b"}",
                                  "admin", field="delta", unchanged=True))
        if index == 0 or not index % 2:
            attacks.append(Attack(f"order amount_fen {name}", "POST", "/v1/admin/orders",
                                  b'{"order_id": "atk-@UNIQ@", "member_id": "@MEMBER_ID@", "amount_fen": '
                                  + value.encode() + b"}", "admin", field="amount_fen", unchanged=True))
    attacks.append(Attack("ledger of a deleted member with cursor=1000", "GET", "/v1/points/ledger?cursor=1000",
                          None, "deleted", status=(400, 403), code=None))
    for path in ("/v1/admin/coupon-templates", "/v1/admin/rewards", "/v1/admin/fulfilments"):
        attacks.append(Attack(f"{path}?limit=0", "GET", f"{path}?limit=0", None, "admin", field="limit"))
    # targeted issue: exactly one of member_ids and segment, a segment of the contract's table
    issue = {"request_id": "atk-@UNIQ@", "template_id": "@TEMPLATE_ID@"}
    for name, extra, field in (("both member_ids and a segment", {"member_ids": ["@MEMBER_ID@"], "segment": "lost"},
                                "segment"), ("neither member_ids nor a segment", {}, "member_ids"),
                               ("segment in capitals", {"segment": "LOST"}, "segment"),
                               ("segment with a trailing space", {"segment": "lost "}, "segment")):
        attacks.append(Attack(f"issue with {name}", "POST", "/v1/admin/coupons/issue", dumps({**issue, **extra}),
                              "admin", field=field, unchanged=True))
    for name, query in (("cursor of another shard's page", "segment=lost&cursor=15eyJ4IjoxfQ"),
                        ("cursor shard 16", "segment=lost&cursor=16"), ("segment null", "segment=null")):
        attacks.append(Attack(f"rfm members {name}", "GET", f"/v1/admin/analytics/rfm/members?{query}", None, "admin",
                              field="segment" if "null" in name else "cursor"))
    return attacks + push_attacks()


# ---- pushes -------------------------------------------------------------------------------------

def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@functools.cache
def crypto() -> Any:
    from wechatpy.crypto import PrpCrypto

    return PrpCrypto(base64.b64decode(AES_KEY + "="))


def seal(message: bytes) -> str:
    return str(crypto().encrypt(message.decode("utf-8", "surrogatepass"), APPID).decode())


def signed_push(message: bytes | Callable[[Target], bytes], *, encrypted: bool = True, skew: int = 0,
                timestamp: str | None = None, nonce: str | None = None, signature: str | None = None,
                outer: bytes | None = None) -> Callable[[Target], tuple[str, bytes, str]]:
    """A push as WeChat sends it (JSON, signed now + `skew` seconds), with the parts an attack replaces."""
    def build(world: Target) -> tuple[str, bytes, str]:
        ts = timestamp if timestamp is not None else str(int(time.time()) + skew)
        once = nonce if nonce is not None else secrets.token_hex(6)
        content = message(world) if callable(message) else message
        query = {"timestamp": ts, "nonce": once, "signature": signature or sign(PUSH_TOKEN, ts, once)}
        if not encrypted:
            return urlencode(query), content, "application/json"
        encrypt = seal(content)
        query.update(encrypt_type="aes", msg_signature=signature or sign(PUSH_TOKEN, ts, once, encrypt))
        body = outer if outer is not None else json.dumps({"ToUserName": "gh_test", "Encrypt": encrypt}).encode()
        return urlencode(query), body, "application/json"
    return build


def event(openid: str | None = None, created: Any = None, items: list[dict[str, str]] | None = None,
          **extra: Any) -> Callable[[Target], bytes]:
    def build(world: Target) -> bytes:
        listed = items if items is not None else [{"TemplateId": "T-atk", "SubscribeStatusString": "accept"}]
        return dumps({"ToUserName": "gh_test", "FromUserName": openid if openid is not None else world.openid,
                      "CreateTime": created if created is not None else Raw(str(int(time.time()))),
                      "MsgType": "event", "Event": POPUP, "List": listed, **extra})
    return build


def push_attacks() -> list[Attack]:
    many = [{"TemplateId": f"T{i}", "SubscribeStatusString": "accept"} for i in range(150)]
    accepted = (200, 400)  # an authentic but unusable push: answered (WeChat stops retrying), never a 5xx
    cases = [
        ("150 templates in one popup event", signed_push(event(items=many)), accepted),
        ("2000-char TemplateId", signed_push(event(items=[{"TemplateId": "T" * 2000,
                                                           "SubscribeStatusString": "accept"}])), accepted),
        ("3000-char FromUserName", signed_push(event(openid="o" * 3000)), accepted),
        ("CreateTime of 5000 digits", signed_push(event(created=Raw("9" * 5000))), accepted),
        ("CreateTime ²", signed_push(event(created="²")), accepted),
        ("CreateTime a float", signed_push(event(created=Raw("1.5e9"))), accepted),
        ("lone surrogate in FromUserName", signed_push(event(openid=SURROGATE)), accepted),
        ("lone surrogate in TemplateId", signed_push(event(items=[{"TemplateId": SURROGATE,
                                                                   "SubscribeStatusString": "accept"}])), accepted),
        ("decrypted JSON nested 10,000 deep", signed_push(b"[" * DEEP + b"]" * DEEP), accepted),
        ("decrypted duplicate FromUserName", signed_push(
            lambda w: b'{"FromUserName": "o-other", "FromUserName": "' + w.openid.encode() + b'", "CreateTime": 1, '
                      b'"Event": "subscribe_msg_popup_event", "List": []}'), accepted),
        ("outer JSON nested 10,000 deep", signed_push(event(), outer=b'{"a":' * DEEP + b"1" + b"}" * DEEP),
         (400, 401)),
        ("bad signature", signed_push(event(), signature="0" * 40), 401),
        ("stale timestamp (1 hour ago)", signed_push(event(), skew=-3600), 401),
        ("timestamp 1 hour ahead", signed_push(event(), skew=3600), 401),
        ("timestamp ²", signed_push(event(), timestamp="²"), (400, 401)),
        ("timestamp of 5000 digits", signed_push(event(), timestamp="9" * 5000), (400, 401)),
        ("empty nonce", signed_push(event(), nonce=""), (400, 401)),
        ("plaintext while an EncodingAESKey is configured", signed_push(event(), encrypted=False), (400, 401)),
    ]
    return [Attack(f"push: {name}", "POST", PUSH_PATH, None, "none", status=status, code=None, push=build,
                   unchanged=True)
            for name, build, status in cases]
