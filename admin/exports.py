"""`python -m admin export members|ledger|liability`: CSV written row by row while the store is
read page by page, so memory holds a page, never the store.

- `members`: every active member (a Scan of the members table, so also members missing from the
  sparse indexes), with points, tier and growth as they stand now.
- `ledger`: every ledger entry (a Scan; in no particular order, `member_id` and `seq` sort it).
- `liability`: the points outstanding by earning year (members holding points, read from
  `expiry-index`, 16 shards page by page), each year's expiry instant and its value at the
  program's `points_redemption.points_per_yuan` (`value_fen` = points x 100 // points_per_yuan),
  then a `total` row. Pending order points are listed by the year they will mature in; they are not
  valued (not spendable yet). Debts (negative balances after a clawback) are not in it.
"""
from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from admin import records
from admin.progress import Progress
from chalicelib.clock import render
from chalicelib.domain.analytics import by_earning_year
from chalicelib.domain.member import Member, member_view, points_at
from chalicelib.domain.points import Points, lot_expires_at
from chalicelib.domain.program import Program
from chalicelib.store import ledger, settings
from chalicelib.store.base import all_shards
from chalicelib.store.parts import UnitOfWork

MEMBER_COLUMNS = ("member_id", "phone", "name", "gender", "birthday", "joined_at", "tier", "growth", "points",
                  "pending", "points_by_year", "growth_by_year", "orders", "referral_code")
LEDGER_COLUMNS = ("entry_id", "member_id", "seq", "created_at", "delta", "balance_after", "reason", "ref", "note",
                  "actor")
LIABILITY_COLUMNS = ("earning_year", "expires_at", "members", "points", "value_fen", "value_yuan", "pending")


def export_members(uow: UnitOfWork, client: Any, out: TextIO, now: datetime, progress: Progress) -> int:
    """Write every active member; return how many."""
    program = _program(uow)
    writer = csv.writer(out)
    writer.writerow(MEMBER_COLUMNS)
    for member in records.active_members(client):
        view = member_view(member, program, now)
        live = points_at(member.points, now, program.keep_years)
        writer.writerow([member.member_id, member.phone or "", member.nickname or "", view["gender"],
                         member.birthday or "", view["joined_at"], view["tier"]["code"], view["growth"]["value"],
                         view["points"]["balance"], view["points"]["pending"], _by_year(live.lots),
                         _by_year(member.growth), member.orders_count, member.referral_code or ""])
        progress.advance()
    return progress.done


def export_ledger(client: Any, out: TextIO, progress: Progress) -> int:
    """Write every ledger entry; return how many."""
    writer = csv.writer(out)
    writer.writerow(LEDGER_COLUMNS)
    for record in records.ledger_entries(client):
        entry = ledger.to_entry(record)
        writer.writerow([entry.entry_id, entry.member_id, entry.seq, render(entry.created_at), entry.delta,
                         entry.balance_after, entry.reason, entry.ref or "", entry.note or "", entry.actor or ""])
        progress.advance()
    return progress.done


def export_liability(uow: UnitOfWork, out: TextIO, now: datetime, progress: Progress) -> dict[str, int]:
    """Write the points outstanding (held at checkout included) by earning year and their total; return
    the total's figures."""
    program = _program(uow)
    points: Counter[int] = Counter()
    pending: Counter[int] = Counter()
    holders: Counter[int] = Counter()
    for member in _holding_points(uow):
        live = points_at(member.points, now, program.keep_years)
        lots = Counter({year: amount for year, amount in live.lots.items() if amount > 0})
        for hold in live.holds:  # held at checkout: still the member's until spent (§7)
            lots.update(hold.lots)
        points.update(lots)
        matured_later = by_earning_year(Points(debt=live.debt, pending=live.pending), program.keep_years)
        pending.update(matured_later)
        holders.update(set(lots) | set(matured_later))
        progress.advance()
    writer = csv.writer(out)
    writer.writerow(LIABILITY_COLUMNS)
    ratio = program.points_redemption.points_per_yuan
    for year in sorted(set(points) | set(pending)):
        writer.writerow([year, render(lot_expires_at(year, program.keep_years)), holders[year],
                         *_valued(points[year], ratio), pending[year]])
    total = {"members": progress.done, "points": sum(points.values()), "pending": sum(pending.values())}
    writer.writerow(["total", "", total["members"], *_valued(total["points"], ratio), total["pending"]])
    return total


def _holding_points(uow: UnitOfWork) -> Iterator[Member]:
    """Every member holding points or pending points, shard by shard, page by page."""
    for shard in all_shards():
        cursor: str | None = None
        while True:
            page = uow.query(records.holding_points(shard, cursor))
            yield from (member for member in page.items if member is not None)
            cursor = page.cursor
            if cursor is None:
                break


def _valued(points: int, points_per_yuan: int) -> tuple[int, int, str]:
    """(points, their value in fen, the same in yuan as `12.34`)."""
    fen = points * 100 // points_per_yuan
    return points, fen, f"{fen // 100}.{fen % 100:02d}"


def _by_year(amounts: dict[int, int]) -> str:
    """`2025:120;2026:80`: the import file's form."""
    return ";".join(f"{year}:{amount}" for year, amount in sorted(amounts.items()) if amount)


def _program(uow: UnitOfWork) -> Program:
    program: Program = uow.read(program=settings.program())["program"]
    return program

