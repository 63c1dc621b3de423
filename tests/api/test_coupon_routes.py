"""Coupon templates, the coupon center, the wallet, the checkout picker and coupons on orders."""
from __future__ import annotations

import uuid

from helpers import Api


def template(api: Api, **fields) -> dict:
    body = {"name": "满100减20", "kind": "amount_off", "amount_off_fen": 2000, "min_spend_fen": 10_000,
            "validity": {"type": "relative", "days": 30}, "claimable": True, **fields}
    status, created = api.call("POST", "/v1/admin/coupon-templates", body, admin=True)
    assert status == 201, created
    return created


def claim(api: Api, token: str, template_id: str, request_id: str | None = None):
    return api.call("POST", f"/v1/coupon-center/{template_id}/claim",
                    {"request_id": request_id or uuid.uuid4().hex}, token=token)


def order(api: Api, member_id: str, amount_fen: int, **extra):
    return api.call("POST", "/v1/admin/orders", {"order_id": "o-" + uuid.uuid4().hex[:12], "member_id": member_id,
                                                  "amount_fen": amount_fen, **extra}, admin=True)


def test_templates_are_created_listed_and_patched(api: Api) -> None:
    created = template(api, total_stock=100, per_member_limit=2, tiers=["gold"])
    assert created["stock_left"] == 100 and created["template_id"] and created["active"] is True
    assert created in api.all_items("/v1/admin/coupon-templates", admin=True)
    status, patched = api.call("PATCH", f"/v1/admin/coupon-templates/{created['template_id']}",
                               {"active": False, "name": "满100减25", "amount_off_fen": 2500}, admin=True)
    assert status == 200 and patched["active"] is False and patched["amount_off_fen"] == 2500
    status, body = api.call("PATCH", f"/v1/admin/coupon-templates/{created['template_id']}",
                            {"percent_off_pct": 80}, admin=True)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert api.call("PATCH", "/v1/admin/coupon-templates/nope", {"active": True}, admin=True)[0] == 404


def test_claim_is_idempotent_and_limits_and_stock_hold(api: Api) -> None:
    limited = template(api, total_stock=2, per_member_limit=1)
    token, member = api.new_member()
    request_id = uuid.uuid4().hex
    first = claim(api, token, limited["template_id"], request_id)
    assert first[0] == 201 and first[1]["status"] == "unused" and first[1]["source"] == "claim"
    assert claim(api, token, limited["template_id"], request_id) == first
    status, body = claim(api, token, limited["template_id"])
    assert (status, body["error"]["code"]) == (409, "LIMIT_REACHED")
    other, _ = api.new_member()
    assert claim(api, other, limited["template_id"])[0] == 201
    third, _ = api.new_member()
    status, body = claim(api, third, limited["template_id"])
    assert (status, body["error"]["code"]) == (409, "OUT_OF_STOCK")
    listed = api.all_items("/v1/admin/coupon-templates", admin=True)
    assert [t["stock_left"] for t in listed if t["template_id"] == limited["template_id"]] == [0]


def test_the_coupon_center_filters_by_tier_and_visitors_browse(api: Api) -> None:
    open_to_all = template(api)
    gold_only = template(api, tiers=["gold"])
    hidden = template(api, claimable=False)
    ids = lambda body: {t["template_id"] for t in body["items"]}  # noqa: E731
    anonymous = api.call("GET", "/v1/coupon-center")[1]
    assert open_to_all["template_id"] in ids(anonymous) and gold_only["template_id"] not in ids(anonymous)
    assert hidden["template_id"] not in ids(anonymous)
    token, member = api.new_member()
    assert gold_only["template_id"] not in ids(api.call("GET", "/v1/coupon-center", token=token)[1])
    status, body = claim(api, token, gold_only["template_id"])
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    order(api, member["member_id"], 600_000)
    assert gold_only["template_id"] in ids(api.call("GET", "/v1/coupon-center", token=token)[1])
    assert claim(api, token, gold_only["template_id"])[0] == 201
    assert claim(api, token, hidden["template_id"])[0] == 404


