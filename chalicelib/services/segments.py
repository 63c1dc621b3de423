"""RFM segments for the merchant (§7): the latest snapshot with its migrations. It reads the
snapshot's runs and counters, never every member."""
from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.domain.rfm import snapshot_view
from chalicelib.store import segments
from chalicelib.store.parts import UnitOfWork


def snapshot(uow: UnitOfWork) -> dict[str, Any]:
    """The snapshot of the latest business date (its shards' counters added up), with the instant
    of the run of the latest earlier date: a Query and a BatchGetItem, whatever the members."""
    runs = uow.query(segments.latest_runs(2)).items
    if not runs:
        return snapshot_view(Counter(), None, None)
    counts: Counter[str] = Counter()
    for shard_counts in uow.read_many(segments.counts(runs[0].run_id)):
        counts.update(shard_counts)
    return snapshot_view(counts, runs[0], runs[1] if len(runs) > 1 else None)
