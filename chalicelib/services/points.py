"""Points use cases: the member's ledger and the merchant's manual adjustment."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.ledger import plan_change
from chalicelib.domain.member import ledger_entry_view
from chalicelib.domain.points import split_expired
from chalicelib.domain.tokens import Principal
from chalicelib.errors import NegativeBalance, NotFound, StoreUnavailable
from chalicelib.services.common import fingerprint, replay, resolve_member, retrying
from chalicelib.store.repository import AnswerToStore, IdempotencyRecordExists, store


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
    repo = store()
    key = f"admin:{actor}:{request_id}"
    digest = fingerprint("POST /v1/admin/members/{member_id}/points",
                         {"member_id": member_id, "delta": delta, "reason": reason})

    def attempt() -> tuple[int, Any]:
        member, program, stored = repo.member_with_answer(member_id, key)
        if stored:
            return replay(stored, digest)
        if member is None:
            raise NotFound("会员不存在")
        now = clock.now()
        keep_years = program["points_expiry"]["keep_years"]
        balance = split_expired(member.points, now, keep_years)[0].balance
        if delta < 0 and balance + delta < 0:
            raise NegativeBalance(balance, delta)
        change = plan_change(member, delta=delta, reason="admin_adjust", note=reason, actor=actor,
                             now=now, keep_years=keep_years)
        body = {"balance": change.points.balance, "entry": ledger_entry_view(change.entries[-1])}
        try:
            repo.commit_points_change(member, change, answer=AnswerToStore(key, digest, 201, body))
        except IdempotencyRecordExists:
            stored_now = repo.stored_answer(key)
            if stored_now is None:
                raise StoreUnavailable() from None
            return replay(stored_now, digest)
        return 201, body

    return retrying(attempt)
