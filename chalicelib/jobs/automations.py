"""`automations`: daily at 09:00 Shanghai, the lifecycle automations a job evaluates (§8): `lapsed`,
`no_first_order` and `tier_at_risk`.

Only the members a trigger can select are read. `lapsed` and `no_first_order` query the sparse
`lifecycle-index` (by shard, `o#<latest order date>` or `j#<join date>`) for the dates that
crossed the trigger's N days since the automation's job last ran on an earlier date (recorded per
automation), so a member is reached about once per lapse; `tier_at_risk` walks `tier-index` (members
above the base tier) on the N days before 1 January only. Each trigger is a *lane* of a shard's
segment; the segment's cursor is `<lane>|<cursor within it>`.

A page's entering members are written together: one BatchGetItem reads the templates of their
coupons and their counts, then one TransactWriteItems per `BATCH` members holds
each member's update (conditioned on the version read, with its entry key, open entry and, when
treated, its `automation` ledger entry), the coupons of each template in one issue, the figures and
the shard's result counters. If the batch loses a race (a member changed since the index was read,
another instance entered them first, a template's stock ran out), each of its members is entered
on its own from a fresh read, so nobody enters twice. Treated members' notices are sent after the
commit. It answers `{"job", "as_of", "dry_run", "members", "entered", "control", "notices_sent",
"notices_capped"}` (`notices_capped`: the notices the weekly budget held back).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from chalicelib.domain.automations import JOB_TRIGGERS, Entering, at_risk_window, enter, entering, job_key
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.program import Automation
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services import automations as rewarding
from chalicelib.services import notify
from chalicelib.services.figures import save_member
from chalicelib.services.runner import Command, Decision, run
from chalicelib.store import automations, members
from chalicelib.store.parts import Page, Query, StaleRead, Write, merged, read_all

NAME = "automations"
COUNTS = ("members", "entered", "control", "notices_sent", notify.CAPPED_COUNT)
BATCH = 20  # members a transaction: 4 items each (member, entry, coupon, count) and the shared counters
PAGE = 60
PREFIX = {"lapsed": "o#", "no_first_order": "j#"}


def _job_rules(job_run: JobRun) -> list[Automation]:
    """The active automations the job evaluates today (`tier_at_risk` only in its window)."""
    return [rule for rule in job_run.program.automations if rule.active and rule.trigger in JOB_TRIGGERS
            and (rule.trigger != "tier_at_risk" or at_risk_window(rule, job_run.day))]


def _prepare(job_run: JobRun) -> dict[str, Any]:
    """The lanes of every shard, and the run's date recorded per automation (not in a dry run)."""
    rules = _job_rules(job_run)
    found = read_all(job_run.uow, {f"r{i}": automations.runs(rule.id) for i, rule in enumerate(rules)})
    lanes: list[dict[str, Any]] = []
    writes: list[Write] = []
    for i, rule in enumerate(rules):
        runs: automations.Runs = found[f"r{i}"]
        if rule.trigger == "tier_at_risk":
            lanes.append({"id": rule.id})
        else:
            lanes.append({"id": rule.id, **_range(rule, job_run.day, runs)})
        if runs.ran_on is None or runs.ran_on < job_run.day:
            writes.append(automations.ran(rule, job_run.day, runs))
    if writes and not job_run.dry_run:
        job_run.uow.write(*writes)
    return {"lanes": lanes}


def _range(rule: Automation, day: date, runs: automations.Runs) -> dict[str, str]:
    """The index keys a date trigger selects today: the dates that reached N days since its last run
    on an earlier date (every date up to then on its first run)."""
    before = runs.ran_on if runs.ran_on is not None and runs.ran_on < day else runs.ran_before
    prefix, high = PREFIX[rule.trigger], day - timedelta(days=rule.period)
    if before is None or before >= day:
        return {"low": prefix, "high": prefix + high.isoformat()}
    return {"low": prefix + (before - timedelta(days=rule.period - 1)).isoformat(), "high": prefix + high.isoformat()}


def _lane(cursor: str | None) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    lane, _, inner = cursor.partition("|")
    return int(lane), inner or None


def _walk(job_run: JobRun, shard: str, cursor: str | None) -> Query[Any, Member | None]:
    lane_number, inner = _lane(cursor)
    lane = job_run.segment["lanes"][lane_number]
    if "low" in lane:
        return members.in_lifecycle(shard, lane["low"], lane["high"], inner, limit=PAGE)
    return members.above_base_tier(shard, inner)


