"""An attacker's table over HTTP against a live server (issue 9): every route, member, admin, push and
public, with the patterns of the defects an attack once found. Each case must answer its 4xx (never a
5xx; a 503 only with `Retry-After`) with exactly the envelope, `field` (a string) on VALIDATION_ERROR
and nowhere else, and for a sample of state-changing cases nothing may change (the member's admin
view, its ledger and the program are compared before and after).

Most cases are generated: for every route of the app's OpenAPI document, auth, size, nesting, body
type, duplicate key and unknown field attacks; for every declared field of every JSON request body
(walked through `$ref`, `oneOf`, arrays and nested objects), over-length, lone-surrogate, wrong-type
and null values; for every integer and cursor query parameter, the malformed integers. A new route or
field is attacked as soon as it is declared.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from helpers import Api, LiveClient, new_user
from servers import ADMIN_KEY, TEST_ENV

SHANGHAI = timezone(timedelta(hours=8))
SURROGATE = "x\ud800y"  # json.dumps writes it as the raw escape "x\ud800y"
BIG_BODY = json.dumps({"x": "a" * (64 * 1024)}).encode()
DEEP = 10_000
PUBLIC_PATHS = {"/v1/health", "/v1/auth/login", "/v1/wechat/push", "/v1/openapi.json"}
OPTIONAL_TOKEN_PATHS = {"/v1/rewards", "/v1/coupon-center"}



class Raw:
    """A JSON token written as it is (`1.0`, `1e2`, a 31-digit integer), not re-serialised by json."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def dumps(value: Any) -> bytes:
    """JSON with Raw tokens spliced in and every non-ASCII character escaped (so a lone surrogate is
    sent as the 6-character escape, valid JSON syntax that is not valid text)."""
    raws: dict[str, str] = {}

    def swap(item: Any) -> Any:
        if isinstance(item, Raw):
            token = f"@@RAW{len(raws)}@@"
            raws[f'"{token}"'] = item.text
            return token
        if isinstance(item, dict):
            return {k: swap(v) for k, v in item.items()}
        if isinstance(item, list):
            return [swap(v) for v in item]
        return item

    text = json.dumps(swap(value))
    for token, raw in raws.items():
        text = text.replace(token, raw)
    return text.encode("ascii")


# ---- the document and the valid bodies the field attacks start from ----------------------------

def generated_document() -> dict[str, Any]:
    """The OpenAPI document of every route the app registers (the live server serves the same one:
    see test_fuzz.py)."""
    import app  # noqa: F401
    from chalicelib.api.openapi import document

    return document()


def default_program() -> dict[str, Any]:
    from chalicelib.domain.program_schema import DEFAULT_PROGRAM

    return copy.deepcopy(DEFAULT_PROGRAM)


