"""The generated half of the attacker's table (issue 9, run by test_attacks.py): for every route of the
app's OpenAPI document, size, credential, path id, query, body-as-a-whole, unknown field and duplicate
key attacks; for every declared field of every JSON request body (walked through `$ref`, `oneOf`,
arrays and nested objects), bad values. A new route or field is attacked as soon as it is declared.

To keep the table small without losing a pattern, a field or route gets one value of each pattern
family, and the values of a family are dealt round-robin (`Rotation`) across the routes and fields in
document order: every value is still sent, to some route, on every run, and the same case every run.
"""
from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from servers import ADMIN_KEY

SURROGATE = "x\ud800y"  # json.dumps writes it as the raw escape "x\ud800y"
BIG_BODY = json.dumps({"x": "a" * (64 * 1024)}).encode()
DEEP = 10_000
PUBLIC_PATHS = {"/v1/health", "/v1/auth/login", "/v1/wechat/push", "/v1/openapi.json"}
OPTIONAL_TOKEN_PATHS = {"/v1/rewards", "/v1/coupon-center"}
PUSH_PATH = "/v1/wechat/push"


class Target(Protocol):
    """What a case's run-time callables see of the world they attack (test_attacks.World)."""

    openid: str
    token: str


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
    unchanged: bool = False  # compare the member, its ledger head (and the program) before and after
    push: Callable[[Any], tuple[str, bytes, str]] | None = None  # (query, body, content type) signed at run time
    after: Callable[[Any], None] | None = None  # a check once answered
    route: str = ""  # the declared path, when the attack changes a path id


class Rotation:
    """Deals the values of each pattern family round-robin: `take(family, options)` answers the next
    `keep` of `options` for that family, so across the table every option is sent, once per cycle."""

    def __init__(self) -> None:
        self.turns: dict[str, int] = {}

    def take(self, family: str, options: list[Any], keep: int = 1) -> list[Any]:
        turn = self.turns.get(family, 0)
        self.turns[family] = turn + keep
        return [options[(turn + i) % len(options)] for i in range(min(keep, len(options)))]


# ---- the document and the valid bodies the field attacks start from ----------------------------

@functools.cache
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
    ("POST", "/v1/admin/checkouts"): {"checkout_id": "atk-@UNIQ@", "member_id": "@MEMBER_ID@", "subtotal_fen": 100,
                                      "coupon_id": None, "points_to_use": 0, "expires_in_s": 900},
    ("POST", "/v1/admin/checkouts/{checkout_id}/confirm"): {
        "order_id": "atk-@UNIQ@", "amount_fen": 100, "paid_at": None, "store_id": "s1",
        "items": [{"sku": "sku1", "category": "衣服", "quantity": 1, "price_fen": 100}]},
    ("POST", "/v1/admin/checkouts/{checkout_id}/cancel"): {},
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