def _settle(job_run: JobRun, shard: str, cursor: str | None, page: Page[Any]) -> tuple[Counter[str], str | None]:
    """Enter the page's members the lane's trigger selects; go on in the lane, or to the next."""
    lane_number, _ = _lane(cursor)
    lanes = job_run.segment["lanes"]
    rule = next((r for r in job_run.program.automations if r.id == lanes[lane_number]["id"]), None)
    counts = Counter({name: 0 for name in COUNTS})
    chosen: list[tuple[Member, Entering]] = []
    rewards = rewarding.Rewards()
    for member in page.items:
        if member is None or member.joined_at > job_run.as_of:
            continue
        counts["members"] += 1
        item = entering(rule, member, job_key(rule, member, job_run.program, job_run.as_of)) if rule else None
        if item is not None:
            chosen.append((member, item))
    if chosen and not job_run.dry_run:
        reads = rewarding.reads_for([(member, [item]) for member, item in chosen])
        rewards = rewarding.rewards_from(read_all(job_run.uow, reads))
    for start in range(0, len(chosen), BATCH):
        counts.update(_enter_batch(job_run, shard, chosen[start:start + BATCH], rewards))
    if page.cursor is not None:
        return counts, f"{lane_number}|{page.cursor}"
    return counts, f"{lane_number + 1}|" if lane_number + 1 < len(lanes) else None


def _decide(job_run: JobRun, shard: str, chosen: list[tuple[Member, Entering]], rewards: rewarding.Rewards
            ) -> list[Write]:
    """The writes of a batch's entries (their coupons from `rewards`)."""
    writes: list[Write] = []
    results: Counter[str] = Counter()
    for member, item in chosen:
        plan = LedgerPlan(member, now=job_run.as_of, keep_years=job_run.program.keep_years)
        rewards.give(member, item, plan, job_run.program, job_run.as_of)
        after, counted = enter(member, [item], job_run.as_of)
        results.update(counted)
        writes += save_member(member, after, job_run.program, job_run.as_of, plan=plan)
    return writes + rewards.writes() + automations.count(shard, results)


def _enter_batch(job_run: JobRun, shard: str, chosen: list[tuple[Member, Entering]], rewards: rewarding.Rewards
                 ) -> Counter[str]:
    """Enter a batch in one transaction, or member by member from a fresh read if it lost a race."""
    counts = Counter(entered=len(chosen), control=sum(item.control for _, item in chosen))
    if job_run.dry_run:
        return counts
    try:
        job_run.uow.write(*merged(_decide(job_run, shard, chosen, rewards)))
        rewards.committed()
        entered = chosen
    except StaleRead:
        rewards.given.clear()
        entered = [done for member, item in chosen if (done := _enter_one(job_run, shard, member, item.automation))]
        counts = Counter(entered=len(entered), control=sum(item.control for _, item in entered))
    for member, item in entered:
        template_id = item.automation.notice_template_id
        if template_id and not item.control:
            values = rewarding.notice_values(item, member, job_run.program, job_run.as_of)
            counts.update(notify.counted(job_run.notify(member, template_id, values), "notices_sent"))
    return counts


def _enter_one(job_run: JobRun, shard: str, member: Member, rule: Automation) -> tuple[Member, Entering] | None:
    """Enter one member from a fresh read, if the trigger still selects them and they have not
    entered on this occurrence yet."""
    found: list[tuple[Member, Entering]] = []

    def decide(read: dict[str, Any]) -> Decision[None]:
        found.clear()
        current: Member | None = read.pop("member")
        item = entering(rule, current, job_key(rule, current, job_run.program, job_run.as_of)) if current else None
        if current is None or item is None:
            return Decision(None)
        more = rewarding.reads_for([(current, [item])])
        found.append((current, item))
        rewards = rewarding.rewards_from(read_all(job_run.uow, more) if more else {})
        return Decision(None, _decide(job_run, shard, found, rewards))

    run(job_run.uow, Command({"member": members.member(member.member_id)}, decide))
    return found[0] if found else None


JOB = ShardedJob(NAME, COUNTS, _walk, settle=_settle, prepare=_prepare,
                 applies=lambda job_run: bool(_job_rules(job_run)))
