"""The sharded jobs: a job is a rule over the members (or coupons) of one index, walked shard by
shard. This module holds what every job shares: its run (program, instant, dry run, and the
effects that a dry run only counts), the segments of a run and the walk through their pages.

A `ShardedJob` names its counts, whether the program gives it anything to do (`applies`), the
page of a shard to walk (`walk`) and what to do with each item (`handle`, returning the counts it
adds), or with each whole page (`settle`, which also says where the shard goes on). `start` runs
the job's `prepare` once (what it answers goes into every segment) and fans one segment per shard
out (over SQS when deployed, inline locally); `run_segment` handles its pages, one per invocation
when deployed, so a crash repeats at most a page.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib import clock, metrics
from chalicelib.domain.member import Member
from chalicelib.domain.program import Program
from chalicelib.jobs.fanout import Segment, continue_later, dispatch
from chalicelib.services import notify
from chalicelib.services.coupons import issue_by_job
from chalicelib.services.runner import Command, run
from chalicelib.store import settings
from chalicelib.store.base import all_shards
from chalicelib.store.parts import Page, Query, UnitOfWork
from chalicelib.wechat.miniprogram import WeChatGateway


@dataclass
class JobRun:
    """One run of a job as a segment sees it; its effects only count in a dry run."""

    job: str
    uow: UnitOfWork
    wechat: WeChatGateway
    program: Program
    as_of: datetime
    dry_run: bool
    seen: set[str] = field(default_factory=set)
    segment: Segment = field(default_factory=dict)

    @property
    def day(self) -> date:
        """The run's Shanghai business date."""
        return clock.business_date(self.as_of)

    def change(self, command: Command[Any]) -> Any:
        """Run a state change (decided only, in a dry run); its answer."""
        return run(self.uow, command, dry_run=self.dry_run)[1]

    def issue(self, member: Member, template_id: str, key: str, source: str) -> tuple[str | None, bool]:
        """Give the member a coupon of the template once per `key`: (its name if the member has
        it, whether it was issued now)."""
        return issue_by_job(self.uow, member, template_id, key, job=self.job, source=source, as_of=self.as_of,
                            dry_run=self.dry_run)

    def notify(self, member: Member, template_id: str, values: dict[str, Any], *, at: datetime | None = None) -> str:
        """Send the member a subscribe message (at most one per template and business date of `at`,
        default the run's instant, within the program's weekly budget): `send_notice`'s outcome (dry:
        what it would be if WeChat took it)."""
        at = at or self.as_of
        day, cap = clock.business_date(at), self.program.notifications.weekly_cap
        if self.dry_run:
            return notify.dry_outcome(self.uow, member.openid, template_id, job=self.job, business_date=day,
                                      weekly_cap=cap)
        return notify.send_notice(self.uow, self.wechat, member.member_id, member.openid, template_id, values,
                                  job=self.job, business_date=day, now=at, weekly_cap=cap)


# A whole page of a shard (the run, the shard, the cursor the page was read from, the page): the
# counts it adds and the cursor to go on from.
Settle = Callable[[JobRun, str, str | None, Page[Any]], tuple[Counter[str], str | None]]


@dataclass(frozen=True)
class ShardedJob:
    """A job over one sharded index: its counts, when it applies, its pages and its rule (per item,
    or per page with `settle`), and what to do once before the fan-out (`prepare`)."""

    name: str
    counts: tuple[str, ...]
    walk: Callable[[JobRun, str, str | None], Query[Any, Any]]
    handle: Callable[[JobRun, Any], Counter[str]] | None = None
    applies: Callable[[JobRun], bool] = lambda run: True
    settle: Settle | None = None
    prepare: Callable[[JobRun], dict[str, Any]] | None = None

    def zero(self) -> Counter[str]:
        """Every count at 0."""
        return Counter({name: 0 for name in self.counts})

    def page(self, run: JobRun, shard: str, cursor: str | None, page: Page[Any]) -> tuple[Counter[str], str | None]:
        """Handle a page: its counts, and the cursor to go on from."""
        if self.settle is not None:
            return self.settle(run, shard, cursor, page)
        counts = self.zero()
        for item in page.items:
            if item is not None and self.handle is not None:
                counts.update(self.handle(run, item))
        return counts, page.cursor


def _job_run(job: ShardedJob, uow: UnitOfWork, wechat: WeChatGateway, as_of: datetime, dry_run: bool,
             segment: Segment | None = None) -> JobRun:
    return JobRun(job.name, uow, wechat, uow.read(program=settings.program())["program"], as_of, dry_run,
                  segment=segment or {})


def start(job: ShardedJob, uow: UnitOfWork, wechat: WeChatGateway, as_of: datetime, *, dry_run: bool
          ) -> Counter[str]:
    """Fan a run out over every shard, if the program gives the job something to do."""
    counts = job.zero()
    job_run = _job_run(job, uow, wechat, as_of, dry_run)
    if not job.applies(job_run):
        return counts
    extra = job.prepare(job_run) if job.prepare is not None else {}
    segments: list[Segment] = [{"job": job.name, "as_of": as_of.isoformat(), "shard": shard, "cursor": None,
                                "dry_run": dry_run, **extra} for shard in all_shards()]
    counts.update(dispatch(segments, lambda segment: run_segment(job, uow, wechat, segment)))
    return counts


def run_segment(job: ShardedJob, uow: UnitOfWork, wechat: WeChatGateway, segment: Segment) -> Counter[str]:
    """Handle one shard's items from the segment's cursor on: every page locally; deployed, the
    first page here and the rest queued as a new segment."""
    job_run = _job_run(job, uow, wechat, clock.parse_instant(segment["as_of"]), segment["dry_run"], segment)
    counts = job.zero()
    cursor: str | None = segment.get("cursor")  # a segment queued before cursors existed restarts its shard
    while True:
        page = uow.query(job.walk(job_run, segment["shard"], cursor))
        added, cursor = job.page(job_run, segment["shard"], cursor, page)
        metrics.job_progress(job.name, added)
        counts.update(added)
        if cursor is None or continue_later({**segment, "cursor": cursor}):
            return counts