def test_the_wallet_by_status_and_expiry_the_instant_it_passes(api: Api, clock) -> None:
    clock("2026-11-23T10:00:00+08:00")
    short = template(api, validity={"type": "fixed", "start": "2026-11-01", "end": "2026-11-30"})
    token, member = api.new_member()
    coupon = claim(api, token, short["template_id"])[1]
    assert coupon["valid_until"] == "2026-12-01T00:00:00+08:00"
    assert [c["coupon_id"] for c in api.call("GET", "/v1/coupons", token=token)[1]["items"]] == [coupon["coupon_id"]]
    clock("2026-11-30T23:59:59+08:00")
    token = api.token_for(member["member_id"])
    assert api.call("GET", f"/v1/coupons/{coupon['coupon_id']}", token=token)[1]["status"] == "unused"
    clock("2026-12-01T00:00:00+08:00")
    assert api.call("GET", f"/v1/coupons/{coupon['coupon_id']}", token=token)[1]["status"] == "expired"
    assert api.call("GET", "/v1/coupons?status=unused", token=token)[1]["items"] == []
    expired = api.call("GET", "/v1/coupons?status=expired", token=token)[1]["items"]
    assert [c["coupon_id"] for c in expired] == [coupon["coupon_id"]]
    other, _ = api.new_member()
    assert api.call("GET", f"/v1/coupons/{coupon['coupon_id']}", token=other)[0] == 404


def test_the_wallet_pages(api: Api) -> None:
    many = template(api, per_member_limit=None)
    token, _ = api.new_member()
    claimed = {claim(api, token, many["template_id"])[1]["coupon_id"] for _ in range(5)}
    page = api.call("GET", "/v1/coupons?status=unused&limit=2", token=token)[1]
    seen = [c["coupon_id"] for c in page["items"]]
    while page["next_cursor"]:
        page = api.call("GET", f"/v1/coupons?status=unused&limit=2&cursor={page['next_cursor']}", token=token)[1]
        seen += [c["coupon_id"] for c in page["items"]]
    assert len(seen) == 5 and set(seen) == claimed


def test_the_picker_puts_the_best_discount_first(api: Api) -> None:
    amount = template(api, amount_off_fen=2000, min_spend_fen=10_000)
    percent = template(api, kind="percent_off", amount_off_fen=None, percent_off_pct=80, max_discount_fen=5000,
                       min_spend_fen=0)
    too_high = template(api, amount_off_fen=9000, min_spend_fen=50_000)
    token, _ = api.new_member()
    for t in (amount, percent, too_high):
        claim(api, token, t["template_id"])
    picked = api.call("GET", "/v1/coupons/usable?subtotal_fen=15000", token=token)[1]["items"]
    assert [(c["template_id"], c["discount_fen"]) for c in picked] == [
        (percent["template_id"], 3000), (amount["template_id"], 2000)]
    assert api.call("GET", "/v1/coupons/usable?subtotal_fen=2.5", token=token)[0] == 400


def test_an_order_consumes_the_coupon_and_a_full_refund_returns_it(api: Api) -> None:
    coupon_template = template(api)
    token, member = api.new_member()
    coupon = claim(api, token, coupon_template["template_id"])[1]
    status, body = order(api, member["member_id"], 9_000, subtotal_fen=9_999, coupon_id=coupon["coupon_id"])
    assert (status, body["error"]["code"]) == (409, "COUPON_NOT_USABLE")
    status, recorded = order(api, member["member_id"], 10_000, subtotal_fen=12_000, coupon_id=coupon["coupon_id"])
    assert status == 201 and recorded["discount_fen"] == 2000
    assert recorded["coupon"]["status"] == "used" and recorded["coupon"]["order_id"] == recorded["order_id"]
    status, body = order(api, member["member_id"], 10_000, subtotal_fen=12_000, coupon_id=coupon["coupon_id"])
    assert (status, body["error"]["code"]) == (409, "COUPON_NOT_USABLE")
    other, other_member = api.new_member()
    status, body = order(api, other_member["member_id"], 10_000, subtotal_fen=12_000, coupon_id=coupon["coupon_id"])
    assert (status, body["error"]["code"]) == (409, "COUPON_NOT_USABLE")
    oid = recorded["order_id"]
    api.call("POST", f"/v1/admin/orders/{oid}/refunds", {"refund_id": "half", "amount_fen": 5_000}, admin=True)
    assert api.call("GET", f"/v1/coupons/{coupon['coupon_id']}", token=token)[1]["status"] == "used"
    api.call("POST", f"/v1/admin/orders/{oid}/refunds", {"refund_id": "rest", "amount_fen": 5_000}, admin=True)
    back = api.call("GET", f"/v1/coupons/{coupon['coupon_id']}", token=token)[1]
    assert back["status"] == "unused" and back["order_id"] is None and back["used_at"] is None


