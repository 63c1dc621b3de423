"""Points use cases: the member's ledger, the merchant's manual adjustments and interaction events."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member, ledger_entry_view
from chalicelib.domain.tokens import Principal
from chalicelib.errors import NegativeBalance, ValidationError
from chalicelib.services.common import change_member_once, fingerprint, resolve_member
from chalicelib.store.repository import MemberUpdate, store


def ledger_page(principal: Principal, *, limit: int, before_seq: int | None) -> dict[str, Any]:
    """The member's ledger, newest first. With a token that names the member this is one Query:
    a closed account is recognised by its newest entry (`account_closed`), and then the token is
    resolved again, as it may belong to a new member of the same openid by now."""
    repo = store()
    if principal.member_id:
        entries, more = repo.ledger_page(principal.member_id, limit=limit, before_seq=before_seq)
        closed = before_seq is None and entries and entries[0].reason == "account_closed"
        if not closed:
            return _page(entries, more)
    member, _ = resolve_member(repo, principal)
    entries, more = repo.ledger_page(member.member_id, limit=limit, before_seq=before_seq)
    return _page(entries, more)


def _page(entries: list[Any], more: bool) -> dict[str, Any]:
    return {"items": [ledger_entry_view(e) for e in entries],
            "next_cursor": str(entries[-1].seq) if more and entries else None}


def adjust_points(member_id: str, *, request_id: str, delta: int, reason: str, actor: str) -> tuple[int, Any]:
    """A manual adjustment by the merchant, audited with the admin key's identity and idempotent
    by request_id: one read and one transaction. Returns (status, body)."""
    def change(member: Member, program: dict[str, Any], now: datetime) -> tuple[MemberUpdate, Any]:
        plan = LedgerPlan(member, now=now, keep_years=program["points_expiry"]["keep_years"])
        if delta < 0 and plan.points.balance + delta < 0:
            raise NegativeBalance(plan.points.balance, delta)
        entry = plan.add(delta, "admin_adjust", note=reason, actor=actor)
        return MemberUpdate(member, plan), {"balance": plan.points.balance, "entry": ledger_entry_view(entry)}

    return change_member_once(member_id, f"admin:{actor}:{request_id}",
                              fingerprint("POST /v1/admin/members/{member_id}/points",
                                          {"member_id": member_id, "delta": delta, "reason": reason}), change)


def record_event(member_id: str, *, request_id: str, kind: str, ref: str | None, actor: str) -> tuple[int, Any]:
    """Interaction points (晒单, review, share …) within the type's daily cap on the Shanghai date;
    over the cap the event is still counted, with 0 points. Idempotent by request_id."""
    def change(member: Member, program: dict[str, Any], now: datetime) -> tuple[MemberUpdate, Any]:
        rule = next((r for r in program["interactions"] if r["type"] == kind), None)
        if rule is None:
            raise ValidationError(f"type must be one of the program's interactions: "
                                  f"{', '.join(r['type'] for r in program['interactions']) or 'none'}")
        today = clock.business_date(now).isoformat()
        counts = dict(member.interactions.get(today, {}))
        awarded = rule["points"] if counts.get(kind, 0) < rule["daily_cap"] else 0
        counts[kind] = counts.get(kind, 0) + 1
        plan = LedgerPlan(member, now=now, keep_years=program["points_expiry"]["keep_years"])
        if awarded:
            plan.add(awarded, "interaction", ref=ref, note=kind)
        return (MemberUpdate(member, plan, interactions={today: counts}),
                {"points_awarded": awarded, "balance": plan.points.balance})

    return change_member_once(member_id, f"admin:{actor}:{request_id}",
                              fingerprint("POST /v1/admin/members/{member_id}/events",
                                          {"member_id": member_id, "type": kind, "ref": ref}), change)