ADDRESS = {"name": "张三", "phone": "13800000000", "region": "上海市 徐汇区", "detail": "漕溪北路 1 号"}
# A valid body per JSON route (placeholders @...@ are filled in at run time); a field attack changes
# one field of it, so the only thing wrong with the request is that field.
VALID: dict[tuple[str, str], Any] = {
    ("POST", "/v1/auth/login"): {"code": "atk.@UNIQ@"},
    ("POST", "/v1/members"): {"nickname": "攻击者", "avatar_url": "https://example.com/a.png", "gender": "male",
                              "birthday": "1990-01-01", "referral_code": None},
    ("PATCH", "/v1/members/me"): {"nickname": "不变", "gender": "female"},
    ("POST", "/v1/checkins"): {},
    ("POST", "/v1/coupon-center/{template_id}/claim"): {"request_id": "atk-@UNIQ@"},
    ("POST", "/v1/rewards/{reward_id}/redeem"): {"request_id": "atk-@UNIQ@", "address": ADDRESS},
    ("PUT", "/v1/admin/program"): default_program(),
    ("POST", "/v1/admin/members/{member_id}/points"): {"request_id": "atk-@UNIQ@", "delta": 5, "reason": "补偿"},
    ("POST", "/v1/admin/members/{member_id}/events"): {"request_id": "atk-@UNIQ@", "type": "review", "ref": "r1"},
    ("PUT", "/v1/admin/clock"): {"now": "2026-06-01T10:00:00+08:00"},
    ("POST", "/v1/admin/orders"): {"order_id": "atk-@UNIQ@", "member_id": "@MEMBER_ID@", "amount_fen": 100,
                                   "subtotal_fen": 100, "paid_at": None, "coupon_id": None, "store_id": "s1",
                                   "items": [{"sku": "sku1", "category": "衣服", "quantity": 1, "price_fen": 100}]},
    ("POST", "/v1/admin/orders/{order_id}/refunds"): {"refund_id": "atk-@UNIQ@", "amount_fen": 1},
    ("POST", "/v1/admin/jobs/{job}/run"): {"dry_run": True},
    ("POST", "/v1/admin/coupon-templates"): {
        "name": "攻击券", "kind": "amount_off", "amount_off_fen": 100, "percent_off_pct": None,
        "max_discount_fen": None, "min_spend_fen": 0,
        "validity": {"type": "fixed", "start": "2026-01-01", "end": "2026-12-31"},
        "total_stock": 10, "per_member_limit": 1, "claimable": False, "tiers": ["normal"], "active": False},
    ("PATCH", "/v1/admin/coupon-templates/{template_id}"): {"name": "模糊券"},
    ("POST", "/v1/admin/coupons/issue"): {"request_id": "atk-@UNIQ@", "template_id": "@TEMPLATE_ID@",
                                          "member_ids": ["@MEMBER_ID@"]},
    ("POST", "/v1/admin/rewards"): {"name": "攻击礼", "points_cost": 10, "kind": "gift", "coupon_template_id": None,
                                    "stock": 5, "per_member_limit": 1, "tiers": ["normal"], "active": False},
    ("PATCH", "/v1/admin/rewards/{reward_id}"): {"name": "模糊礼"},
    ("POST", "/v1/admin/fulfilments/{redemption_id}/ship"): {"note": "顺丰"},
}

VALID_QUERY: dict[tuple[str, str], str] = {("GET", "/v1/coupons/usable"): "?subtotal_fen=5000"}


@dataclass
class Attack:
    """One request and what it must answer."""

    name: str
    method: str
    path: str  # with {member_id}-style placeholders and any query
    body: bytes | None = None
    auth: str = "member"  # member | visitor | admin | none | deleted | headers only
    headers: dict[str, str | bytes] = field(default_factory=dict)
    status: int | tuple[int, ...] = 400
    code: str | None = "VALIDATION_ERROR"
    field: str | None = None  # the exact `field` of a VALIDATION_ERROR when known
    unchanged: bool = False  # compare the snapshot before and after
    push: Callable[[World], tuple[str, bytes, str]] | None = None  # (query, body, content type) signed at run time
    after: Callable[[World], None] | None = None  # a check once answered
    route: str = ""  # the declared path, when the attack changes a path id


