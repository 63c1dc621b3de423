"""Member use cases: login, signup, profile, account deletion, and the merchant's member views."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.config import settings as app_settings
from chalicelib.domain.analytics import place_member
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import ACCOUNT_CLOSED, Member, imported_member_id, member_view, new_referral_code
from chalicelib.domain.program import Program
from chalicelib.domain.rfm import rfm_at
from chalicelib.domain.tokens import Principal, issue_token
from chalicelib.errors import AlreadyMember, BirthdayLocked, NotAMember, NotFound, ReferralCodeInvalid
from chalicelib.services.common import resolve_member
from chalicelib.services.coupons import signup_gift
from chalicelib.services.figures import figures
from chalicelib.services.runner import Command, Decision, commit, run
from chalicelib.store import coupons, ledger, members, messaging, rewards, settings
from chalicelib.store.parts import Get, UnitOfWork, every
from chalicelib.wechat.miniprogram import WeChatGateway

NOTES_IN_CLOSE = 90  # with the close's own parts, within DynamoDB's 100 items per transaction
NOTES_PER_BATCH = 100


@dataclass(frozen=True)
class Profile:
    """Profile fields sent by the member; `phone_code` is exchanged for the number."""

    nickname: str | None = None
    avatar_url: str | None = None
    gender: str | None = None
    birthday: str | None = None
    phone_code: str | None = None
    preferences: dict[str, Any] | None = None


def login(uow: UnitOfWork, wechat: WeChatGateway, code: str) -> dict[str, Any]:
    """Exchange a wx.login code for our token; say whether the openid is a member."""
    session = wechat.code_to_session(code)
    now = clock.now()
    member_id = uow.update(members.record_login(session.openid, session.session_key, now), lambda r: r.member_id)
    read = uow.read(member=members.member(member_id), program=settings.program()) if member_id else {}
    member: Member | None = read.get("member")
    conf = app_settings()
    token = issue_token(conf.token_secret, Principal(session.openid, member.member_id if member else None),
                        now=int(now.timestamp()), ttl=conf.token_ttl_seconds)
    return {"token": token, "expires_in": conf.token_ttl_seconds, "is_member": member is not None,
            "member": member_view(member, read["program"], now) if member else None}


def signup(uow: UnitOfWork, wechat: WeChatGateway, principal: Principal, profile: Profile,
           referral_code: str | None) -> dict[str, Any]:
    """Make the openid a member with the signup gift: one read and one transaction (one more read
    when the gift includes coupons, whose templates the program names). With a phone, the member
    the admin CLI imported with it, if it still waits for a WeChat account, becomes the openid's
    instead: the transaction checks that none waits, and when one does, a read and a transaction
    more claim it (`_claimed`)."""
    reads: dict[str, Get[Any, Any]] = {"member_id": members.member_of_openid(principal.openid),
                                       "program": settings.program()}
    if referral_code:
        reads["referrer"] = members.referrer(referral_code)
    if profile.phone_code:
        reads.update(token=settings.wechat_token(), import_key=settings.import_key())
    first = uow.read(**reads)
    _check_signup(first, referral_code)
    phone = imported_id = None
    if profile.phone_code:
        wechat.prime_token(first["token"])
        phone = wechat.phone_number(profile.phone_code)
        imported_id = imported_member_id(first["import_key"], phone) if first["import_key"] else None
    command_reads = {name: get for name, get in reads.items() if name not in ("token", "import_key")}
    if imported_id:
        command_reads["imported"] = members.member(imported_id)  # read once the check below fails

    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        _check_signup(read, referral_code)
        now, program = clock.now(), read["program"]
        imported: Member | None = read.get("imported")
        if imported is not None and not imported.openid:
            return _claimed(imported, principal.openid, profile, program, now)
        member = Member(member_id="m" + secrets.token_hex(10), openid=principal.openid, joined_at=now,
                        nickname=profile.nickname, avatar_url=profile.avatar_url, gender=profile.gender or "unknown",
                        birthday=profile.birthday, phone=phone, referred_by=read.get("referrer"),
                        preferences=profile.preferences, referral_code=new_referral_code(),
                        tier_code=program.base_tier.code)
        plan = LedgerPlan(member, now=now, keep_years=program.keep_years)
        if program.signup_gift.points:
            plan.add(program.signup_gift.points, "signup_gift")
        today = clock.business_date(now)
        member, placed = place_member(member, plan.settled(member), program, today)
        writes = members.create(member, plan.entries, program.base_tier.code)
        writes += figures(member.member_id, plan.tally.merge(placed).count(today, new_members=1, members=1))
        writes += signup_gift(uow, member, program, now)
        if imported_id:
            writes.append(members.no_import_waiting(imported_id))
        return Decision(member_view(member, program, now), writes)

    return run(uow, Command(command_reads, decide, first=first))[1]


def _claimed(member: Member, openid: str, profile: Profile, program: Program, now: datetime
             ) -> Decision[dict[str, Any]]:
    """An imported member made the openid's, with the profile fields sent (a birthday only if none
    was imported). It joined when it was imported: no signup gift, no referral, no new member in the
    figures."""
    sent = {name: getattr(profile, name) for name in ("nickname", "avatar_url", "gender", "preferences")}
    if not member.birthday:
        sent["birthday"] = profile.birthday
    changes = {name: value for name, value in sent.items() if value is not None}
    claimed = replace(member, openid=openid, version=member.version + 1, **changes)
    return Decision(member_view(claimed, program, now), members.claim(member, openid, changes, now))


def _check_signup(read: dict[str, Any], referral_code: str | None) -> None:
    if read["member_id"]:
        raise AlreadyMember()
    if referral_code and not read.get("referrer"):
        raise ReferralCodeInvalid()


def get_me(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
    """The member behind the token."""
    member, program = resolve_member(uow, principal)
    return member_view(member, program, clock.now())


def update_me(uow: UnitOfWork, wechat: WeChatGateway, principal: Principal, profile: Profile,
              fields: set[str]) -> dict[str, Any]:
    """Change the profile fields present in the request; the birthday can be set only once."""
    member, program = resolve_member(uow, principal)
    changes: dict[str, Any] = {name: getattr(profile, name) for name in
                               ("nickname", "avatar_url", "gender", "preferences") if name in fields}
    setting_birthday = "birthday" in fields and profile.birthday != member.birthday
    if setting_birthday:
        if member.birthday is not None:
            raise BirthdayLocked()
        changes["birthday"] = profile.birthday
    if profile.phone_code:
        changes["phone"] = wechat.phone_number(profile.phone_code)
    if not changes:
        return member_view(member, program, clock.now())
    error = BirthdayLocked() if setting_birthday else NotAMember()
    updated = uow.update(members.profile_update(member.member_id, changes, birthday_unset=setting_birthday,
                                                error=error), members.to_member)
    if updated is None:
        raise NotAMember()
    return member_view(updated, program, clock.now())


def delete_me(uow: UnitOfWork, principal: Principal) -> None:
    """Erase the member's personal data (PIPL): the member becomes a tombstone, the anonymised
    ledger closes at zero and loses its free-text notes, the openid (with its session_key) and the
    referral code are freed, the coupons removed, the gifts' shipping addresses erased. The notes go
    in the closing transaction when few (`NOTES_IN_CLOSE`), the rest right after it, a transaction
    per hundred."""
    member, program = resolve_member(uow, principal)
    noted = {seq for seq, has_note in every(uow, lambda cursor: ledger.noted(member.member_id, cursor)) if has_note}

    def decide(read: dict[str, Any]) -> Decision[list[int]]:
        current: Member | None = read["member"]
        if current is None or current.openid != principal.openid:
            raise NotAMember()
        now = clock.now()
        plan = LedgerPlan(current, now=now, keep_years=read["program"].keep_years)
        plan.forfeit_pending()
        plan.release_holds()
        plan.add(-plan.points.balance, ACCOUNT_CLOSED)
        tally = plan.tally.count(clock.business_date(now), closed_members=1, members=-1)
        if current.tier_place:
            tally.tiers[current.tier_place] -= 1
        erased = sorted(noted | set(range(member.seq + 1, current.seq + 1)))  # + entries written since
        closing = [ledger.erase_note(current.member_id, seq) for seq in erased[:NOTES_IN_CLOSE]]
        return Decision(erased[NOTES_IN_CLOSE:], [*members.close(current, plan.entries, now), *closing,
                                                  *figures(current.member_id, tally)])

    reads: dict[str, Get[Any, Any]] = {"member": members.member(member.member_id), "program": settings.program()}
    rest = run(uow, Command(reads, decide, first={"member": member, "program": program}))[1]
    for start in range(0, len(rest), NOTES_PER_BATCH):
        commit(uow, [ledger.erase_note(member.member_id, seq) for seq in rest[start:start + NOTES_PER_BATCH]])
    coupons.remove_member_coupons(uow, member.member_id)
    rewards.erase_addresses(uow, member.member_id)


def admin_view(uow: UnitOfWork, member: Member, program: Program) -> dict[str, Any]:
    """What the merchant sees: the Member plus openid, the full phone, the subscribe-message sends
    left per template (granted to the openid, so a visitor's grants count too) and the RFM at this
    instant (from the orders kept on the member: no read of its own)."""
    now = clock.now()
    view = member_view(member, program, now)
    grants = dict(every(uow, lambda cursor: messaging.grants(member.openid, cursor))) if member.openid else {}
    rfm = rfm_at(member.order_days, program.rfm, clock.business_date(now))
    view.update({"openid": member.openid or None, "phone": member.phone, "subscriptions": grants, "rfm": rfm.view()})
    return view


def get_member_for_admin(uow: UnitOfWork, member_id: str) -> dict[str, Any]:
    """A member by id for the merchant; deleted or unknown is 404."""
    read = uow.read(member=members.member(member_id), program=settings.program())
    if read["member"] is None:
        raise NotFound("会员不存在")
    return admin_view(uow, read["member"], read["program"])


def find_by_phone(uow: UnitOfWork, phone: str) -> dict[str, Any]:
    """Members holding a phone number, for the look-up at the store counter."""
    found = [m for m in uow.query(members.by_phone(phone)).items if m is not None]
    program: Program | None = uow.read(program=settings.program())["program"] if found else None
    return {"items": [admin_view(uow, m, program) for m in found if program]}
