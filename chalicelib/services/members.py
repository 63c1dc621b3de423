"""Member use cases: login, signup, profile, account deletion, and the merchant's member views."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

from chalicelib import clock
from chalicelib.config import settings
from chalicelib.domain.ledger import LedgerPlan, plan_change
from chalicelib.domain.member import Member, member_view, new_referral_code
from chalicelib.domain.tokens import Principal, issue_token
from chalicelib.errors import (
    AlreadyMember,
    BirthdayLocked,
    NotAMember,
    NotFound,
    ReferralCodeInvalid,
)
from chalicelib.services.common import resolve_member, retrying
from chalicelib.services.coupons import gift_coupons
from chalicelib.store.base import ReferralCodeTaken, VersionConflict
from chalicelib.store.repository import OpenidContext, store
from chalicelib.wechat.miniprogram import wechat



@dataclass(frozen=True)
class Profile:
    """Profile fields sent by the member; `phone_code` is exchanged for the number."""

    nickname: str | None = None
    avatar_url: str | None = None
    gender: str | None = None
    birthday: str | None = None
    phone_code: str | None = None
    preferences: dict[str, Any] | None = None


def login(code: str) -> dict[str, Any]:
    """Exchange a wx.login code for our token; say whether the openid is a member."""
    session = wechat().code_to_session(code)
    now = clock.now()
    member_id = store().record_login(session.openid, session.session_key, now)
    member, program = store().member_with_program(member_id) if member_id else (None, None)
    conf = settings()
    token = issue_token(conf.token_secret, Principal(session.openid, member.member_id if member else None),
                        now=int(now.timestamp()), ttl=conf.token_ttl_seconds)
    return {
        "token": token,
        "expires_in": conf.token_ttl_seconds,
        "is_member": member is not None,
        "member": member_view(member, program, now) if member and program else None,
    }


def signup(principal: Principal, profile: Profile, referral_code: str | None) -> dict[str, Any]:
    """Make the openid a member with the signup gift: one read and one transaction (one more read
    when the gift includes coupons, whose templates the program names)."""
    repo = store()
    context = repo.openid_context(principal.openid, referral_code=referral_code,
                                  with_wechat_token=profile.phone_code is not None)
    if context.member_id:
        raise AlreadyMember()
    if referral_code and not context.referrer_id:
        raise ReferralCodeInvalid()
    phone = None
    if profile.phone_code:
        wechat().prime_token(context.wechat_token)
        phone = wechat().phone_number(profile.phone_code)
    first_read: OpenidContext | None = context

    def attempt() -> dict[str, Any]:
        nonlocal first_read
        current = first_read or repo.openid_context(principal.openid, referral_code=referral_code)
        first_read = None  # a retry reads again
        if current.member_id:
            raise AlreadyMember()
        now = clock.now()
        program = current.program
        member = Member(
            member_id="m" + secrets.token_hex(10), openid=principal.openid, joined_at=now,
            nickname=profile.nickname, avatar_url=profile.avatar_url, gender=profile.gender or "unknown",
            birthday=profile.birthday, phone=phone, referred_by=current.referrer_id,
            preferences=profile.preferences, referral_code=new_referral_code(),
        )
        entries = []
        if program["signup_gift"]["points"]:
            plan = plan_change(member, delta=program["signup_gift"]["points"], reason="signup_gift", now=now,
                               keep_years=program["points_expiry"]["keep_years"])
            member = replace(member, points=plan.points, seq=plan.seq)
            entries = plan.entries
        try:
            repo.create_member(member, entries, program["tiers"][0]["code"],
                               issued=gift_coupons(member.member_id, program, now))
        except ReferralCodeTaken:
            raise VersionConflict() from None  # draw another code
        return member_view(member, program, now)

    return retrying(attempt)


def get_me(principal: Principal) -> dict[str, Any]:
    """The member behind the token."""
    member, program = resolve_member(store(), principal)
    return member_view(member, program, clock.now())


def update_me(principal: Principal, profile: Profile, fields: set[str]) -> dict[str, Any]:
    """Change the profile fields present in the request; the birthday can be set only once."""
    member, program = resolve_member(store(), principal)
    changes: dict[str, Any] = {name: getattr(profile, name) for name in
                               ("nickname", "avatar_url", "gender", "preferences") if name in fields}
    setting_birthday = False
    if "birthday" in fields and profile.birthday != member.birthday:
        if member.birthday is not None:
            raise BirthdayLocked()
        changes["birthday"] = profile.birthday
        setting_birthday = True
    if profile.phone_code:
        changes["phone"] = wechat().phone_number(profile.phone_code)
    if not changes:
        return member_view(member, program, clock.now())
    try:
        updated = store().update_profile(member.member_id, changes, birthday_unset=setting_birthday)
    except VersionConflict:
        if setting_birthday:
            raise BirthdayLocked() from None
        raise NotAMember() from None
    return member_view(updated, program, clock.now())


def delete_me(principal: Principal) -> None:
    """Erase the member's personal data (PIPL); the anonymised ledger closes at zero."""
    def close() -> None:
        member, program = resolve_member(store(), principal)
        now = clock.now()
        plan = LedgerPlan(member, now=now, keep_years=program["points_expiry"]["keep_years"])
        plan.add(-plan.points.balance, "account_closed")
        store().close_member(member, plan, now)
        store().delete_coupons(member.member_id)

    retrying(close)


def admin_view(member: Member, program: dict[str, Any]) -> dict[str, Any]:
    """What the merchant sees: the Member plus openid, the full phone and the subscribe-message
    sends left per template (granted to the openid, so a visitor's grants count too)."""
    view = member_view(member, program, clock.now())
    subscriptions = store().subscriptions(member.openid) if member.openid else {}
    view.update({"openid": member.openid, "phone": member.phone, "subscriptions": subscriptions})
    return view


def get_member_for_admin(member_id: str) -> dict[str, Any]:
    """A member by id for the merchant; deleted or unknown is 404."""
    member, program = store().member_with_program(member_id)
    if member is None:
        raise NotFound("会员不存在")
    return admin_view(member, program)


def find_by_phone(phone: str) -> dict[str, Any]:
    """Members holding a phone number, for the look-up at the store counter."""
    members = store().members_by_phone(phone)
    program = store().program() if members else None
    return {"items": [admin_view(m, program) for m in members if program]}
