"""What importing one member means in the app's terms: the member as signup would have made them
(no openid yet), their imported points as ledger entries in the lots of their earning years, and
what they add to the store-wide figures (§7).

- Each earning year's points are one ledger entry, reason `import`, `ref` the year, written at the
  import instant; the lot is the earning year's, so the points expire when that year's do.
- In the figures the member is new on the import date (Shanghai) and the points are issued that
  day (`points.issued`, raising `outstanding`); each year's points are added to that year's lot
  counter, so they count as `expired` at the lot's expiry instant. The §7 identity holds: over any
  range, the change of `outstanding + pending` equals `issued - spent - expired - clawed_back -
  forfeited`, as for any credit. Tier counts follow the growth. An import is not an activity (the
  member is not `active` for it) and brings no orders.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from admin.rows import ImportRow
from chalicelib.clock import business_date, shanghai_start_of
from chalicelib.domain.analytics import Tally, lot_changes, place_member, points_flow
from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.points import Points, apply_delta
from chalicelib.domain.program import Program

IMPORT = "import"  # the ledger reason of imported points


@dataclass(frozen=True)
class Arrival:
    """One imported member: the member as stored, their ledger entries, their figures, the import's instant."""

    member: Member
    entries: list[LedgerEntry]
    tally: Tally
    at: datetime


def arrival(row: ImportRow, member_id: str, referral_code: str, program: Program, now: datetime) -> Arrival:
    """The member of an import row, joining at `now` (their `joined_at` is the old program's date)."""
    today = business_date(now)
    joined_at = shanghai_start_of(row.joined) if row.joined is not None else now
    member = Member(member_id=member_id, openid="", joined_at=joined_at, nickname=row.name, gender="unknown",
                    birthday=row.birthday.isoformat() if row.birthday else None, phone=row.phone,
                    referral_code=referral_code, growth=dict(row.growth), tier_code=row.tier.code)
    points, flows = Points(), Tally()
    entries: list[LedgerEntry] = []
    for year in sorted(row.points):
        points = apply_delta(points, row.points[year], year)
        entries.append(LedgerEntry(member_id=member_id, seq=len(entries) + 1, delta=row.points[year],
                                   balance_after=points.balance, reason=IMPORT, created_at=now, ref=str(year)))
        flows.merge(points_flow(today, row.points[year], IMPORT))
    settled, placed = place_member(member, replace(member, points=points, seq=len(entries)), program, today)
    tally = Tally(flows.days, lot_changes(Points(), points, {}, program.keep_years)).merge(placed)
    return Arrival(settled, entries, tally.count(today, new_members=1, members=1), now)
