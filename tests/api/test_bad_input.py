"""Bad input to every route: a 4xx in the contract's envelope, and nothing changes."""
from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import Api, assert_error_body, new_user

LONG = "x" * 65
BIG = json.dumps({"code": "a" * (64 * 1024)})


@pytest.fixture(scope="module")
def world(request) -> dict[str, Any]:
    """A member, a visitor and their tokens, shared by all cases (nothing may change them)."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        api = Api(client)
        token, member = api.new_member(nickname="不变", birthday="1990-01-01")
        visitor = api.login(new_user())["token"]
        order_id = "bad-" + new_user()
        assert api.call("POST", "/v1/admin/orders", {"order_id": order_id, "member_id": member["member_id"],
                                                     "amount_fen": 10_000}, admin=True)[0] == 201
    return {"token": token, "member_id": member["member_id"], "visitor": visitor, "order_id": order_id}


# (name, method, path template, body (dict) or raw (str), auth: member|visitor|admin|none|forged)
CASES: list[tuple[str, str, str, Any, str, int]] = [
    ("login without code", "POST", "/v1/auth/login", {}, "none", 400),
    ("login code not a string", "POST", "/v1/auth/login", {"code": 123}, "none", 400),
    ("login code empty", "POST", "/v1/auth/login", {"code": ""}, "none", 400),
    ("login unknown field", "POST", "/v1/auth/login", {"code": "a.1", "x": 1}, "none", 400),
    ("login malformed json", "POST", "/v1/auth/login", "{\"code\":", "none", 400),
    ("login array body", "POST", "/v1/auth/login", "[1]", "none", 400),
    ("login NaN", "POST", "/v1/auth/login", "{\"code\": NaN}", "none", 400),
    ("login body over 64 KiB", "POST", "/v1/auth/login", BIG, "none", 413),
    ("signup without token", "POST", "/v1/members", {}, "none", 401),
    ("signup forged token", "POST", "/v1/members", {}, "forged", 401),
    ("signup nickname too long", "POST", "/v1/members", {"nickname": LONG}, "visitor", 400),
    ("signup unknown gender", "POST", "/v1/members", {"gender": "other"}, "visitor", 400),
    ("signup impossible birthday", "POST", "/v1/members", {"birthday": "1990-02-30"}, "visitor", 400),
    ("signup future birthday", "POST", "/v1/members", {"birthday": "2999-01-01"}, "visitor", 400),
    ("signup birthday as number", "POST", "/v1/members", {"birthday": 19900101}, "visitor", 400),
    ("signup avatar not a url", "POST", "/v1/members", {"avatar_url": "javascript:x"}, "visitor", 400),
    ("signup avatar too long", "POST", "/v1/members", {"avatar_url": "https://" + "a" * 1020}, "visitor", 400),
    ("signup referral not a string", "POST", "/v1/members", {"referral_code": 7}, "visitor", 400),
    ("signup unknown referral", "POST", "/v1/members", {"referral_code": "ZZZZ9999"}, "visitor", 400),
    ("signup unknown field", "POST", "/v1/members", {"points": 1000}, "visitor", 400),
    ("signup already member", "POST", "/v1/members", {}, "member", 409),
    ("me without token", "GET", "/v1/members/me", None, "none", 401),
    ("me forged token", "GET", "/v1/members/me", None, "forged", 401),
    ("me as visitor", "GET", "/v1/members/me", None, "visitor", 403),
    ("patch float preference", "PATCH", "/v1/members/me", {"preferences": {"w": 1.5}}, "member", 400),
    ("patch nested preference", "PATCH", "/v1/members/me", {"preferences": {"w": {"a": 1}}}, "member", 400),
    ("patch preferences not object", "PATCH", "/v1/members/me", {"preferences": [1]}, "member", 400),
    ("patch gender null", "PATCH", "/v1/members/me", {"gender": None}, "member", 400),
    ("patch birthday change", "PATCH", "/v1/members/me", {"birthday": "1991-01-01"}, "member", 409),
    ("patch unknown field", "PATCH", "/v1/members/me", {"referral_code": "X"}, "member", 400),
    ("patch as visitor", "PATCH", "/v1/members/me", {"nickname": "x"}, "visitor", 403),
    ("delete without token", "DELETE", "/v1/members/me", None, "none", 401),
    ("delete as visitor", "DELETE", "/v1/members/me", None, "visitor", 403),
    ("checkin without token", "POST", "/v1/checkins", {}, "none", 401),
    ("checkin as visitor", "POST", "/v1/checkins", {}, "visitor", 403),
    ("checkin impossible date", "POST", "/v1/checkins", {"date": "2026-02-30"}, "member", 400),
    ("checkin date not a string", "POST", "/v1/checkins", {"date": 20261101}, "member", 400),
    ("checkin make-up not offered", "POST", "/v1/checkins", {"date": "2020-01-01"}, "member", 400),
    ("checkin unknown field", "POST", "/v1/checkins", {"points": 5}, "member", 400),
    ("calendar bad month", "GET", "/v1/checkins?month=2026-13", None, "member", 400),
    ("calendar month text", "GET", "/v1/checkins?month=last", None, "member", 400),
    ("calendar as visitor", "GET", "/v1/checkins", None, "visitor", 403),
    ("ledger limit 0", "GET", "/v1/points/ledger?limit=0", None, "member", 400),
    ("ledger limit 101", "GET", "/v1/points/ledger?limit=101", None, "member", 400),
    ("ledger limit text", "GET", "/v1/points/ledger?limit=ten", None, "member", 400),
    ("ledger limit negative", "GET", "/v1/points/ledger?limit=-1", None, "member", 400),
    ("ledger bad cursor", "GET", "/v1/points/ledger?cursor=abc", None, "member", 400),
    ("ledger without token", "GET", "/v1/points/ledger", None, "none", 401),
    ("program without key", "GET", "/v1/admin/program", None, "none", 401),
    ("program with member token", "GET", "/v1/admin/program", None, "member", 401),
    ("program put without key", "PUT", "/v1/admin/program", {}, "none", 401),
    ("program put empty", "PUT", "/v1/admin/program", {}, "admin", 400),
    ("program put not object", "PUT", "/v1/admin/program", "[]", "admin", 400),
    ("lookup without phone", "GET", "/v1/admin/members", None, "admin", 400),
    ("lookup bad phone", "GET", "/v1/admin/members?phone=abc", None, "admin", 400),
    ("lookup without key", "GET", "/v1/admin/members?phone=13800000000", None, "none", 401),
    ("member view without key", "GET", "/v1/admin/members/{mid}", None, "none", 401),
    ("member view unknown", "GET", "/v1/admin/members/nobody", None, "admin", 404),
    ("adjust without key", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b1", "delta": 5, "reason": "x"}, "none", 401),
    ("adjust missing request_id", "POST", "/v1/admin/members/{mid}/points", {"delta": 5, "reason": "x"}, "admin", 400),
    ("adjust bad request_id", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "a b", "delta": 5, "reason": "x"}, "admin", 400),
    ("adjust long request_id", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": LONG, "delta": 5, "reason": "x"}, "admin", 400),
    ("adjust float delta", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b2", "delta": 5.0, "reason": "x"}, "admin", 400),
    ("adjust bool delta", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b3", "delta": True, "reason": "x"}, "admin", 400),
    ("adjust string delta", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b4", "delta": "5", "reason": "x"}, "admin", 400),
    ("adjust zero delta", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b5", "delta": 0, "reason": "x"}, "admin", 400),
    ("adjust huge delta", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b6", "delta": 10**12, "reason": "x"}, "admin", 400),
    ("adjust empty reason", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b7", "delta": 5, "reason": ""}, "admin", 400),
    ("adjust long reason", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b8", "delta": 5, "reason": "长" * 501}, "admin", 400),
    ("adjust unknown field", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b9", "delta": 5, "reason": "x", "actor": "me"}, "admin", 400),
    ("adjust below zero", "POST", "/v1/admin/members/{mid}/points",
     {"request_id": "b10", "delta": -1000, "reason": "x"}, "admin", 409),
    ("adjust unknown member", "POST", "/v1/admin/members/nobody/points",
     {"request_id": "b11", "delta": 5, "reason": "x"}, "admin", 404),
    ("clock without key", "PUT", "/v1/admin/clock", {"now": "2027-01-01T00:00:00+08:00"}, "none", 401),
    ("clock naive time", "PUT", "/v1/admin/clock", {"now": "2027-01-01T00:00:00"}, "admin", 400),
    ("clock not a string", "PUT", "/v1/admin/clock", {"now": 5}, "admin", 400),
    ("clock delete without key", "DELETE", "/v1/admin/clock", None, "none", 401),
    ("order without key", "POST", "/v1/admin/orders", {"order_id": "x1", "member_id": "{mid}", "amount_fen": 1},
     "none", 401),
    ("order missing order_id", "POST", "/v1/admin/orders", {"member_id": "{mid}", "amount_fen": 1}, "admin", 400),
    ("order bad order_id", "POST", "/v1/admin/orders", {"order_id": "a b", "member_id": "{mid}", "amount_fen": 1},
     "admin", 400),
    ("order float amount", "POST", "/v1/admin/orders", {"order_id": "x2", "member_id": "{mid}", "amount_fen": 99.5},
     "admin", 400),
    ("order negative amount", "POST", "/v1/admin/orders", {"order_id": "x3", "member_id": "{mid}", "amount_fen": -1},
     "admin", 400),
    ("order subtotal below amount", "POST", "/v1/admin/orders",
     {"order_id": "x4", "member_id": "{mid}", "amount_fen": 100, "subtotal_fen": 99}, "admin", 400),
    ("order naive paid_at", "POST", "/v1/admin/orders",
     {"order_id": "x5", "member_id": "{mid}", "amount_fen": 100, "paid_at": "2026-11-01T10:00:00"}, "admin", 400),
    ("order future paid_at", "POST", "/v1/admin/orders",
     {"order_id": "x6", "member_id": "{mid}", "amount_fen": 100, "paid_at": "2999-01-01T00:00:00+08:00"}, "admin", 400),
    ("order items not a list", "POST", "/v1/admin/orders",
     {"order_id": "x7", "member_id": "{mid}", "amount_fen": 100, "items": {"sku": "a"}}, "admin", 400),
    ("order item zero quantity", "POST", "/v1/admin/orders",
     {"order_id": "x8", "member_id": "{mid}", "amount_fen": 100,
      "items": [{"sku": "a", "category": "c", "quantity": 0, "price_fen": 100}]}, "admin", 400),
    ("order unknown field", "POST", "/v1/admin/orders",
     {"order_id": "x9", "member_id": "{mid}", "amount_fen": 100, "points": 5}, "admin", 400),
    ("order unknown member", "POST", "/v1/admin/orders", {"order_id": "x10", "member_id": "nobody", "amount_fen": 1},
     "admin", 404),
    ("order id reused with another body", "POST", "/v1/admin/orders",
     {"order_id": "{oid}", "member_id": "{mid}", "amount_fen": 10_001}, "admin", 409),
    ("order with an unusable coupon", "POST", "/v1/admin/orders",
     {"order_id": "x11", "member_id": "{mid}", "amount_fen": 100, "coupon_id": "c-nope"}, "admin", 409),
    ("refund unknown order", "POST", "/v1/admin/orders/nope/refunds", {"refund_id": "r1", "amount_fen": 1}, "admin", 404),
    ("refund zero", "POST", "/v1/admin/orders/{oid}/refunds", {"refund_id": "r1", "amount_fen": 0}, "admin", 400),
    ("refund float", "POST", "/v1/admin/orders/{oid}/refunds", {"refund_id": "r1", "amount_fen": 1.0}, "admin", 400),
    ("refund without id", "POST", "/v1/admin/orders/{oid}/refunds", {"amount_fen": 1}, "admin", 400),
    ("refund over the order", "POST", "/v1/admin/orders/{oid}/refunds", {"refund_id": "r1", "amount_fen": 10_001},
     "admin", 409),
    ("refund without key", "POST", "/v1/admin/orders/{oid}/refunds", {"refund_id": "r1", "amount_fen": 1}, "none", 401),
    ("event unknown type", "POST", "/v1/admin/members/{mid}/events", {"request_id": "e1", "type": "like"}, "admin", 400),
    ("event without request_id", "POST", "/v1/admin/members/{mid}/events", {"type": "review"}, "admin", 400),
    ("event type not a string", "POST", "/v1/admin/members/{mid}/events", {"request_id": "e2", "type": 1}, "admin", 400),
    ("event unknown member", "POST", "/v1/admin/members/nobody/events", {"request_id": "e3", "type": "review"},
     "admin", 404),
    ("job unknown", "POST", "/v1/admin/jobs/nope/run", {}, "admin", 404),
    ("job dry_run not a bool", "POST", "/v1/admin/jobs/yearly-points-reset/run", {"dry_run": "yes"}, "admin", 400),
    ("job unknown field", "POST", "/v1/admin/jobs/yearly-points-reset/run", {"force": True}, "admin", 400),
    ("job without key", "POST", "/v1/admin/jobs/yearly-points-reset/run", {}, "none", 401),
    ("template without key", "POST", "/v1/admin/coupon-templates", {"name": "x"}, "none", 401),
    ("template unknown kind", "POST", "/v1/admin/coupon-templates",
     {"name": "x", "kind": "cash", "validity": {"type": "relative", "days": 1}}, "admin", 400),
    ("template amount as float", "POST", "/v1/admin/coupon-templates",
     {"name": "x", "kind": "amount_off", "amount_off_fen": 9.9, "validity": {"type": "relative", "days": 1}},
     "admin", 400),
    ("template percent over 99", "POST", "/v1/admin/coupon-templates",
     {"name": "x", "kind": "percent_off", "percent_off_pct": 100, "validity": {"type": "relative", "days": 1}},
     "admin", 400),
    ("template validity backwards", "POST", "/v1/admin/coupon-templates",
     {"name": "x", "kind": "gift", "validity": {"type": "fixed", "start": "2026-12-01", "end": "2026-11-01"}},
     "admin", 400),
    ("template validity impossible date", "POST", "/v1/admin/coupon-templates",
     {"name": "x", "kind": "gift", "validity": {"type": "fixed", "start": "2026-02-30", "end": "2026-03-01"}},
     "admin", 400),
    ("template name too long", "POST", "/v1/admin/coupon-templates",
     {"name": "券" * 65, "kind": "gift", "validity": {"type": "relative", "days": 1}}, "admin", 400),
    ("template unknown field", "POST", "/v1/admin/coupon-templates",
     {"name": "x", "kind": "gift", "validity": {"type": "relative", "days": 1}, "stock": 5}, "admin", 400),
    ("template patch unknown", "PATCH", "/v1/admin/coupon-templates/nope", {"active": False}, "admin", 404),
    ("templates without key", "GET", "/v1/admin/coupon-templates", None, "none", 401),
    ("claim without token", "POST", "/v1/coupon-center/t1/claim", {"request_id": "r1"}, "none", 401),
    ("claim as visitor", "POST", "/v1/coupon-center/t1/claim", {"request_id": "r1"}, "visitor", 403),
    ("claim unknown template", "POST", "/v1/coupon-center/nope/claim", {"request_id": "r1"}, "member", 404),
    ("claim without request_id", "POST", "/v1/coupon-center/nope/claim", {}, "member", 400),
    ("coupon center forged token", "GET", "/v1/coupon-center", None, "forged", 401),
    ("wallet bad status", "GET", "/v1/coupons?status=lost", None, "member", 400),
    ("wallet bad limit", "GET", "/v1/coupons?limit=0", None, "member", 400),
    ("wallet forged cursor", "GET", "/v1/coupons?cursor=abc", None, "member", 400),
    ("wallet as visitor", "GET", "/v1/coupons", None, "visitor", 403),
    ("coupon of nobody", "GET", "/v1/coupons/c-nope", None, "member", 404),
    ("picker without subtotal", "GET", "/v1/coupons/usable", None, "member", 400),
    ("picker negative subtotal", "GET", "/v1/coupons/usable?subtotal_fen=-5", None, "member", 400),
    ("reward without key", "POST", "/v1/admin/rewards", {"name": "x", "points_cost": 1, "kind": "gift"}, "none", 401),
    ("reward float cost", "POST", "/v1/admin/rewards", {"name": "x", "points_cost": 1.5, "kind": "gift"}, "admin", 400),
    ("reward zero cost", "POST", "/v1/admin/rewards", {"name": "x", "points_cost": 0, "kind": "gift"}, "admin", 400),
    ("reward unknown kind", "POST", "/v1/admin/rewards", {"name": "x", "points_cost": 1, "kind": "cash"}, "admin", 400),
    ("reward coupon without template", "POST", "/v1/admin/rewards",
     {"name": "x", "points_cost": 1, "kind": "coupon"}, "admin", 400),
    ("reward unknown template", "POST", "/v1/admin/rewards",
     {"name": "x", "points_cost": 1, "kind": "coupon", "coupon_template_id": "t-nope"}, "admin", 404),
    ("reward negative stock", "POST", "/v1/admin/rewards",
     {"name": "x", "points_cost": 1, "kind": "gift", "stock": -1}, "admin", 400),
    ("reward patch unknown", "PATCH", "/v1/admin/rewards/nope", {"active": False}, "admin", 404),
    ("redeem without token", "POST", "/v1/rewards/r1/redeem", {"request_id": "x"}, "none", 401),
    ("redeem as visitor", "POST", "/v1/rewards/r1/redeem", {"request_id": "x"}, "visitor", 403),
    ("redeem unknown reward", "POST", "/v1/rewards/nope/redeem", {"request_id": "x"}, "member", 404),
    ("redeem bad request_id", "POST", "/v1/rewards/nope/redeem", {"request_id": "a/b"}, "member", 400),
    ("mall forged token", "GET", "/v1/rewards", None, "forged", 401),
    ("fulfilments bad status", "GET", "/v1/admin/fulfilments?status=lost", None, "admin", 400),
    ("fulfilments bad cursor", "GET", "/v1/admin/fulfilments?cursor=zz", None, "admin", 400),
    ("fulfilments without key", "GET", "/v1/admin/fulfilments", None, "none", 401),
    ("ship unknown", "POST", "/v1/admin/fulfilments/nope/ship", {}, "admin", 404),
    ("ship long note", "POST", "/v1/admin/fulfilments/nope/ship", {"note": "x" * 501}, "admin", 400),
    ("issue without key", "POST", "/v1/admin/coupons/issue", {"request_id": "i1", "template_id": "t", "member_ids": ["m"]},
     "none", 401),
    ("issue empty list", "POST", "/v1/admin/coupons/issue", {"request_id": "i1", "template_id": "t", "member_ids": []},
     "admin", 400),
    ("issue ids not strings", "POST", "/v1/admin/coupons/issue",
     {"request_id": "i1", "template_id": "t", "member_ids": [1, 2]}, "admin", 400),
    ("issue by segment", "POST", "/v1/admin/coupons/issue", {"request_id": "i1", "template_id": "t", "segment": "vip"},
     "admin", 400),
    ("issue unknown template", "POST", "/v1/admin/coupons/issue",
     {"request_id": "i1", "template_id": "t-nope", "member_ids": ["{mid}"]}, "admin", 404),
    ("push check forged", "GET", "/v1/wechat/push?signature=0&timestamp=1&nonce=n&echostr=e", None, "none", 401),
    ("push check unsigned", "GET", "/v1/wechat/push?echostr=e", None, "none", 401),
    ("push unsigned", "POST", "/v1/wechat/push?timestamp=1&nonce=n", {"FromUserName": "o", "CreateTime": 1},
     "none", 401),
    ("push body over 64 KiB", "POST", "/v1/wechat/push", BIG, "none", 413),
    ("wrong method", "PUT", "/v1/members/me", {}, "member", 405),
    ("wrong content type", "POST", "/v1/auth/login", {"code": "a.1"}, "text", 415),
]


@pytest.mark.parametrize("name, method, path, body, auth, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_4xx_envelope_and_changes_nothing(client, world, name, method, path, body,
                                                         auth, expected) -> None:
    api = Api(client)
    snapshot = _snapshot(api, world)
    headers = {"text": {"Content-Type": "text/plain"}, "forged": {"Authorization": "Bearer eyJ9.forged"}}
    token = {"member": world["token"], "visitor": world["visitor"]}.get(auth)
    raw = body if isinstance(body, str) else None
    if isinstance(body, dict):
        body = {k: v.format(mid=world["member_id"], oid=world["order_id"]) if isinstance(v, str) else v
                for k, v in body.items()}
    status, answer = api.call(method, path.format(mid=world["member_id"], oid=world["order_id"]),
                              None if raw else body,
                              token=token, admin=auth == "admin", headers=headers.get(auth), raw=raw)
    assert status == expected
    assert_error_body(answer)
    assert _snapshot(api, world) == snapshot


def _snapshot(api: Api, world: dict[str, Any]) -> Any:
    return (
        api.call("GET", f"/v1/admin/members/{world['member_id']}", admin=True),
        api.ledger(world["token"]),
        api.call("GET", "/v1/members/me", token=world["visitor"]),
        api.call("GET", "/v1/admin/program", admin=True),
    )
