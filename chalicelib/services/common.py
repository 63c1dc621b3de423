"""What the member-facing use cases share: fingerprints of requests, and finding the member behind
a token, in one round trip when the token names the member."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from chalicelib import clock
from chalicelib.domain.member import Member, member_tier
from chalicelib.domain.program import Program
from chalicelib.domain.tokens import Principal
from chalicelib.errors import AppError, NotAMember, NotFound
from chalicelib.services.runner import Command, run
from chalicelib.store import members, settings
from chalicelib.store.parts import UnitOfWork

R = TypeVar("R")


class TokenBehind(Exception):
    """The member a token names is gone, or is not its openid's any more (a re-signup)."""


def fingerprint(route: str, payload: Any) -> str:
    """A stable digest of what a request asked for, to tell a replay from a reused request_id."""
    canonical = json.dumps([route, payload], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def refuse(refusal: AppError | None) -> None:
    """Raise a domain rule's refusal (`Template.refusal`, `Reward.refusal`), if it gave one."""
    if refusal is not None:
        raise refusal


def _belongs(member: Member | None, principal: Principal) -> bool:
    return member is not None and member.openid == principal.openid


def member_id_of(uow: UnitOfWork, principal: Principal) -> str:
    """The member the token's openid belongs to now (NotAMember for a visitor)."""
    member_id: str | None = uow.read(member_id=members.member_of_openid(principal.openid))["member_id"]
    if member_id is None:
        raise NotAMember()
    return member_id


def resolve_member(uow: UnitOfWork, principal: Principal) -> tuple[Member, Program]:
    """The active member behind a token, and the program: one round trip when the token names the
    member, two when it was minted before signup (or before a re-signup)."""
    member_id = principal.member_id
    for _ in range(2):
        if member_id is not None:
            read = uow.read(member=members.member(member_id), program=settings.program())
            if _belongs(read["member"], principal):
                return read["member"], read["program"]
        member_id = member_id_of(uow, principal)
    raise NotAMember()


def live_member_id(uow: UnitOfWork, principal: Principal) -> str:
    """The active member behind a token, checked on every call (every page of a list): live, and
    still the token's openid's (NotAMember otherwise). One read."""
    return resolve_member(uow, principal)[0].member_id


def existing_member_id(uow: UnitOfWork, member_id: str) -> str:
    """A member id the merchant named, if it is an active member (NotFound when closed or unknown)."""
    if uow.read(member=members.member(member_id))["member"] is None:
        raise NotFound("会员不存在")
    return member_id


def tier_of(uow: UnitOfWork, principal: Principal | None) -> str | None:
    """The tier code of the member behind a token, or None for a visitor or no token."""
    if principal is None:
        return None
    try:
        member, program = resolve_member(uow, principal)
    except NotAMember:
        return None
    return member_tier(member, program, clock.now()).code


def run_for_member(uow: UnitOfWork, principal: Principal, command_for: Callable[[str], Command[R]]
                   ) -> tuple[int, R]:
    """Run a member's command (whose reads include `member`) for the member the token names, in one
    read; if that member is gone or no longer the openid's, for the member the openid has now."""
    if principal.member_id:
        try:
            return run(uow, _checked(command_for(principal.member_id), principal, TokenBehind()))
        except TokenBehind:
            pass
    return run(uow, _checked(command_for(member_id_of(uow, principal)), principal, NotAMember()))


def _checked(command: Command[R], principal: Principal, error: Exception) -> Command[R]:
    def check(read: dict[str, Any]) -> None:
        if not _belongs(read["member"], principal):
            raise error

    return replace(command, check=check)
