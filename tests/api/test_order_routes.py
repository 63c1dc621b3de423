"""Orders, refunds, interaction events and the jobs (§4, §6), through the routes and the real store."""
from __future__ import annotations

import storage
from helpers import Api


def order(api: Api, member_id: str, order_id: str, amount_fen: int, **extra):
    return api.call("POST", "/v1/admin/orders", {"order_id": order_id, "member_id": member_id,
                                                  "amount_fen": amount_fen, **extra}, admin=True)


def refund(api: Api, order_id: str, refund_id: str, amount_fen: int):
    return api.call("POST", f"/v1/admin/orders/{order_id}/refunds",
                    {"refund_id": refund_id, "amount_fen": amount_fen}, admin=True)


def unique(prefix: str) -> str:
    import uuid
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_an_order_awards_points_and_growth_once(api: Api, clock) -> None:
    clock("2026-11-23T10:00:00+08:00")
    token, member = api.new_member()
    oid = unique("o")
    status, body = order(api, member["member_id"], oid, 12_345)
    assert status == 201
    assert body == {"order_id": oid, "points_awarded": 123, "balance": 223,
                    "growth": {"value": 123, "next_tier": "silver", "to_next": 877, "keep": None},
                    "tier": {"code": "normal", "name": "普通会员", "points_multiplier_pct": 100},
                    "coupon": None, "discount_fen": 0}
    assert order(api, member["member_id"], oid, 12_345) == (status, body)
    status, conflict = order(api, member["member_id"], oid, 12_346)
    assert (status, conflict["error"]["code"]) == (409, "ORDER_CONFLICT")
    assert [e["reason"] for e in api.ledger(token)] == ["order", "signup_gift"]


def test_member_day_and_birthday_month_take_the_larger_multiplier(api: Api, clock, program) -> None:
    edited, put = program
    edited["birthday"]["multiplier_pct"] = 300
    put()
    clock("2026-11-08T12:00:00+08:00")  # a member day
    _, member = api.new_member(birthday="1990-11-20")
    assert order(api, member["member_id"], unique("o"), 10_000)[1]["points_awarded"] == 300
    _, other = api.new_member(birthday="1990-05-20")
    assert order(api, other["member_id"], unique("o"), 10_000)[1]["points_awarded"] == 200
    clock("2026-11-09T12:00:00+08:00")
    assert order(api, other["member_id"], unique("o"), 10_000)[1]["points_awarded"] == 100


def test_member_days_are_shanghai_dates(api: Api, clock) -> None:
    clock("2026-11-07T16:30:00Z")  # 00:30 on the 8th in Shanghai
    _, member = api.new_member()
    assert order(api, member["member_id"], unique("o"), 10_000)[1]["points_awarded"] == 200
    clock("2026-11-08T16:30:00Z")  # 00:30 on the 9th in Shanghai
    assert order(api, member["member_id"], unique("o"), 10_000)[1]["points_awarded"] == 100


def test_the_tier_multiplier_is_the_tier_before_the_order(api: Api, clock) -> None:
    clock("2026-11-23T10:00:00+08:00")
    _, member = api.new_member()
    status, body = order(api, member["member_id"], unique("o"), 500_000)
    assert body["points_awarded"] == 5000 and body["tier"]["code"] == "gold"
    assert order(api, member["member_id"], unique("o"), 10_000)[1]["points_awarded"] == 200


def test_refunds_claw_back_in_proportion_and_a_full_refund_returns_all(api: Api, clock) -> None:
    clock("2026-11-23T10:00:00+08:00")
    token, member = api.new_member()
    oid = unique("o")
    order(api, member["member_id"], oid, 10_001)
    first = refund(api, oid, "r1", 3_333)
    assert first[0] == 201 and first[1]["points_clawed_back"] == 33
    assert refund(api, oid, "r1", 3_333) == first
    status, body = refund(api, oid, "r1", 3_334)
    assert (status, body["error"]["code"]) == (409, "ORDER_CONFLICT")
    status, body = refund(api, oid, "r2", 6_669)
    assert (status, body["error"]["code"]) == (409, "REFUND_EXCEEDS_ORDER")
    second = refund(api, oid, "r2", 6_668)[1]
    assert second["points_clawed_back"] == 67 and second["balance"] == 100
    assert second["growth"]["value"] == 0
    assert [e["delta"] for e in api.ledger(token)] == [-67, -33, 100, 100]


def test_a_refund_may_take_the_balance_negative(api: Api, clock) -> None:
    clock("2026-11-23T10:00:00+08:00")
    token, member = api.new_member()
    oid = unique("o")
    order(api, member["member_id"], oid, 50_000)
    api.call("POST", f"/v1/admin/members/{member['member_id']}/points",
             {"request_id": unique("spend"), "delta": -550, "reason": "兑换"}, admin=True)
    assert refund(api, oid, "all", 50_000)[1]["balance"] == -450
    me = api.call("GET", "/v1/members/me", token=token)[1]
    assert me["points"] == {"balance": -450, "pending": 0, "held": 0, "expiring": []}
    status, body = api.call("POST", f"/v1/admin/members/{member['member_id']}/points",
                            {"request_id": unique("spend"), "delta": -1, "reason": "兑换"}, admin=True)
    assert (status, body["error"]["code"]) == (409, "NEGATIVE_BALANCE")


