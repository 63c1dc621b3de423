"""Member use cases against the in-memory unit of work: login, signup (gift, referral code, phone,
signup coupons), profile reads and changes, the merchant's views, and account deletion."""
from __future__ import annotations

import secrets

import pytest
from builders import Shop, at, round_trips, set_now, snapshot

from chalicelib.domain.tokens import Principal
from chalicelib.errors import (
    AlreadyMember,
    BirthdayLocked,
    NotAMember,
    NotFound,
    ReferralCodeInvalid,
    WeChatCodeInvalid,
)
from chalicelib.services import coupons, members, points
from chalicelib.services.members import Profile
from chalicelib.store import coupons as coupon_store
from chalicelib.store import members as member_store
from chalicelib.store.parts import every


def _phone_code() -> str:
    return f"phone-139{secrets.randbelow(10**8):08d}"


# ---- login ---------------------------------------------------------------------------------------

def test_login_of_a_visitor_then_of_the_member_it_became(shop: Shop, uow, wechat, fake_wechat) -> None:
    name = "login-" + secrets.token_hex(4)
    answer, trips = round_trips(uow, lambda: members.login(uow, wechat, f"{name}.1"))
    assert (answer["is_member"], answer["member"], trips) == (False, None, 1)
    assert answer["token"] and answer["expires_in"] > 0 and "session_key" not in str(answer)

    openid = fake_wechat.openid_for(name)
    joined = members.signup(uow, wechat, Principal(openid, None), Profile(nickname="小王"), None)
    answer, trips = round_trips(uow, lambda: members.login(uow, wechat, f"{name}.2"))
    assert (answer["is_member"], answer["member"]["member_id"], trips) == (True, joined["member_id"], 2)
    assert answer["member"]["nickname"] == "小王"


def test_a_used_or_invalid_login_code_is_wechat_code_invalid(uow, wechat) -> None:
    name = "used-" + secrets.token_hex(4)
    members.login(uow, wechat, f"{name}.1")
    with pytest.raises(WeChatCodeInvalid):
        members.login(uow, wechat, f"{name}.1")
    with pytest.raises(WeChatCodeInvalid):
        members.login(uow, wechat, "invalid-" + secrets.token_hex(4))


# ---- signup --------------------------------------------------------------------------------------

def test_signup_grants_the_gift_in_one_read_and_one_transaction(shop: Shop, uow, wechat) -> None:
    openid = "o" + secrets.token_hex(8)
    view, trips = round_trips(uow, lambda: members.signup(uow, wechat, Principal(openid, None),
                                                          Profile(nickname="阿明", gender="male"), None))
    assert trips == 2
    assert view["points"] == {"balance": 100, "pending": 0, "held": 0,
                              "expiring": [{"points": 100, "expires_at": "2027-01-01T00:00:00+08:00"}]}
    assert (view["tier"]["code"], view["growth"]["value"], view["nickname"], view["gender"]) == \
        ("normal", 0, "阿明", "male")
    assert [(e.delta, e.balance_after, e.reason) for e in shop.ledger(view["member_id"])] == \
        [(100, 100, "signup_gift")]


def test_signing_up_twice_is_already_member_and_writes_nothing(shop: Shop, uow, wechat) -> None:
    who = shop.member()
    before = snapshot(uow)
    with pytest.raises(AlreadyMember):
        members.signup(uow, wechat, Principal(who.openid, None), Profile(), None)
    assert snapshot(uow) == before


def test_an_unknown_referral_code_is_refused_and_writes_nothing(shop: Shop, uow, wechat) -> None:
    before = snapshot(uow)
    with pytest.raises(ReferralCodeInvalid):
        members.signup(uow, wechat, Principal("o" + secrets.token_hex(8), None), Profile(), "NOSUCH22")
    assert snapshot(uow) == before


def test_signup_coupons_come_with_the_gift_and_inactive_templates_are_skipped(shop: Shop, uow, wechat) -> None:
    welcome = shop.template(name="新人券", claimable=False)["template_id"]
    retired = shop.template(name="旧券", active=False)["template_id"]
    shop.set_program(signup_gift={"points": 50, "coupon_template_ids": [welcome, retired]})
    openid = "o" + secrets.token_hex(8)
    view, trips = round_trips(uow, lambda: members.signup(uow, wechat, Principal(openid, None), Profile(), None))
    assert trips == 3  # the templates the program names: one more read
    who = Principal(openid, view["member_id"])
    assert [(c["name"], c["source"]) for c in shop.wallet(who)] == [("新人券", "signup")]
    assert view["points"]["balance"] == 50


