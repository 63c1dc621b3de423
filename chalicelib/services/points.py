"""Points use cases: the member's ledger, the merchant's manual adjustments and interaction events."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chalicelib import clock
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import ACCOUNT_CLOSED, Member, ledger_entry_view
from chalicelib.domain.program import Program
from chalicelib.domain.tokens import Principal
from chalicelib.errors import NotFound, ValidationError
from chalicelib.services.common import existing_member_id, fingerprint, live_member_id
from chalicelib.services.figures import save_member
from chalicelib.services.runner import Command, Decision, run
from chalicelib.store import ledger, members, settings
from chalicelib.store.idempotency import RequestKey
from chalicelib.store.parts import Get, UnitOfWork


def ledger_page(uow: UnitOfWork, principal: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The member's ledger, newest first (a cursor of another member's ledger is a ValidationError).
    The first page of a token that names its member is one Query: closing an account writes its
    last entry (`account_closed`), so a closed account shows at the top of that page. Any other
    page first checks that the token's member is live and still its openid's (one read)."""
    if cursor is None and principal.member_id is not None:
        entries = uow.query(ledger.page(principal.member_id, limit, None)).items
        if entries and entries[0].reason != ACCOUNT_CLOSED:
            return _page(entries, limit)
    return _page(uow.query(ledger.page(live_member_id(uow, principal), limit, cursor)).items, limit)


def ledger_for_admin(uow: UnitOfWork, member_id: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A member's ledger for the merchant, the same items the member sees (NotFound when the member
    is closed or unknown): one read, one Query."""
    return _page(uow.query(ledger.page(existing_member_id(uow, member_id), limit, cursor)).items, limit)


def _page(entries: list[Any], limit: int) -> dict[str, Any]:
    return {"items": [ledger_entry_view(e) for e in entries[:limit]],
            "next_cursor": ledger.cursor_after(entries, limit)}


Change = Callable[[Member, Program, LedgerPlan], tuple[Member, Any]]


def _change_once(uow: UnitOfWork, member_id: str, key: str, digest: str, change: Change, *,
                 interaction: bool = False) -> tuple[int, Any]:
    """An idempotent change of one member: the change gets the member, the program and a ledger
    plan settled at now, and returns the member after it and the answer."""
    def decide(read: dict[str, Any]) -> Decision[Any]:
        member: Member | None = read["member"]
        if member is None:
            raise NotFound("会员不存在")
        program: Program = read["program"]
        now = clock.now()
        plan = LedgerPlan(member, now=now, keep_years=program.keep_years)
        after, answer = change(member, program, plan)
        return Decision(answer, save_member(member, after, program, now, plan=plan,
                                            active_on=clock.business_date(now) if interaction else None))

    reads: dict[str, Get[Any, Any]] = {"member": members.member(member_id), "program": settings.program()}
    return run(uow, Command(reads, decide, key=RequestKey(key), fingerprint=digest))


def adjust_points(uow: UnitOfWork, member_id: str, *, request_id: str, delta: int, reason: str,
                  actor: str) -> tuple[int, Any]:
    """A manual adjustment by the merchant, audited with the admin key's identity and idempotent
    by request_id: one read and one transaction. A debit below zero is NegativeBalance."""
    def change(member: Member, program: Program, plan: LedgerPlan) -> tuple[Member, Any]:
        entry = plan.withdraw(-delta, "admin_adjust", note=reason, actor=actor) if delta < 0 else \
            plan.add(delta, "admin_adjust", note=reason, actor=actor)
        return member, {"balance": plan.points.balance, "entry": ledger_entry_view(entry)}

    digest = fingerprint("POST /v1/admin/members/{member_id}/points",
                         {"member_id": member_id, "delta": delta, "reason": reason})
    return _change_once(uow, member_id, f"admin:{actor}:{request_id}", digest, change)


def record_event(uow: UnitOfWork, member_id: str, *, request_id: str, kind: str, ref: str | None,
                 actor: str) -> tuple[int, Any]:
    """Interaction points (晒单, review, share …) within the type's daily cap on the Shanghai date;
    over the cap the event is still counted, with 0 points. Idempotent by request_id."""
    def change(member: Member, program: Program, plan: LedgerPlan) -> tuple[Member, Any]:
        rule = program.interaction(kind)
        if rule is None:
            raise ValidationError(f"type 应为积分规则中的互动类型之一："
                                  f"{'、'.join(r.type for r in program.interactions) or '无'}", "type")
        today = clock.business_date(plan.now).isoformat()
        counts = dict(member.interactions.get(today, {}))
        awarded = rule.points if counts.get(kind, 0) < rule.daily_cap else 0
        counts[kind] = counts.get(kind, 0) + 1
        if awarded:
            plan.add(awarded, "interaction", ref=ref, note=kind)
        after = replace(member, interactions={today: counts})
        return after, {"points_awarded": awarded, "balance": plan.points.balance}

    digest = fingerprint("POST /v1/admin/members/{member_id}/events",
                         {"member_id": member_id, "type": kind, "ref": ref})
    return _change_once(uow, member_id, f"admin:{actor}:{request_id}", digest, change, interaction=True)
