"""RFM segments for the merchant (§7): the latest snapshot with its migrations, the members of a
segment, and a targeted issue to a segment. Each reads the snapshot's runs, counters and the
sparse `segment-index`, never every member."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from chalicelib import clock
from chalicelib.domain.member import member_view
from chalicelib.domain.rfm import Tagged, rfm_at, snapshot_view
from chalicelib.errors import ValidationError
from chalicelib.services.common import fingerprint
from chalicelib.services.coupons import ISSUE_BATCH, ISSUE_ROUTE, issue_batch, issue_targeted
from chalicelib.services.runner import run
from chalicelib.store import segments, settings
from chalicelib.store.base import SHARDS
from chalicelib.store.idempotency import RequestKey
from chalicelib.store.parts import INVALID_CURSOR, UnitOfWork, decode_cursor

ISSUE_PAGE = 9 * ISSUE_BATCH  # member ids read per Query of a targeted issue


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


def segment_members(uow: UnitOfWork, segment: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A page of the members of a segment in the latest snapshot, shard after shard (one opaque
    cursor), each with its RFM at the snapshot's date. Members are read again (strongly
    consistent): one who left the segment or closed since the index was read is left out."""
    shard, inner = _position(segment, cursor)
    runs = uow.query(segments.latest_runs(1)).items
    if not runs:
        return {"items": [], "next_cursor": None}
    ids: list[str] = []
    while shard < SHARDS and len(ids) < limit:
        page = uow.query(segments.members_of(segment, f"{shard:02d}", limit - len(ids), cursor=inner))
        ids += page.items
        shard, inner = (shard, page.cursor) if page.cursor else (shard + 1, None)
    program = uow.read(program=settings.program())["program"] if ids else None
    found: list[Tagged | None] = uow.read_many([segments.tagged(member_id) for member_id in ids])
    now, items = clock.now(), []
    for tagged in found:
        if tagged is None or tagged.segment != segment or program is None:
            continue
        rfm = replace(rfm_at(tagged.member.order_days, program.rfm, runs[0].day), segment=segment)
        items.append({**member_view(tagged.member, program, now), "rfm": rfm.view()})
    return {"items": items, "next_cursor": f"{shard:02d}{inner or ''}" if shard < SHARDS else None}


def _position(segment: str, cursor: str | None) -> tuple[int, str | None]:
    """Where a page starts: the shard (the cursor's first two digits) and the cursor inside it
    (which must be one of that shard's pages of the segment)."""
    if cursor is None:
        return 0, None
    if not (cursor[:2].isascii() and cursor[:2].isdigit() and int(cursor[:2]) < SHARDS):
        raise ValidationError(INVALID_CURSOR, "cursor")
    shard, inner = int(cursor[:2]), cursor[2:] or None
    decode_cursor(segments.members_of(segment, f"{shard:02d}", 1, cursor=inner))
    return shard, inner


def issue_to_segment(uow: UnitOfWork, template_id: str, segment: str, request_id: str, actor: str
                     ) -> tuple[int, Any]:
    """A targeted issue to the members of a segment in the latest snapshot, in batches of 11 (limits,
    tiers and stock apply as for listed members). Each batch is keyed by its shard and the member
    it starts after, and records the member it ended with: a retry goes through the batches already
    recorded and on from their ends, so no member gets two coupons even if the segment changed
    in between."""
    digest = fingerprint(ISSUE_ROUTE, {"template_id": template_id, "segment": segment})

    def issue_all(key: str) -> Counter[str]:
        totals: Counter[str] = Counter()
        for shard in range(SHARDS):
            totals.update(_issue_shard(uow, template_id, segment, f"{shard:02d}", key, digest))
        return totals

    return issue_targeted(uow, template_id, f"admin:{actor}:{request_id}", digest, issue_all)


def _issue_shard(uow: UnitOfWork, template_id: str, segment: str, shard: str, key: str, digest: str
                 ) -> Counter[str]:
    """Issue to one shard's members of the segment, batch after batch in member id order. At the end
    an empty batch looks for one an earlier attempt recorded there (over members since gone)."""
    totals: Counter[str] = Counter()
    after: str | None = None
    ids: list[str] | None = None
    more = False
    while True:
        if ids is None:
            page = uow.query(segments.members_of(segment, shard, ISSUE_PAGE, after=after))
            ids, more = page.items, page.cursor is not None
        batch, ids = ids[:ISSUE_BATCH], ids[ISSUE_BATCH:]
        last = batch[-1] if batch else None
        command = issue_batch(template_id, batch, RequestKey(f"{key}:{shard}:{after or ''}"), digest,
                              note={"last": last})
        answer = run(uow, command, dry_run=not batch)[1]
        totals.update(issued=answer["issued"], skipped=answer["skipped"])
        if answer["last"] is None:  # nothing recorded after the last member: the shard is done
            return totals
        if answer["last"] != last or (not ids and more):
            ids = None  # read on from the end of the batch recorded there
        after = answer["last"]