def test_signup_with_a_phone_code_keeps_the_number_masked_and_found_at_the_counter(shop: Shop, uow) -> None:
    code = _phone_code()
    who = shop.member(phone_code=code)
    number = code.removeprefix("phone-")
    assert shop.view(who)["phone"] == number[:3] + "****" + number[-4:]
    found = members.find_by_phone(uow, number)["items"]
    assert [(m["member_id"], m["phone"], m["openid"]) for m in found] == [(who.member_id, number, who.openid)]


# ---- reads and profile ---------------------------------------------------------------------------

def test_the_member_behind_a_token_is_one_round_trip(shop: Shop, uow) -> None:
    who = shop.member(nickname="一读")
    view, trips = round_trips(uow, lambda: members.get_me(uow, who))
    assert (view["member_id"], view["nickname"], trips) == (who.member_id, "一读", 1)


def test_a_token_minted_before_signup_finds_the_member_in_two_round_trips(shop: Shop, uow) -> None:
    who = shop.member()
    view, trips = round_trips(uow, lambda: members.get_me(uow, Principal(who.openid, None)))
    assert (view["member_id"], trips) == (who.member_id, 2)


def test_a_visitor_is_not_a_member(uow) -> None:
    with pytest.raises(NotAMember):
        members.get_me(uow, Principal("o-visitor", None))


def test_the_birthday_can_be_set_once(shop: Shop, uow, wechat) -> None:
    who = shop.member()
    view = members.update_me(uow, wechat, who, Profile(nickname="改名", birthday="1990-05-04"),
                             {"nickname", "birthday"})
    assert (view["nickname"], view["birthday"]) == ("改名", "1990-05-04")
    same = members.update_me(uow, wechat, who, Profile(birthday="1990-05-04"), {"birthday"})
    assert same["birthday"] == "1990-05-04"
    before = snapshot(uow)
    with pytest.raises(BirthdayLocked):
        members.update_me(uow, wechat, who, Profile(nickname="又改", birthday="1991-01-01"), {"nickname", "birthday"})
    assert snapshot(uow) == before


def test_a_new_phone_replaces_the_old_one_at_the_counter(shop: Shop, uow, wechat) -> None:
    old, new = _phone_code(), _phone_code()
    who = shop.member(phone_code=old)
    members.update_me(uow, wechat, who, Profile(phone_code=new), {"phone_code"})
    assert members.find_by_phone(uow, old.removeprefix("phone-"))["items"] == []
    assert [m["member_id"] for m in members.find_by_phone(uow, new.removeprefix("phone-"))["items"]] == \
        [who.member_id]


def test_the_merchant_sees_openid_full_phone_and_subscriptions(shop: Shop, uow) -> None:
    code = _phone_code()
    who = shop.member(phone_code=code)
    view = members.get_member_for_admin(uow, who.member_id)
    assert (view["openid"], view["phone"], view["subscriptions"]) == (who.openid, code.removeprefix("phone-"), {})
    with pytest.raises(NotFound):
        members.get_member_for_admin(uow, "m-nobody")


def test_the_merchant_sees_the_rfm_at_this_instant_without_a_read_of_its_own(shop: Shop, uow) -> None:
    who = shop.member()
    assert members.get_member_for_admin(uow, who.member_id)["rfm"] == \
        {"recency_days": None, "frequency": 0, "monetary_fen": 0, "segment": "prospect"}
    order_id = shop.order(who.member_id, 30_000, paid_at=at(2026, 3, 1))[1]["order_id"]
    shop.order(who.member_id, 90_000, paid_at=at(2026, 3, 9))
    shop.refund(order_id, 10_000)
    view, calls = round_trips(uow, lambda: members.get_member_for_admin(uow, who.member_id))
    assert view["rfm"] == {"recency_days": 1, "frequency": 2, "monetary_fen": 110_000, "segment": "important_value"}
    assert calls == 2  # member + program, the grants: as before RFM
    set_now(at(2026, 6, 8))  # the test clock moves on: 91 days after the last order
    assert members.get_member_for_admin(uow, who.member_id)["rfm"]["segment"] == "important_keep"
    shop.refund(order_id, 20_000)  # the first order fully refunded: one order left
    assert members.get_member_for_admin(uow, who.member_id)["rfm"] == \
        {"recency_days": 91, "frequency": 1, "monetary_fen": 90_000, "segment": "general_winback"}


# ---- account deletion ----------------------------------------------------------------------------

CLOSED_PHONE = "13900001111"


def _closed_member(shop: Shop) -> Principal:
    phone_code = f"phone-{CLOSED_PHONE}-{secrets.token_hex(4)}"
    who = shop.member(nickname="注销者", birthday="1990-01-02", phone_code=phone_code)
    shop.order(who.member_id, 12_345)
    shop.coupon(who)
    members.delete_me(shop.uow, who)
    return who


