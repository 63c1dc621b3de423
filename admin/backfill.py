"""`python -m admin backfill`: give members written before `member-shard-index` and
`lifecycle-index` existed the keys that place them there, so the jobs (member day, birthday gifts,
RFM) and the automations reach them.

One Scan of the members table finds the active members lacking `member_shard`, `life_shard` or
`life_key` (closed accounts' tombstones have none, on purpose); each gets one UpdateItem that sets
only what is missing, conditioned on its still missing. If the member was written meanwhile (every
state write of the app sets the lifecycle keys), it is read again and only what is still missing is
set. Running it again finds nothing to do. The member's `version` is not changed: the keys follow
from what the member item already holds, so no concurrent write of the member is disturbed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from admin import records
from admin.progress import Progress
from chalicelib.errors import StoreUnavailable
from chalicelib.store.parts import StaleRead, UnitOfWork

ATTEMPTS = 3


@dataclass
class BackfillSummary:
    """Members found lacking keys, and those given them now."""

    found: int = 0
    updated: int = 0


def backfill(uow: UnitOfWork, client: Any, progress: Progress) -> BackfillSummary:
    """Set the missing index keys of every active member lacking some."""
    summary = BackfillSummary()
    for record in records.lacking_index_keys(client):
        summary.found += 1
        summary.updated += _fill(uow, record)
        progress.advance()
    return summary


def _fill(uow: UnitOfWork, record: Any) -> bool:
    """Set one member's missing keys; False when none is missing any more (or it closed)."""
    for _ in range(ATTEMPTS):
        update = records.index_keys(record) if record is not None else None
        if update is None:
            return False
        try:
            uow.write(update)
            return True
        except StaleRead:
            record = uow.read(member=records.member_record(record.member_id))["member"]
    raise StoreUnavailable(f"member {record.member_id} kept changing during the backfill")
