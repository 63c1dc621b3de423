"""RFM snapshots (§7): the runs of the `rfm-segments` job, their counts by shard, the pages a run
has counted, and the segment tags the job keeps on the member items.

| access pattern                              | table / index                                  | call         |
| ------------------------------------------- | ---------------------------------------------- | ------------ |
| the runs, latest business date first        | rfm_snapshots `runs`, by date                  | Query        |
| a run's counts, every shard                 | rfm_snapshots `<run>`, `<shard>`               | BatchGetItem |
| a page a run has counted (SQS redelivery)   | rfm_snapshots `<run>`, `page#<shard>#<cursor>` | TransactGet  |
| every active member with its tags, by shard | members / `member-shard-index`                 | Query        |
| the members of a segment, by shard          | members / `segment-index` (sparse, keys only)  | Query        |
| a member with its tags                      | members                                        | BatchGetItem |

A run is recorded under its business date (a second run of a date replaces the first); its counts
are counters (DynamoDB's ADD) of one item per shard, added page by page in the same transaction
as the page's marker (`attribute_not_exists`, so a page counts once however often it is handled)
and the tags of the page's members whose segment changed. A tag update is conditioned on the
member being active only, not on its `version`: it does not race the member's own writes, and
the account's close (which replaces the item by its tombstone) drops the tags.
"""
from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.domain.rfm import SnapshotRun, Tagged
from chalicelib.store.base import CounterRecord, TableMeta, all_shards
from chalicelib.store.member_indexes import MemberShardIndex, SegmentIndex
from chalicelib.store.members import MemberRecord, to_member
from chalicelib.store.parts import Get, Put, Query, StaleRead, Update, absent, add, assign, encode_cursor, eq

RUNS = "runs"
WALK_LIMIT = 98  # a page's tags, its marker and its counters: at most DynamoDB's 100 items a transaction
KEEP_PAGES_FOR = timedelta(days=7)


class MemberGone(Exception):
    """The member closed their account after the page was read: leave them out."""

    def __init__(self, member_id: str) -> None:
        super().__init__(member_id)
        self.member_id = member_id


class PageCounted(StaleRead):
    """Another attempt counted the page first: read its marker again."""


@dataclass(frozen=True)
class Counted:
    """A page a run has counted: the cursor after it and what it counted, when it was counted."""

    next_cursor: str | None
    counts: Counter[str]


class SnapshotRecord(CounterRecord):
    """A run (`runs`, by date), a run's counters for one shard (every number attribute besides the
    declared ones is a counter) or the marker of a page the run has counted."""

    class Meta(TableMeta):
        table_name = "rfm_snapshots"

    as_of = UTCDateTimeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    next_cursor = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


MODELS: tuple[type[Model], ...] = (SnapshotRecord,)


# ---- runs and their counts --------------------------------------------------------------------------

def new_run_id(as_of: datetime) -> str:
    """A run's own id: two runs at one instant (a test clock standing still) are two runs."""
    return f"run#{as_of.isoformat()}#{secrets.token_hex(4)}"


def record_run(run: SnapshotRun) -> Put:
    """Make `run` its date's snapshot (replacing an earlier run of the date)."""
    return Put(SnapshotRecord(RUNS, run.day.isoformat(), as_of=run.as_of, run_id=run.run_id))


def _run(record: SnapshotRecord) -> SnapshotRun:
    return SnapshotRun(date.fromisoformat(record.key), record.as_of, record.run_id or "")


def latest_runs(limit: int) -> Query[SnapshotRecord, SnapshotRun]:
    """The runs of the latest `limit` business dates, latest first."""
    return Query(SnapshotRecord, RUNS, _run, limit=limit, forward=False, consistent=True)


def _counters(record: SnapshotRecord | None) -> Counter[str]:
    return Counter(record.counters) if record is not None else Counter()


def counts(run_id: str) -> list[Get[SnapshotRecord, Counter[str]]]:
    """A run's counters, shard by shard."""
    return [Get(SnapshotRecord, (run_id, shard), _counters) for shard in all_shards()]


def _page_key(shard: str, cursor: str | None) -> str:
    return f"page#{shard}#{cursor or ''}"


def page_marker(run_id: str, shard: str, cursor: str | None) -> Get[SnapshotRecord, Counted | None]:
    """Whether the run counted the page of a shard from `cursor` (None if not)."""
    return Get(SnapshotRecord, (run_id, _page_key(shard, cursor)),
               lambda r: Counted(r.next_cursor, Counter(r.counters)) if r else None)


def count_page(run_id: str, shard: str, cursor: str | None, page: Counted, tally: Counter[str], now: datetime
               ) -> list[Put | Update]:
    """The marker of the page read from `cursor` (PageCounted if it exists), holding where the shard
    goes on and what the page counted, and the page's tally added to the shard's counters."""
    marker = SnapshotRecord(run_id, _page_key(shard, cursor), next_cursor=page.next_cursor,
                            expires_at=now + KEEP_PAGES_FOR)
    marker.counters = {name: n for name, n in page.counts.items() if n}
    writes: list[Put | Update] = [Put(marker, absent(), PageCounted())]
    ops = tuple(add(NumberAttribute(attr_name=name), amount) for name, amount in sorted(tally.items()) if amount)
    if ops:
        writes.append(Update(SnapshotRecord, (run_id, shard), ops))
    return writes


# ---- members and their tags -------------------------------------------------------------------------

def to_tagged(record: MemberRecord | None) -> Tagged | None:
    """An active member with its RFM tags (None if unknown or closed)."""
    member = to_member(record)
    if member is None or record is None:
        return None
    changed = date.fromisoformat(record.rfm_changed) if record.rfm_changed else None
    return Tagged(member, record.rfm_segment, changed, record.rfm_former)


def walk(shard: str, cursor: str | None) -> Query[MemberRecord, Tagged | None]:
    """A page of a shard's active members, with their tags."""
    return Query(MemberRecord, shard, to_tagged, limit=WALK_LIMIT, cursor=cursor, index=MemberShardIndex)


def tagged(member_id: str) -> Get[MemberRecord, Tagged | None]:
    """An active member with its tags."""
    return Get(MemberRecord, (member_id,), to_tagged)


def tag(member_id: str, shard: str, segment: str, day: date, former: str) -> Update:
    """Tag the member with its segment in the run of `day` (MemberGone if it closed meanwhile)."""
    return Update(MemberRecord, (member_id,), (
        assign(MemberRecord.rfm_segment, segment), assign(MemberRecord.rfm_changed, day.isoformat()),
        assign(MemberRecord.rfm_former, former), assign(MemberRecord.rfm_key, f"{segment}#{shard}"),
    ), condition=eq(MemberRecord.status, "active"), error=MemberGone(member_id))


def members_of(segment: str, shard: str, limit: int, *, cursor: str | None = None,
               after: str | None = None) -> Query[MemberRecord, str]:
    """A page of the ids of a shard's members in a segment, from a cursor or after a member id."""
    if after is not None:
        cursor = encode_cursor({"rfm_key": {"S": f"{segment}#{shard}"}, "member_id": {"S": after}})
    return Query(MemberRecord, f"{segment}#{shard}", lambda r: r.member_id, limit=limit, cursor=cursor,
                 index=SegmentIndex)