VALID_QUERY: dict[tuple[str, str], str] = {("GET", "/v1/coupons/usable"): "?subtotal_fen=5000",
                                           ("GET", "/v1/admin/analytics/rfm/members"): "?segment=lost"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def auth_of(path: str) -> str:
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


def bad_values(schema: dict[str, Any], nullable: bool, deal: Rotation) -> list[tuple[str, Any]]:
    """(label, value) of what this field must refuse, one per pattern family: for a string its text
    (a lone surrogate or one character too many); for a number or flag one malformed value; then a
    wrong type or, where not allowed, null, for every other field."""
    kinds = types_of(schema) - {"null"}
    out: list[tuple[str, Any]] = []
    if "string" in kinds:
        text: list[tuple[str, Any]] = [("lone surrogate", SURROGATE)]
        if "maxLength" in schema:
            text.append((f"over {schema['maxLength']} chars", "长" * (schema["maxLength"] + 1)))
        out += deal.take(f"text{len(text)}", text)
        wrong = [("a number", 123), ("an array", ["x"]), ("true", True)]
    elif "integer" in kinds:
        out += deal.take("integer", [("1.0", Raw("1.0")), ("1e2", Raw("1e2")), ("true", True),
                                     ("10**30", Raw(str(10**30))), ("a string", "5"), ("-1.5", Raw("-1.5"))])
        wrong = []
    elif "boolean" in kinds:
        out += deal.take("boolean", [("a string", "true"), ("1", 1)])
        wrong = []
    elif "array" in kinds:
        wrong = [("an object", {})]
    elif "object" in kinds:
        wrong = [("an array", [])]
    else:
        wrong = []
    if not nullable and kinds:
        wrong.append(("null", None))
    if wrong and (not out or deal.take("second", [True, False])[0]):
        out += deal.take(f"wrong{len(wrong)}", wrong)
    return out


def field_attacks(document: dict[str, Any], schema: dict[str, Any], value: Any, path: str, deal: Rotation,
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
                yield from field_attacks(document, prop_schema, value[name], sub, deal, depth + 1, nullable,
                                         max_depth)
            else:
                for label, bad in bad_values(branches(document, prop_schema, None), nullable, deal):
                    yield sub, label, bad
        return
    if isinstance(value, list) and value and "items" in schema:
        yield path, "an object", {}
        yield from field_attacks(document, schema["items"], value[0], f"{path}[0]", deal, depth + 1, False,
                                 max_depth)
        return
    yield from ((path, label, bad) for label, bad in bad_values(schema, nullable, deal))


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


MEMBER_AUTH = [("non-ASCII byte in the token", b"Bearer abc.\xe9"), ("forged token", "Bearer eyJzdWIiOiJ4In0.forged"),
               ("non-ASCII payload", b"Bearer \xe9\xe9.abc"), ("Basic scheme", "Basic YTpi"),
               ("5000-char token", "Bearer " + "a" * 2500 + "." + "b" * 2500), ("empty bearer", "Bearer ")]
ADMIN_AUTH = [("non-ASCII byte in the key", ADMIN_KEY.encode() + b"\xe9"), ("wrong key", "wrong-key"),
              ("non-ASCII key", b"\xe9\xe9\xe9"), ("5000-char key", "k" * 5000), ("member token", None)]
PATH_IDS = [("65 chars", "i" * 65), ("lone surrogate (CESU bytes)", "%ED%A0%80"), ("invalid UTF-8", "%FF%FE"),
            ("NUL", "a%00b")]
QUERY_INT_ISSUE = [("superscript two", "%C2%B2"), ("Arabic-Indic one", "%D9%A1"), ("5000 nines", "9" * 5000)]
QUERY_INT_OTHER = [("-1", "-1"), ("1.0", "1.0"), ("1e2", "1e2"), ("+1", "%2B1"), ("space", "%201"), ("0x10", "0x10"),
                   ("full-width one", "%EF%BC%91")]
QUERY_TEXT = [("lone surrogate (CESU bytes)", "%ED%A0%80"), ("5000 nines", "9" * 5000), ("invalid UTF-8", "%FF"),
              ("NUL", "a%00b")]
WHOLE_BODY = [("array nested 10,000 deep", b"[" * DEEP + b"]" * DEEP), ("an array", b"[]"), ("a number", b"1"),
              ("null", b"null"), ("a string", b'"x"'), ("true", b"true"), ("malformed", b'{"a":'),
              ("invalid UTF-8", b'{"a": "\xff\xfe"}'), ("NaN", b'{"a": NaN}'), ("Infinity", b'{"a": -Infinity}'),
              ("a BOM", b"\xef\xbb\xbf{}"), ("trailing garbage", b"{} x"), ("text/plain", None)]


def route_attacks(method: str, path: str, op: dict[str, Any], deal: Rotation) -> list[Attack]:
    """Size, credentials, path ids and query parameters of one route."""
    auth, label = auth_of(path), f"{method} {path}"
    json_body = "application/json" in op.get("requestBody", {}).get("content", {}) and path != PUSH_PATH
    valid_body = dumps(VALID.get((method, path), {})) if json_body else None
    valid_path = path + VALID_QUERY.get((method, path), "")
    attacks: list[Attack] = []
    # size: checked before anything else; on every route that takes a body or has no credential to
    # attack, on a third of the others (and on any route that no other attack reaches)
    big = Attack(f"{label}: body over 64 KiB", method, path, BIG_BODY, auth, status=413, code="PAYLOAD_TOO_LARGE")
    if method in ("POST", "PUT", "PATCH") or auth == "none" or deal.take("big body", [True, False, False])[0]:
        attacks.append(big)
    # credentials: none at all on every guarded route, then one bad one each
    if auth == "member" or path in OPTIONAL_TOKEN_PATHS:
        tried = deal.take("member auth", MEMBER_AUTH)
        if path not in OPTIONAL_TOKEN_PATHS:
            tried.insert(0, ("no token", None))
        for name, value in tried:
            attacks.append(Attack(f"{label}: {name}", method, valid_path, valid_body, "headers",
                                  headers={"Authorization": value} if value is not None else {},
                                  status=401, code="UNAUTHENTICATED"))
        if path not in OPTIONAL_TOKEN_PATHS and (method, path) != ("POST", "/v1/members"):
            attacks.append(Attack(f"{label}: deleted member's token", method, valid_path, valid_body,
                                  "deleted", status=403, code="NOT_A_MEMBER"))
            if deal.take("visitor", [True, False])[0]:
                attacks.append(Attack(f"{label}: visitor token", method, valid_path, valid_body, "visitor",
                                      status=403, code="NOT_A_MEMBER"))
    if auth == "admin":
        for name, value in [("no key", None), *deal.take("admin auth", ADMIN_AUTH)]:
            if name == "member token":
                attacks.append(Attack(f"{label}: a member token instead of the key", method, valid_path,
                                      valid_body, "member", status=401, code="UNAUTHENTICATED"))
                continue
            attacks.append(Attack(f"{label}: {name}", method, valid_path, valid_body, "headers",
                                  headers={"X-Admin-Key": value} if value is not None else {},
                                  status=401, code="UNAUTHENTICATED"))
    # path ids that cannot be ours
    for param in [p for p in op.get("parameters", []) if p["in"] == "path" and "enum" not in p["schema"]]:
        for name, bad in deal.take("path id", PATH_IDS):
            attacks.append(Attack(f"{label}: {param['name']} {name}", method,
                                  valid_path.replace("{" + param["name"] + "}", bad), valid_body, auth,
                                  status=404, code="NOT_FOUND", route=path))
    # query parameters
    for param in [p for p in op.get("parameters", []) if p["in"] == "query"]:
        name, schema = param["name"], param["schema"]
        if schema.get("type") == "integer":
            other = QUERY_INT_OTHER + [("0", "0")] * (schema.get("minimum") == 1) + \
                [("101", "101")] * (schema.get("maximum") == 100)
            bad = deal.take("query int issue", QUERY_INT_ISSUE) + deal.take(f"query int {len(other)}", other)
        else:
            bad = deal.take("query text", QUERY_TEXT)
            if "enum" in schema:
                bad.append(("unknown value", next(v for v in ("lost", "vip") if v not in schema["enum"])))
            if name == "cursor":
                bad.append(("forged", "abc"))
        for what, value in bad:
            query = VALID_QUERY.get((method, path), "?").replace(f"{name}=", "x=")
            push = path == PUSH_PATH
            attacks.append(Attack(f"{label}: ?{name}={what}", method, f"{path}{query}&{name}={value}", None, auth,
                                  status=(400, 401) if push else 400, field=None if push else name,
                                  code=None if push else "VALIDATION_ERROR"))
    return attacks or [big]


def body_attacks(document: dict[str, Any], method: str, path: str, op: dict[str, Any],
                 deal: Rotation) -> list[Attack]:
    """The JSON body of one route: as a whole, then every declared field."""
    auth, label = auth_of(path), f"{method} {path}"
    valid = VALID.get((method, path), {})
    changes = method != "GET"
    attacks = []
    for name, raw in [("nested 10,000 deep", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
                      *deal.take("whole body", WHOLE_BODY)]:
        if raw is None:
            attacks.append(Attack(f"{label}: text/plain", method, path, dumps(valid), auth,
                                  headers={"Content-Type": "text/plain"}, status=415, code="UNSUPPORTED_MEDIA_TYPE"))
            continue
        attacks.append(Attack(f"{label}: body {name}", method, path, raw, auth, field="",
                              unchanged=changes and name.startswith("nested")))
    attacks.append(Attack(f"{label}: unknown field", method, path, dumps({**valid, "zz_unknown": 1}), auth,
                          field="zz_unknown"))
    if valid:
        first = next(iter(valid))
        attacks.append(Attack(f"{label}: duplicate key {first}", method, path,
                              b'{"' + first.encode() + b'": -5, ' + dumps(valid)[1:], auth, field=first))
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    depth = 0 if path == "/v1/admin/program" else 3
    seen: set[tuple[str, str]] = set()
    for where, what, bad in field_attacks(document, schema, valid, "", deal, max_depth=depth):
        if (where, what) in seen:
            continue
        seen.add((where, what))
        attacks.append(Attack(f"{label}: {where} {what}", method, path, dumps(replace_at(valid, where, bad)),
                              auth, field=where, unchanged=changes and len(seen) % 8 == 1))
    return attacks


def generated_attacks() -> list[Attack]:
    document = generated_document()
    deal = Rotation()
    attacks: list[Attack] = []
    for method, path, op in operations(document):
        attacks += route_attacks(method, path, op, deal)
        if "application/json" in op.get("requestBody", {}).get("content", {}) and path != PUSH_PATH:
            attacks += body_attacks(document, method, path, op, deal)
    return attacks