def test_signup_gift_coupons_land_in_the_wallet(api: Api, program) -> None:
    gift = template(api, claimable=False, name="新人礼")
    edited, put = program
    edited["signup_gift"]["coupon_template_ids"] = [gift["template_id"], "t-missing"]
    put()
    token, _ = api.new_member()
    wallet = api.call("GET", "/v1/coupons", token=token)[1]["items"]
    assert [(c["template_id"], c["source"]) for c in wallet] == [(gift["template_id"], "signup")]


def test_a_closed_account_has_no_wallet(api: Api) -> None:
    any_template = template(api)
    token, _ = api.new_member()
    claim(api, token, any_template["template_id"])
    assert api.call("DELETE", "/v1/members/me", token=token)[0] == 204
    status, body = api.call("GET", "/v1/coupons", token=token)
    assert (status, body["error"]["code"]) == (403, "NOT_A_MEMBER")


def test_targeted_issue_respects_limits_and_stock_and_replays(api: Api) -> None:
    limited = template(api, claimable=False, total_stock=3, per_member_limit=1)
    members = [api.new_member()[1]["member_id"] for _ in range(2)]
    body = {"request_id": uuid.uuid4().hex, "template_id": limited["template_id"],
            "member_ids": members + ["nobody"]}
    first = api.call("POST", "/v1/admin/coupons/issue", body, admin=True)
    assert first == (202, {"issued": 2, "skipped": 1})
    assert api.call("POST", "/v1/admin/coupons/issue", body, admin=True) == first
    again = {**body, "request_id": uuid.uuid4().hex}
    assert api.call("POST", "/v1/admin/coupons/issue", again, admin=True) == (202, {"issued": 0, "skipped": 3})
    status, reused = api.call("POST", "/v1/admin/coupons/issue", {**body, "member_ids": members}, admin=True)
    assert (status, reused["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    many = [api.new_member()[1]["member_id"] for _ in range(3)]
    assert api.call("POST", "/v1/admin/coupons/issue", {**again, "request_id": uuid.uuid4().hex, "member_ids": many},
                    admin=True) == (202, {"issued": 1, "skipped": 2})


def test_the_coupon_expiry_job_marks_ended_coupons_once(api: Api, clock) -> None:
    clock("2026-11-23T10:00:00+08:00")
    week = template(api, validity={"type": "relative", "days": 7})
    token, _ = api.new_member()
    claim(api, token, week["template_id"])
    clock("2026-11-30T10:00:00+08:00")
    first = api.call("POST", "/v1/admin/jobs/coupon-expiry/run", {}, admin=True)[1]
    assert first["job"] == "coupon-expiry" and first["coupons_expired"] >= 1
    assert api.call("POST", "/v1/admin/jobs/coupon-expiry/run", {}, admin=True)[1]["coupons_expired"] == 0


def test_a_long_member_list_is_issued_in_batches(api: Api) -> None:
    unlimited = template(api, claimable=False)
    real = [api.new_member()[1]["member_id"] for _ in range(3)]
    ids = [f"ghost-{i}" for i in range(40)] + [real[0]] + [f"ghost-b{i}" for i in range(40)] + real[1:]
    body = {"request_id": uuid.uuid4().hex, "template_id": unlimited["template_id"], "member_ids": ids}
    assert api.call("POST", "/v1/admin/coupons/issue", body, admin=True) == (202, {"issued": 3, "skipped": 80})