def _tombstone(shop: Shop, member_id: str) -> dict:
    record = shop.uow.tables[member_store.MemberRecord.Meta.table_name][(member_id,)]
    return record


def test_a_closed_account_keeps_nothing_personal(shop: Shop) -> None:
    who = _closed_member(shop)
    tombstone = _tombstone(shop, who.member_id)
    assert tombstone["status"] == {"S": "deleted"}
    personal = {"openid", "nickname", "avatar_url", "birthday", "phone", "referral_code", "referred_by",
                "preferences", "lots", "growth", "checkin_months", "interactions", "pending"}
    assert not personal & set(tombstone)


def test_the_tombstone_holds_only_the_tombstone_attributes(shop: Shop) -> None:
    who = _closed_member(shop)
    assert set(_tombstone(shop, who.member_id)) <= set(member_store.TOMBSTONE)


def test_a_closed_account_closes_its_ledger_at_zero_and_loses_its_coupons(shop: Shop, uow) -> None:
    who = _closed_member(shop)
    entries = shop.ledger(who.member_id)
    assert (entries[0].reason, entries[0].balance_after) == ("account_closed", 0)
    assert sum(e.delta for e in entries) == 0
    assert every(uow, lambda cursor: coupon_store.member_coupons(who.member_id, cursor)) == []
    assert every(uow, lambda cursor: coupon_store.member_claims(who.member_id, cursor)) == []


def test_every_coupon_goes_with_the_account_however_many_pages(shop: Shop, uow) -> None:
    who = shop.member()
    template_id = shop.template()["template_id"]
    for _ in range(30):
        shop.coupon(who, template_id)
    members.delete_me(uow, who)
    assert every(uow, lambda cursor: coupon_store.member_coupons(who.member_id, cursor)) == []


def test_a_closed_account_is_gone_for_the_member_the_merchant_and_the_counter(shop: Shop, uow) -> None:
    who = _closed_member(shop)
    with pytest.raises(NotAMember):
        members.get_me(uow, who)
    with pytest.raises(NotFound):
        members.get_member_for_admin(uow, who.member_id)
    assert members.find_by_phone(uow, CLOSED_PHONE)["items"] == []
    assert shop.stored(who.member_id) is None


def test_the_openid_signs_up_again_as_a_new_member_and_the_old_token_follows(shop: Shop, uow, wechat) -> None:
    who = _closed_member(shop)
    again = members.signup(uow, wechat, Principal(who.openid, None), Profile(nickname="回来了"), None)
    assert again["member_id"] != who.member_id
    assert (again["points"]["balance"], again["growth"]["value"]) == (100, 0)
    old_token_view = members.get_me(uow, who)
    assert (old_token_view["member_id"], old_token_view["nickname"]) == (again["member_id"], "回来了")


def test_the_old_token_reads_the_new_members_ledger_and_wallet(shop: Shop, uow, wechat) -> None:
    who = _closed_member(shop)
    with pytest.raises(NotAMember):
        points.ledger_page(uow, who, limit=10, cursor=None)
    again = members.signup(uow, wechat, Principal(who.openid, None), Profile(), None)
    page = points.ledger_page(uow, who, limit=10, cursor=None)
    assert [(e["reason"], e["entry_id"].split(".")[0]) for e in page["items"]] == \
        [("signup_gift", again["member_id"])]
    assert coupons.wallet(uow, who, "unused", limit=10, cursor=None)["items"] == []


def test_closing_an_account_in_debt_closes_the_ledger_at_zero(shop: Shop, uow) -> None:
    who = shop.member()
    shop.order(who.member_id, 30_000, order_id="o-debt")
    shop.adjust(who.member_id, -400)
    shop.refund("o-debt", 30_000)  # -300
    members.delete_me(uow, who)
    entries = shop.ledger(who.member_id)
    assert [(e.reason, e.delta, e.balance_after) for e in entries[:1]] == [("account_closed", 300, 0)]


def test_the_referral_code_of_a_closed_account_is_freed(shop: Shop, uow, wechat) -> None:
    inviter = shop.member()
    code = shop.view(inviter)["referral_code"]
    members.delete_me(uow, inviter)
    with pytest.raises(ReferralCodeInvalid):
        members.signup(uow, wechat, Principal("o" + secrets.token_hex(8), None), Profile(), code)


def test_a_closed_member_logs_in_as_a_visitor(shop: Shop, uow, wechat, fake_wechat) -> None:
    name = "closed-" + secrets.token_hex(4)
    members.signup(uow, wechat, Principal(fake_wechat.openid_for(name), None), Profile(), None)
    members.delete_me(uow, Principal(fake_wechat.openid_for(name), None))
    answer = members.login(uow, wechat, f"{name}.1")
    assert (answer["is_member"], answer["member"]) == (False, None)