def rotate(options: list[Any], seed: str, keep: int = 1) -> list[Any]:
    """`keep` of `options`, chosen by `seed` (a route or field), so the table stays small while every
    option is still sent to some route."""
    start = int(hashlib.sha1(seed.encode()).hexdigest(), 16) % len(options)
    return [options[(start + i) % len(options)] for i in range(min(keep, len(options)))]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def auth_of(method: str, path: str) -> str:
    if path.startswith("/v1/admin/"):
        return "admin"
    if path in PUBLIC_PATHS:
        return "none"
    return "member"


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def branches(document: dict[str, Any], schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """The schema that describes `value` (the matching oneOf/anyOf branch, `$ref`s followed)."""
    schema = resolve(document, schema)
    options = schema.get("oneOf") or schema.get("anyOf")
    if not options:
        return schema
    for option in (resolve(document, o) for o in options):
        if option.get("type") == "null":
            continue
        kind = option.get("properties", {}).get("type", {}).get("enum")
        if kind and isinstance(value, dict) and value.get("type") not in kind:
            continue
        return option
    return resolve(document, options[0])


def types_of(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return set(declared if isinstance(declared, list) else [declared])


def bad_values(schema: dict[str, Any], nullable: bool, seed: str) -> list[tuple[str, Any]]:
    """(label, value) of values this field must refuse: for a string its lone surrogate and one
    character too many, for every field one wrong type (chosen by `seed`), and null where not allowed."""
    kinds = types_of(schema) - {"null"}
    out: list[tuple[str, Any]] = []
    if "string" in kinds:
        out.append(("lone surrogate", SURROGATE))
        if "maxLength" in schema:
            out.append((f"over {schema['maxLength']} chars", "长" * (schema["maxLength"] + 1)))
        out += rotate([("a number", 123), ("an array", ["x"]), ("true", True)], seed)
    if "integer" in kinds:
        out += rotate([("1.0", Raw("1.0")), ("1e2", Raw("1e2")), ("true", True), ("10**30", Raw(str(10**30))),
                       ("a string", "5"), ("-1.5", Raw("-1.5"))], seed)
    if "boolean" in kinds:
        out += rotate([("a string", "true"), ("1", 1)], seed)
    if "array" in kinds:
        out.append(("an object", {}))
    if "object" in kinds:
        out.append(("an array", []))
    if not nullable and kinds and int(hashlib.sha1(seed.encode()).hexdigest(), 16) % 2:
        out.append(("null", None))
    return out


def field_attacks(document: dict[str, Any], schema: dict[str, Any], value: Any, path: str,
                  depth: int = 0, nullable: bool = False, max_depth: int = 3) -> Iterator[tuple[str, str, Any]]:
    """(field path, label, replacement) for every declared field reachable from `value`, declared
    fields missing from `value` included (at their top level)."""
    schema = branches(document, schema, value)
    if isinstance(value, dict) and "properties" in schema:
        for name, prop in schema["properties"].items():
            sub = f"{path}.{name}" if path else name
            prop_schema = resolve(document, prop)
            nullable = "null" in types_of(prop_schema) or any(
                resolve(document, o).get("type") == "null" for o in prop_schema.get("anyOf", []))
            if name in value and value[name] is not None and depth < max_depth:
                yield from field_attacks(document, prop_schema, value[name], sub, depth + 1, nullable, max_depth)
            else:
                for label, bad in bad_values(branches(document, prop_schema, None), nullable, sub):
                    yield sub, label, bad
        return
    if isinstance(value, list) and value and "items" in schema:
        yield path, "an object", {}
        yield from field_attacks(document, schema["items"], value[0], f"{path}[0]", depth + 1, False, max_depth)
        return
    yield from ((path, label, bad) for label, bad in bad_values(schema, nullable, path))


def replace_at(body: Any, path: str, new: Any) -> Any:
    """A copy of `body` with the value at `path` (`a.b[0].c`) replaced."""
    body = copy.deepcopy(body)
    parts: list[str | int] = []
    for piece in path.replace("]", "").split("."):
        name, *indexes = piece.split("[")
        parts.append(name)
        parts += [int(i) for i in indexes]
    target = body
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = new
    return body


def generated_attacks() -> list[Attack]:
    document = generated_document()
    attacks: list[Attack] = []
    for method, path, op in operations(document):
        auth = auth_of(method, path)
        label = f"{method} {path}"
        json_body = "application/json" in op.get("requestBody", {}).get("content", {}) and path != "/v1/wechat/push"
        valid_body = dumps(VALID.get((method, path), {})) if json_body else None
        valid_path = path + VALID_QUERY.get((method, path), "")
        # size: checked before anything else, on every route
        attacks.append(Attack(f"{label}: body over 64 KiB", method, path, BIG_BODY, auth, status=413,
                              code="PAYLOAD_TOO_LARGE"))
        # credentials
        if auth == "member" or path in OPTIONAL_TOKEN_PATHS:
            others = [("forged token", "Bearer eyJzdWIiOiJ4In0.forged"), ("non-ASCII payload", b"Bearer \xe9\xe9.abc"),
                      ("Basic scheme", "Basic YTpi"), ("5000-char token", "Bearer " + "a" * 2500 + "." + "b" * 2500),
                      ("empty bearer", "Bearer ")]
            for name, value in [("no token", None), ("non-ASCII byte in the token", b"Bearer abc.\xe9"),
                                *rotate(others, label)]:
                if value is None and path in OPTIONAL_TOKEN_PATHS:
                    continue
                attacks.append(Attack(f"{label}: {name}", method, valid_path, valid_body, "headers",
                                      headers={"Authorization": value} if value is not None else {},
                                      status=401, code="UNAUTHENTICATED"))
            if path not in OPTIONAL_TOKEN_PATHS and (method, path) != ("POST", "/v1/members"):
                attacks.append(Attack(f"{label}: visitor token", method, valid_path, valid_body, "visitor",
                                      status=403, code="NOT_A_MEMBER"))
                attacks.append(Attack(f"{label}: deleted member's token", method, valid_path, valid_body,
                                      "deleted", status=403, code="NOT_A_MEMBER"))
        if auth == "admin":
            others = [("wrong key", "wrong-key"), ("non-ASCII key", b"\xe9\xe9\xe9"), ("5000-char key", "k" * 5000)]
            for name, value in [("no key", None), ("non-ASCII byte in the key", ADMIN_KEY.encode() + b"\xe9"),
                                *rotate(others, label)]:
                attacks.append(Attack(f"{label}: {name}", method, valid_path, valid_body, "headers",
                                      headers={"X-Admin-Key": value} if value is not None else {},
                                      status=401, code="UNAUTHENTICATED"))
            if rotate([True, False], label)[0]:
                attacks.append(Attack(f"{label}: a member token instead of the key", method, valid_path, valid_body,
                                      "member", status=401, code="UNAUTHENTICATED"))
        # path ids that cannot be ours
        for param in [p for p in op.get("parameters", []) if p["in"] == "path" and "enum" not in p["schema"]]:
            for name, bad in [("65 chars", "i" * 65), *rotate([("lone surrogate (CESU bytes)", "%ED%A0%80"),
                                                                ("invalid UTF-8", "%FF%FE"), ("NUL", "a%00b")], label)]:
                attacks.append(Attack(f"{label}: {param['name']} {name}", method,
                                      valid_path.replace("{" + param["name"] + "}", bad), valid_body, auth,
                                      status=404, code="NOT_FOUND", route=path))
        # query parameters
        for param in [p for p in op.get("parameters", []) if p["in"] == "query"]:
            name, schema = param["name"], param["schema"]
            bad: list[tuple[str, str]] = []
            if schema.get("type") == "integer":
                bad += [("superscript two", "%C2%B2"), ("Arabic-Indic one", "%D9%A1"), ("5000 nines", "9" * 5000),
                        *rotate([("-1", "-1"), ("1.0", "1.0"), ("1e2", "1e2"), ("+1", "%2B1"), ("space", "%201"),
                                 ("0x10", "0x10"), ("full-width one", "%EF%BC%91")], label + name)]
                if schema.get("minimum") == 1:
                    bad.append(("0", "0"))
                if schema.get("maximum") == 100:
                    bad.append(("101", "101"))
            else:
                bad += [("lone surrogate (CESU bytes)", "%ED%A0%80"), ("5000 nines", "9" * 5000),
                        *rotate([("invalid UTF-8", "%FF"), ("NUL", "a%00b")], label + name)]
                if "enum" in schema:
                    bad.append(("unknown value", "lost"))
                if name == "cursor":
                    bad.append(("forged", "abc"))
            for what, value in bad:
                query = VALID_QUERY.get((method, path), "?").replace(f"{name}=", "x=")
                attacks.append(Attack(f"{label}: ?{name}={what}", method, f"{path}{query}&{name}={value}", None, auth,
                                      status=(400, 401) if path == "/v1/wechat/push" else 400,
                                      field=name if path != "/v1/wechat/push" else None,
                                      code=None if path == "/v1/wechat/push" else "VALIDATION_ERROR"))
        if not json_body:
            continue
        # the body as a whole
        valid = VALID.get((method, path), {})
        unchanged = method != "GET"
        whole = [("nested 10,000 deep", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
                 ("array nested 10,000 deep", b"[" * DEEP + b"]" * DEEP),
                 ("an array", b"[]"), ("a number", b"1"), ("null", b"null"), ("a string", b'"x"'), ("true", b"true"),
                 ("malformed", b'{"a":'), ("invalid UTF-8", b'{"a": "\xff\xfe"}'), ("NaN", b'{"a": NaN}'),
                 ("Infinity", b'{"a": -Infinity}'), ("a BOM", b"\xef\xbb\xbf{}"), ("trailing garbage", b"{} x")]
        for name, raw in whole[:1] + rotate(whole[1:], label, 3):
            attacks.append(Attack(f"{label}: body {name}", method, path, raw, auth, field="",
                                  unchanged=unchanged and name.startswith("nested")))
        attacks.append(Attack(f"{label}: unknown field", method, path, dumps({**valid, "zz_unknown": 1}), auth,
                              field="zz_unknown"))
        attacks.append(Attack(f"{label}: text/plain", method, path, dumps(valid), auth,
                              headers={"Content-Type": "text/plain"}, status=415, code="UNSUPPORTED_MEDIA_TYPE"))
        if valid:
            first = next(iter(valid))
            rest = dumps(valid)[1:]
            attacks.append(Attack(f"{label}: duplicate key {first}", method, path,
                                  b'{"' + first.encode() + b'": -5, ' + rest, auth, field=first))
        # every declared field
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        seen: set[tuple[str, str]] = set()
        depth = 0 if path == "/v1/admin/program" else 3
        for index, (where, what, bad) in enumerate(field_attacks(document, schema, valid, "", max_depth=depth)):
            if (where, what) in seen:
                continue
            seen.add((where, what))
            expected_field = where
            attacks.append(Attack(f"{label}: {where} {what}", method, path, dumps(replace_at(valid, where, bad)),
                                  auth, field=expected_field, unchanged=unchanged and index % 15 == 0))
    return attacks


# ---- the attacks issue 9 names, one by one ------------------------------------------------------

def clock_untouched(world: World) -> None:
    """The test clock was not set: the calendar's month is today's (Shanghai) month."""
    status, calendar = world.api.call("GET", "/v1/checkins", token=world.token)
    assert status == 200, calendar
    assert calendar["month"] == datetime.now(SHANGHAI).strftime("%Y-%m"), calendar


def named_attacks() -> list[Attack]:
    order = {"order_id": "atk-@UNIQ@", "member_id": "@MEMBER_ID@", "amount_fen": 100}
    template = VALID[("POST", "/v1/admin/coupon-templates")]
    attacks = [
        Attack(f"order paid_at {when}", "POST", "/v1/admin/orders", dumps({**order, "paid_at": when}), "admin",
               field="paid_at", unchanged=True)
        for when in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00", "0000-01-01T00:00:00+00:00",
                     "2026-13-01T00:00:00+08:00", "2026-01-01T00:00:00+99:00")
    ]
    attacks += [Attack(f"clock now {when}", "PUT", "/v1/admin/clock", dumps({"now": when}), "admin", field="now",
                       after=clock_untouched)
                for when in ("9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00",
                             "2026-01-01T00:00:00", SURROGATE)]
    for end, start in [("9999-12-31", "2026-01-01"), ("2026-12-31", "0001-01-01"),
                       ("9999-12-31T23:59:59-12:00", "2026-01-01"), ("2026-12-31", "0001-01-01T00:00:00+08:00")]:
        bad = "validity.end" if end.startswith("9999") else "validity.start"
        body = {**template, "validity": {"type": "fixed", "start": start, "end": end}}
        attacks.append(Attack(f"template validity {start}..{end}", "POST", "/v1/admin/coupon-templates", dumps(body),
                              "admin", field=bad))
        attacks.append(Attack(f"template patch validity {start}..{end}", "PATCH",
                              "/v1/admin/coupon-templates/{template_id}",
                              dumps({"validity": {"type": "fixed", "start": start, "end": end}}), "admin", field=bad))
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
    for name, nickname in [("NUL", "a\x00b"), ("BEL", "a\x07b"), ("ESC", "a\x1b[31mb"), ("newline", "a\nb"),
                           ("RTL override", "\u202eabc"), ("zero-width space", "a\u200bb"), ("BOM", "\ufeffab"),
                           ("LTR isolate", "a\u2066b"), ("DEL", "a\x7fb"), ("C1 control", "a\x85b"),
                           ("line separator", "a\u2028b")]:
        attacks.append(Attack(f"signup nickname with {name}", "POST", "/v1/members", dumps({"nickname": nickname}),
                              "visitor", field="nickname"))
        attacks.append(Attack(f"patch nickname with {name}", "PATCH", "/v1/members/me", dumps({"nickname": nickname}),
                              "member", field="nickname", unchanged=True))
    for name, value in [("1.0", "1.0"), ("1e2", "1e2"), ("true", "true"), ("10**30", str(10**30)), ("-0.0", "-0.0")]:
        attacks.append(Attack(f"points delta {name}", "POST", "/v1/admin/members/{member_id}/points",
                              b'{"request_id": "atk-@UNIQ@", "reason": "x", "delta": ' + value.encode() + b"}",
                              "admin", field="delta", unchanged=True))
        attacks.append(Attack(f"order amount_fen {name}", "POST", "/v1/admin/orders",
                              b'{"order_id": "atk-@UNIQ@", "member_id": "@MEMBER_ID@", "amount_fen": ' + value.encode()
                              + b"}", "admin", field="amount_fen", unchanged=True))
    attacks.append(Attack("ledger of a deleted member with cursor=1000", "GET", "/v1/points/ledger?cursor=1000",
                          None, "deleted", status=(400, 403), code=None))
    for path in ("/v1/admin/coupon-templates", "/v1/admin/rewards", "/v1/admin/fulfilments"):
        attacks.append(Attack(f"{path}?limit=0", "GET", f"{path}?limit=0", None, "admin", field="limit"))
    attacks += push_attacks()
    return attacks


# ---- pushes -------------------------------------------------------------------------------------

PUSH_TOKEN = TEST_ENV["WECHAT_TOKEN"]
AES_KEY = TEST_ENV["WECHAT_ENCODING_AES_KEY"]
APPID = TEST_ENV["WECHAT_APPID"]
POPUP = "subscribe_msg_popup_event"


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def seal(message: bytes) -> str:
    from wechatpy.crypto import PrpCrypto

    crypto = PrpCrypto(base64.b64decode(AES_KEY + "="))
    return str(crypto.encrypt(message.decode("utf-8", "surrogatepass"), APPID).decode())


def signed_push(message: bytes | Callable[[World], bytes], *, encrypted: bool = True, skew: int = 0,
                timestamp: str | None = None, nonce: str | None = None, signature: str | None = None,
                outer: bytes | None = None) -> Callable[[World], tuple[str, bytes, str]]:
    """A push as WeChat sends it (JSON, signed now + `skew` seconds), with the parts an attack replaces."""
    def build(world: World) -> tuple[str, bytes, str]:
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
          **extra: Any) -> Callable[[World], bytes]:
    def build(world: World) -> bytes:
        listed = items if items is not None else [{"TemplateId": "T-atk", "SubscribeStatusString": "accept"}]
        return dumps({"ToUserName": "gh_test", "FromUserName": openid if openid is not None else world.openid,
                      "CreateTime": created if created is not None else Raw(str(int(time.time()))),
                      "MsgType": "event", "Event": POPUP, "List": listed, **extra})
    return build


def push_attacks() -> list[Attack]:
    path = "/v1/wechat/push"
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
    return [Attack(f"push: {name}", "POST", path, None, "none", status=status, code=None, push=build,
                   unchanged=True)
            for name, build, status in cases]


ATTACKS = generated_attacks() + named_attacks()


# ---- the world the attacks run against ----------------------------------------------------------

class World:
    """A member with points, an order, a template, a reward and a coupon; a visitor; a deleted member."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.live = LiveClient(base_url)
        self.api = Api(self.live)
        self.token, member = self.api.new_member(nickname="不变", birthday="1990-01-01")
        self.member_id = member["member_id"]
        self.visitor = self.api.login(new_user())["token"]
        self.deleted, _ = self.api.new_member()
        assert self.api.call("DELETE", "/v1/members/me", token=self.deleted)[0] == 204
        self.order_id = "atk-" + new_user()
        self.ok("POST", "/v1/admin/orders", {"order_id": self.order_id, "member_id": self.member_id,
                                             "amount_fen": 10_000}, 201)
        self.template_id = self.ok("POST", "/v1/admin/coupon-templates", {
            "name": "攻击目标券", "kind": "amount_off", "amount_off_fen": 500, "min_spend_fen": 1000,
            "validity": {"type": "relative", "days": 30}, "claimable": True}, 201)["template_id"]
        self.reward_id = self.ok("POST", "/v1/admin/rewards", {"name": "攻击目标礼", "points_cost": 10_000_000,
                                                               "kind": "gift", "stock": 5}, 201)["reward_id"]
        self.coupon_id = self.ok("POST", f"/v1/coupon-center/{self.template_id}/claim", {"request_id": "atk-claim"},
                                 201, token=self.token)["coupon_id"]
        self.openid = self.ok("GET", f"/v1/admin/members/{self.member_id}", None, 200)["openid"]
        self.program = self.ok("GET", "/v1/admin/program", None, 200)

    def ok(self, method: str, path: str, body: Any, expected: int, *, token: str | None = None) -> Any:
        status, answer = self.api.call(method, path, body, token=token, admin=token is None)
        assert status == expected, (method, path, status, answer)
        return answer

    def fill(self, text: str) -> str:
        ids = {"member_id": self.member_id, "order_id": self.order_id, "template_id": self.template_id,
               "reward_id": self.reward_id, "coupon_id": self.coupon_id, "redemption_id": "rd-nope",
               "job": "coupon-expiry"}
        for name, value in ids.items():
            text = text.replace("{" + name + "}", value)
        return (text.replace("@MEMBER_ID@", self.member_id).replace("@TEMPLATE_ID@", self.template_id)
                .replace("@UNIQ@", uuid.uuid4().hex[:16]))

    def snapshot(self, program: bool = False) -> Any:
        """The member as the merchant sees it (grants included), its ledger and, if asked, the program."""
        member = self.api.call("GET", f"/v1/admin/members/{self.member_id}", admin=True)
        return (member, self.api.ledger(self.token),
                self.api.call("GET", "/v1/admin/program", admin=True) if program else None)


@pytest.fixture(scope="module")
def world(attack_server: str) -> Iterator[World]:
    world = World(attack_server)
    yield world
    world.api.call("DELETE", "/v1/admin/clock", admin=True)
    world.api.call("PUT", "/v1/admin/program", world.program, admin=True)


def send(world: World, attack: Attack) -> requests.Response:
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    if attack.auth == "member":
        headers["Authorization"] = f"Bearer {world.token}"
    elif attack.auth == "visitor":
        headers["Authorization"] = f"Bearer {world.visitor}"
    elif attack.auth == "deleted":
        headers["Authorization"] = f"Bearer {world.deleted}"
    elif attack.auth == "admin":
        headers["X-Admin-Key"] = ADMIN_KEY
    headers.update(attack.headers)
    path, body = world.fill(attack.path), attack.body
    if attack.push is not None:
        query, body, headers["Content-Type"] = attack.push(world)
        path = f"{path}?{query}"
    elif body is not None:
        body = world.fill(body.decode("latin-1")).encode("latin-1")
    return world.live.session.request(attack.method, world.base_url + path, headers=headers, data=body, timeout=60)


def assert_envelope(attack: Attack, response: requests.Response) -> None:
    assert response.status_code < 500 or (response.status_code == 503 and response.headers.get("Retry-After")), \
        (response.status_code, response.text[:500])
    expected = attack.status if isinstance(attack.status, tuple) else (attack.status,)
    assert response.status_code in expected, (response.status_code, response.text[:500])
    if response.status_code == 200 and attack.push is not None:
        assert response.text == "success"
        return
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and list(body) == ["error"], body
    error = body["error"]
    assert isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"].strip(), body
    assert "Traceback" not in error["message"], body
    if error["code"] == "VALIDATION_ERROR":
        assert set(error) == {"code", "message", "field"} and isinstance(error["field"], str), body
    else:
        assert set(error) == {"code", "message"}, body
    if attack.code is not None:
        assert error["code"] == attack.code, body
    if attack.field is not None and error["code"] == "VALIDATION_ERROR":
        assert error["field"] == attack.field, body


def test_the_table_covers_every_route_with_enough_cases() -> None:
    document = generated_document()
    attacked = {(a.method, a.path.split("?")[0]) for a in ATTACKS}
    for method, path, _ in operations(document):
        assert (method, path) in attacked, f"{method} {path} is not attacked"
    assert len(ATTACKS) >= 300
    assert len({a.name for a in ATTACKS}) == len(ATTACKS), "case names are unique"


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_a_4xx_envelope_and_changes_nothing(world: World, attack: Attack) -> None:
    program = attack.path == "/v1/admin/program"
    before = world.snapshot(program) if attack.unchanged else None
    response = send(world, attack)
    if attack.path == "/v1/admin/clock" and response.status_code < 300:
        world.api.call("DELETE", "/v1/admin/clock", admin=True)
    if attack.path == "/v1/admin/program" and response.status_code < 300:
        world.api.call("PUT", "/v1/admin/program", world.program, admin=True)
    assert_envelope(attack, response)
    if attack.after is not None:
        attack.after(world)
    if before is not None:
        assert world.snapshot(program) == before


def test_admin_lists_honour_limit(world: World) -> None:
    for path in ("/v1/admin/coupon-templates", "/v1/admin/rewards"):
        assert world.api.call("POST", path, VALID[("POST", path)], admin=True)[0] == 201
        status, page = world.api.call("GET", f"{path}?limit=1", admin=True)
        assert status == 200, page
        assert len(page["items"]) == 1 and page["next_cursor"], page
        status, rest = world.api.call("GET", f"{path}?limit=1&cursor={page['next_cursor']}", admin=True)
        assert status == 200 and rest["items"] and rest["items"] != page["items"], rest


def test_a_replayed_push_timestamp_and_nonce_is_refused(world: World) -> None:
    """One signed URL accepts one body only (issue 9, defect 8)."""
    ts, nonce = str(int(time.time())), "replay" + secrets.token_hex(4)
    first = signed_push(event(items=[{"TemplateId": "T-replay1", "SubscribeStatusString": "accept"}]),
                        timestamp=ts, nonce=nonce)
    second = signed_push(event(items=[{"TemplateId": "T-replay2", "SubscribeStatusString": "accept"}]),
                         timestamp=ts, nonce=nonce)
    accepted = send(world, Attack("first", "POST", "/v1/wechat/push", push=first, status=200))
    assert (accepted.status_code, accepted.text) == (200, "success")
    grants = world.snapshot()[0]
    replay = send(world, Attack("replay", "POST", "/v1/wechat/push", push=second, status=401))
    assert 400 <= replay.status_code < 500, replay.text
    assert world.snapshot()[0] == grants
