"""The members' history, part of the members aggregate: ledger entries and tier changes. Both are
written only beside the member item they change (`members.save`), never on their own.

| access pattern                  | table / index                    | call                            |
| ------------------------------- | -------------------------------- | ------------------------------- |
| a member's ledger, newest first | ledger (member_id, seq desc)     | Query                           |
| a member's tier changes         | tier_changes (member_id, change) | Query                           |
| a new entry / change            | ledger, tier_changes             | Put in the member's transaction |
| a member's entries with a note  | ledger (member_id, seq)          | Query (account deletion)        |
| erase an entry's note           | ledger                           | Update (account deletion)       |

Entries are immutable but for one change: account deletion erases their free-text `note`.
"""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.domain.member import LedgerEntry
from chalicelib.domain.tiers import TierChange
from chalicelib.store.base import TableMeta
from chalicelib.store.parts import Put, Query, Update, absent, assign, encode_cursor, eq

TIER_CHANGES_PAGE = 100
NOTES_PAGE = 100


class LedgerRecord(Model):
    """One immutable points change; `seq` counts up per member, so a Query reads newest first."""

    class Meta(TableMeta):
        table_name = "ledger"

    member_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    delta = NumberAttribute()
    balance_after = NumberAttribute()
    reason = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class TierChangeRecord(Model):
    """One change of a member's tier (history for the member and for notices)."""

    class Meta(TableMeta):
        table_name = "tier_changes"

    member_id = UnicodeAttribute(hash_key=True)
    change_id = UnicodeAttribute(range_key=True)
    from_tier = UnicodeAttribute()
    to_tier = UnicodeAttribute()
    cause = UnicodeAttribute()
    changed_at = UTCDateTimeAttribute()


MODELS: tuple[type[Model], ...] = (LedgerRecord, TierChangeRecord)


def entry_put(entry: LedgerEntry) -> Put:
    """Write a new ledger entry (its number is taken at most once)."""
    return Put(LedgerRecord(entry.member_id, entry.seq, delta=entry.delta, balance_after=entry.balance_after,
                            reason=entry.reason, ref=entry.ref, note=entry.note, actor=entry.actor,
                            created_at=entry.created_at), absent())


def noted(member_id: str, cursor: str | None = None) -> Query[LedgerRecord, tuple[int, bool]]:
    """(seq, whether it holds a note) of a member's entries, oldest first."""
    return Query(LedgerRecord, member_id, lambda r: (int(r.seq), r.note is not None), limit=NOTES_PAGE, cursor=cursor)


def erase_note(member_id: str, seq: int) -> Update:
    """Remove an existing entry's free-text note (the entry itself stays, anonymised)."""
    return Update(LedgerRecord, (member_id, seq), (assign(LedgerRecord.note, None),),
                  condition=eq(LedgerRecord.member_id, member_id))


def to_entry(record: LedgerRecord) -> LedgerEntry:
    """A ledger entry from its record."""
    return LedgerEntry(member_id=record.member_id, seq=int(record.seq), delta=int(record.delta),
                       balance_after=int(record.balance_after), reason=record.reason, created_at=record.created_at,
                       ref=record.ref, note=record.note, actor=record.actor)


def tier_change_put(change: TierChange, version: int) -> Put:
    """Write the tier change of the member's state write `version` (changes sort by time)."""
    return Put(TierChangeRecord(change.member_id, f"{change.at.isoformat()}#{version:010d}#{change.to_tier}",
                                from_tier=change.from_tier, to_tier=change.to_tier, cause=change.cause,
                                changed_at=change.at), absent())


def page(member_id: str, limit: int, cursor: str | None) -> Query[LedgerRecord, LedgerEntry]:
    """Entries newest first, one more than `limit`, so that `next_cursor` is None exactly when
    nothing is left after the page."""
    return Query(LedgerRecord, member_id, to_entry, limit=limit + 1, cursor=cursor, forward=False)


def cursor_after(entries: list[LedgerEntry], limit: int) -> str | None:
    """The cursor after a `page` of `limit` entries (None when it held everything left)."""
    if len(entries) <= limit:
        return None
    last = entries[limit - 1]
    return encode_cursor({"member_id": {"S": last.member_id}, "seq": {"N": str(last.seq)}})


def tier_changes(member_id: str, cursor: str | None = None) -> Query[TierChangeRecord, TierChange]:
    """A member's tier history, oldest first."""
    return Query(TierChangeRecord, member_id,
                 lambda r: TierChange(r.member_id, r.from_tier, r.to_tier, r.cause, r.changed_at),
                 limit=TIER_CHANGES_PAGE, cursor=cursor)
