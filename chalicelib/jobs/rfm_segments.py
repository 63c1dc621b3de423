"""`rfm-segments`: every day at 01:00 Shanghai, a snapshot of every active member's RFM segment
(§7) as of the run's instant, and the segment tags that targeting reads.

The run is recorded under its business date first (a second run of the date replaces the date's
snapshot). Then each shard's members are read once, a page at a time (`member-shard-index`, with
their tags): each member's segment at the run's date is compared with their segment in the
snapshot before (`Tagged.before`), and the page's counts (members and spend by segment, the
migrations) are added to the shard's counters in one transaction with the page's marker and the
tags of the members whose segment changed (or who were never tagged): nothing else is written, and
a page handled twice (SQS redelivers a message) counts once. Members who joined after the run's
instant are not in its snapshot. A run of a date earlier than the latest snapshot's (a test clock
moved back) records its counts but leaves the tags, which stay those of the latest snapshot.

It answers `{"job", "as_of", "dry_run", "members", "members_moved", "members_tagged"}`: members in
the snapshot, those whose segment changed since the snapshot before, and those tagged (written).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock
from chalicelib.domain.rfm import SnapshotRun, Tagged, members_counter, migration_counter, monetary_counter, rfm_at
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services.runner import Command, Decision, run
from chalicelib.store import segments
from chalicelib.store.parts import Page, Query, Update

NAME = "rfm-segments"
COUNTS = ("members", "members_moved", "members_tagged")


@dataclass
class PagePlan:
    """What a page adds to the counts and to the shard's counters, and the tags it writes."""

    counts: Counter[str] = field(default_factory=lambda: Counter({name: 0 for name in COUNTS}))
    tally: Counter[str] = field(default_factory=Counter)
    tags: list[Update] = field(default_factory=list)


def plan_page(job_run: JobRun, shard: str, items: list[Tagged]) -> PagePlan:
    """Each member's segment at the run's date, against the snapshot before."""
    plan, day, tagging = PagePlan(), job_run.day, job_run.segment.get("tag", True)
    for item in items:
        rfm, before = rfm_at(item.member.order_days, job_run.program.rfm, day), item.before(day)
        plan.counts["members"] += 1
        plan.tally[members_counter(rfm.segment)] += 1
        plan.tally[monetary_counter(rfm.segment)] += rfm.monetary_fen
        if rfm.segment != before:
            plan.counts["members_moved"] += 1
            plan.tally[migration_counter(before, rfm.segment)] += 1
        if tagging and rfm.segment != item.segment:
            plan.counts["members_tagged"] += 1
            plan.tags.append(segments.tag(item.member.member_id, shard, rfm.segment, day, before))
    return plan


def _walk(job_run: JobRun, shard: str, cursor: str | None) -> Query[Any, Tagged | None]:
    return segments.walk(shard, cursor)


def _prepare(job_run: JobRun) -> dict[str, Any]:
    """Record the run under its date (a dry run records nothing); tag only if no later date has a
    snapshot."""
    latest = job_run.uow.query(segments.latest_runs(1)).items
    snapshot = SnapshotRun(job_run.day, job_run.as_of, segments.new_run_id(job_run.as_of))
    if not job_run.dry_run:
        job_run.uow.write(segments.record_run(snapshot))
    return {"run": snapshot.run_id, "tag": not latest or latest[0].day <= job_run.day}


def _settle(job_run: JobRun, shard: str, cursor: str | None, page: Page[Any]) -> tuple[Counter[str], str | None]:
    """Count a page and tag its changed members, once; a member who closed meanwhile is left out."""
    items = [item for item in page.items if item is not None and item.member.joined_at <= job_run.as_of]
    while items:
        plan = plan_page(job_run, shard, items)
        if job_run.dry_run:
            return plan.counts, page.cursor
        try:
            return _commit(job_run, shard, cursor, page.cursor, plan)
        except segments.MemberGone as gone:
            items = [item for item in items if item.member.member_id != gone.member_id]
    return Counter(), page.cursor  # no member to count: nothing to write


def _commit(job_run: JobRun, shard: str, cursor: str | None, next_cursor: str | None,
            plan: PagePlan) -> tuple[Counter[str], str | None]:
    """The page's marker, counts and tags in one transaction; if the page was counted before, what
    that attempt counted and where it went on from (nothing is written twice)."""
    run_id = job_run.segment["run"]

    def decide(read: dict[str, Any]) -> Decision[tuple[Counter[str], str | None]]:
        counted: segments.Counted | None = read["counted"]
        if counted is not None:
            return Decision((counted.counts, counted.next_cursor))
        page = segments.Counted(next_cursor, plan.counts)
        return Decision((plan.counts, next_cursor),
                        [*segments.count_page(run_id, shard, cursor, page, plan.tally, clock.now()), *plan.tags])

    command = Command({"counted": segments.page_marker(run_id, shard, cursor)}, decide, first={"counted": None})
    return run(job_run.uow, command)[1]


JOB = ShardedJob(NAME, COUNTS, _walk, settle=_settle, prepare=_prepare)