def test_pending_points_wait_for_the_return_window_and_refunds_cancel_them(api: Api, clock, program) -> None:
    edited, put = program
    edited["order_points_pending_days"] = 7
    put()
    clock("2026-11-01T10:00:00+08:00")
    token, member = api.new_member()
    kept, returned = unique("o"), unique("o")
    order(api, member["member_id"], kept, 20_000)
    order(api, member["member_id"], returned, 30_000)
    assert api.call("GET", "/v1/members/me", token=token)[1]["points"]["pending"] == 500
    assert refund(api, returned, "r", 30_000)[1] == {
        "refund_id": "r", "points_clawed_back": 300, "balance": 100,
        "growth": {"value": 200, "next_tier": "silver", "to_next": 800, "keep": None},
        "tier": {"code": "normal", "name": "普通会员", "points_multiplier_pct": 100}}
    clock("2026-11-08T10:00:01+08:00")
    token = api.token_for(member["member_id"])
    me = api.call("GET", "/v1/members/me", token=token)[1]
    assert me["points"]["pending"] == 0 and me["points"]["balance"] == 300
    api.call("POST", f"/v1/admin/members/{member['member_id']}/points",
             {"request_id": unique("a"), "delta": 1, "reason": "x"}, admin=True)
    assert [(e["reason"], e["delta"]) for e in api.ledger(token)] == [
        ("admin_adjust", 1), ("order", 200), ("signup_gift", 100)]


def test_referral_credits_both_sides_once_on_the_first_order(api: Api, clock) -> None:
    clock("2026-11-23T10:00:00+08:00")
    inviter_token, inviter = api.new_member()
    invitee_token, invitee = api.new_member(referral_code=inviter["referral_code"])
    first = order(api, invitee["member_id"], unique("o"), 1_000)[1]
    assert first["points_awarded"] == 10 and first["balance"] == 210
    order(api, invitee["member_id"], unique("o"), 1_000)
    assert [e["reason"] for e in api.ledger(inviter_token)] == ["referral", "signup_gift"]
    assert api.call("GET", "/v1/members/me", token=inviter_token)[1]["points"]["balance"] == 300
    assert [e["reason"] for e in api.ledger(invitee_token)] == ["order", "referral", "order", "signup_gift"]


def test_interaction_events_respect_the_daily_cap(api: Api, clock) -> None:
    clock("2026-11-23T23:30:00+08:00")
    token, member = api.new_member()
    path = f"/v1/admin/members/{member['member_id']}/events"
    awarded = [api.call("POST", path, {"request_id": unique("e"), "type": "review"}, admin=True)[1]["points_awarded"]
               for _ in range(4)]
    assert awarded == [10, 10, 10, 0]
    replay_id = unique("e")
    once = api.call("POST", path, {"request_id": replay_id, "type": "share", "ref": "post-1"}, admin=True)
    assert once == (201, {"points_awarded": 2, "balance": 132})
    assert api.call("POST", path, {"request_id": replay_id, "type": "share", "ref": "post-1"}, admin=True) == once
    clock("2026-11-24T00:10:00+08:00")
    assert api.call("POST", path, {"request_id": unique("e"), "type": "review"}, admin=True)[1]["points_awarded"] == 10
    status, body = api.call("POST", path, {"request_id": unique("e"), "type": "like"}, admin=True)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")


def test_the_yearly_reset_writes_each_expire_entry_once(api: Api, clock) -> None:
    clock("2026-06-01T10:00:00+08:00")
    _, member = api.new_member()
    mid = member["member_id"]
    clock("2026-12-31T23:59:59+08:00")
    assert api.call("POST", "/v1/admin/jobs/yearly-points-reset/run", {}, admin=True)[1]["points_expired"] == 0
    clock("2027-01-01T00:00:00+08:00")
    dry = api.call("POST", "/v1/admin/jobs/yearly-points-reset/run", {"dry_run": True}, admin=True)[1]
    assert dry["job"] == "yearly-points-reset" and dry["as_of"] == "2027-01-01T00:00:00+08:00"
    assert dry["dry_run"] is True and dry["members_expired"] >= 1
    assert [e["reason"] for e in api.ledger(api.token_for(mid))] == ["signup_gift"]
    first = api.call("POST", "/v1/admin/jobs/yearly-points-reset/run", {}, admin=True)
    assert first[0] == 200 and first[1]["members_expired"] >= 1
    again = api.call("POST", "/v1/admin/jobs/yearly-points-reset/run", {"dry_run": False}, admin=True)[1]
    assert again["members_expired"] == 0 and again["points_expired"] == 0
    token = api.token_for(mid)
    assert [(e["reason"], e["delta"], e["balance_after"]) for e in api.ledger(token)] == [
        ("expire", -100, 0), ("signup_gift", 100, 100)]
    assert api.call("GET", "/v1/members/me", token=token)[1]["points"]["balance"] == 0


def test_tier_review_records_tiers_that_aged_out(api: Api, clock) -> None:
    clock("2025-03-01T10:00:00+08:00")
    _, member = api.new_member()
    assert order(api, member["member_id"], unique("o"), 600_000)[1]["tier"]["code"] == "gold"
    clock("2027-01-01T00:10:00+08:00")
    view = api.call("GET", f"/v1/admin/members/{member['member_id']}", admin=True)[1]
    assert view["tier"]["code"] == "normal"
    first = api.call("POST", "/v1/admin/jobs/tier-review/run", {}, admin=True)[1]
    assert first["job"] == "tier-review" and first["tier_changes"] >= 1
    assert api.call("POST", "/v1/admin/jobs/tier-review/run", {}, admin=True)[1]["tier_changes"] == 0
    assert [(c.from_tier, c.to_tier, c.cause) for c in storage.tier_changes(member["member_id"])] == [
        ("normal", "gold", "order"), ("gold", "normal", "review")]


def test_unknown_jobs_are_404(api: Api) -> None:
    status, body = api.call("POST", "/v1/admin/jobs/nope/run", {}, admin=True)
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
