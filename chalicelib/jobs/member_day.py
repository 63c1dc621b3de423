"""`member-day` (会员日): at 00:30 Shanghai on each of `member_days.days_of_month`, give every
active member the member-day coupon and the member-day notice.

It stops at once, reading nothing but the program, unless the business date is a member day and
the program gives it something to do: a coupon (`member_days.coupon_template_id`, unless the
notice is off and the template can give nothing) or a notice (`notifications.templates.member_day`
with a weekly cap above 0). Otherwise it walks every active member through `member-shard-index`,
a page (100 members of one shard) at a time:

- one read (a BatchGetItem per 100 keys) takes, for each member of the page, the coupon's
  idempotency record (per member and business date) and count (the per-member limit), and the
  notice's record, grant and send budget, with the template once;
- eligibility is decided from that and the page: the tier from the member item, the limit from
  the count, stock and validity from the template, the notice from the record, the grant and
  the weekly budget (`notify.refusal`);
- the page's coupons and notice reservations are written in transactions of at most 100 actions,
  each guarded by the same conditions as one member's (the template's version and stock, each
  limit, each idempotency record and notice record, each grant, each budget's version). A
  transaction whose condition fails (a concurrent run, a send elsewhere, a claim meanwhile) is
  done again member by member through the one-member paths, which read again and replay what is
  recorded, so a re-run or a second instance issues and sends nothing twice;
- then the reserved notices are sent (one WeChat call each) and their msgids noted in one
  transaction.

The notice's template must have the keywords `thing1` (what is on), `thing2` (the coupon, or the
points offer) and `date3`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.coupons import Coupon, Template
from chalicelib.domain.member import Member
from chalicelib.domain.notices import render
from chalicelib.jobs.sharded import JobRun, ShardedJob
from chalicelib.services import notify
from chalicelib.services.coupons import JOB_ISSUE_PARTS, job_coupon, job_issue
from chalicelib.store import coupons, members, messaging
from chalicelib.store.idempotency import RequestKey, StoredAnswer
from chalicelib.store.parts import Get, Page, Query, StaleRead, Write, merged, read_all

NAME = "member-day"
SOURCE = "member_day"
MAX_ACTIONS = 100  # DynamoDB's most per TransactWriteItems
COUNTS = ("members", "coupons_issued", "notices_sent", notify.CAPPED_COUNT)


@dataclass
class _Gift:
    """What one member of a page gets now: a coupon (with its idempotency key), the notice's
    outcome as decided (`sent`: reserved by `reservation`) and what the notice says."""

    member: Member
    coupon: tuple[str, Coupon] | None = None
    outcome: str | None = None
    reservation: list[Write] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


def _every_member(run: JobRun, shard: str, cursor: str | None) -> Query[Any, Member | None]:
    return members.active(shard, cursor)


def _coupon_key(run: JobRun, member: Member) -> str:
    return f"job:{NAME}:{run.day.isoformat()}:{member.member_id}"


def _notice_template(run: JobRun) -> str | None:
    """The notice's template, None when the notice is off or the weekly cap is 0."""
    return run.program.notice_template("member_day") if run.program.notifications.weekly_cap > 0 else None


def _notice_values(run: JobRun, coupon_name: str | None) -> dict[str, Any]:
    return {"thing1": "今天是会员日", "thing2": coupon_name or "会员日消费积分加倍", "date3": run.day}


def _applies(run: JobRun) -> bool:
    """A member day with a notice to send, or a coupon its template can still give."""
    if not run.program.is_member_day(run.day):
        return False
    if _notice_template(run) is not None:
        return True
    template_id = run.program.member_days.coupon_template_id
    if template_id is None:
        return False
    template: Template | None = run.uow.read(template=coupons.template(template_id))["template"]
    return template is not None and template.refusal(0, now=run.as_of) is None


def _celebrate(run: JobRun, member: Member) -> Counter[str]:
    """One member's coupon and notice of the day through the one-member paths (they read again)."""
    counts: Counter[str] = Counter()
    template_id = run.program.member_days.coupon_template_id
    coupon_name, issued = run.issue(member, template_id, _coupon_key(run, member), SOURCE) \
        if template_id else (None, False)
    counts["coupons_issued"] += issued
    notice = run.program.notice_template("member_day")
    if notice:
        counts.update(notify.counted(run.notify(member, notice, _notice_values(run, coupon_name)), "notices_sent"))
    return counts


def _reads(run: JobRun, page: list[Member]) -> dict[str, Get[Any, Any]]:
    """What the page's decisions need besides the page itself."""
    template_id, notice = run.program.member_days.coupon_template_id, _notice_template(run)
    parts: dict[str, Get[Any, Any]] = {"template": coupons.template(template_id)} if template_id else {}
    for i, member in enumerate(page):
        if template_id:
            parts[f"answer{i}"] = RequestKey(_coupon_key(run, member)).read
            parts[f"claimed{i}"] = coupons.claimed(member.member_id, template_id)
        if notice and member.openid:
            key = notify.notice_key(member.openid, notice, run.day, NAME)
            parts.update({f"{name}{i}": get for name, get in notify.state(member.openid, notice, key).items()})
    return parts


def _decide(run: JobRun, page: list[Member], read: dict[str, Any]) -> list[_Gift]:
    """Each member's gift, decided from the page and what `_reads` read."""
    template: Template | None = read.get("template")
    notice = run.program.notice_template("member_day")
    gifts: list[_Gift] = []
    for i, member in enumerate(page):
        gift = _Gift(member)
        answer: StoredAnswer | None = read.get(f"answer{i}")
        coupon_name = answer.body.get("name") if answer is not None else None
        if template is not None and answer is None:
            issuing = sum(1 for g in gifts if g.coupon is not None)
            coupon = job_coupon(template, member, run.program, read[f"claimed{i}"], source=SOURCE, as_of=run.as_of,
                                issuing=issuing)
            if coupon is not None:
                gift.coupon, coupon_name = (_coupon_key(run, member), coupon), template.name
        if notice:
            gift.values = _notice_values(run, coupon_name)
            _decide_notice(run, gift, notice, {name: read.get(f"{name}{i}") for name in notify.STATE})
        gifts.append(gift)
    return gifts


def _decide_notice(run: JobRun, gift: _Gift, notice: str, state: dict[str, Any]) -> None:
    """The gift's notice outcome, and its reservation when it may go out (a cap of 0: capped, unread;
    a member without an openid, imported and not yet on WeChat: no grant, unread)."""
    cap = run.program.notifications.weekly_cap
    if not gift.member.openid:
        gift.outcome = notify.NO_GRANT
        return
    gift.outcome = notify.refusal(state, run.day, cap) if cap > 0 else notify.CAPPED
    if gift.outcome is None:
        gift.outcome = notify.SENT
        key = notify.notice_key(gift.member.openid, notice, run.day, NAME)
        gift.reservation = notify.reservation(gift.member.member_id, gift.member.openid, notice, key, state["budget"],
                                              run.day, run.as_of)


def _tally(gifts: list[_Gift], *, dry_run: bool) -> Counter[str]:
    """The coupons and notice outcomes decided (sends only when dry: a real one counts once WeChat took it)."""
    counts: Counter[str] = Counter()
    for gift in gifts:
        counts["coupons_issued"] += gift.coupon is not None
        if gift.outcome is not None and (dry_run or gift.outcome != notify.SENT):
            counts.update(notify.counted(gift.outcome, "notices_sent"))
    return counts


def _writes(template: Template | None, gifts: list[_Gift], run: JobRun) -> list[Write]:
    """One transaction's parts for these gifts (counters of one item added up)."""
    given = [gift.coupon for gift in gifts if gift.coupon is not None]
    issue = job_issue(template, given, job=NAME, now=run.as_of) if template is not None and given else []
    return merged(issue + [part for gift in gifts for part in gift.reservation])


def _batches(template: Template | None, gifts: list[_Gift], run: JobRun) -> list[list[_Gift]]:
    """The gifts that write something, in runs that each fit one transaction: each gift's own
    parts, plus once per run the parts its coupons share (the template's count, the day's counters)."""
    writing = [gift for gift in gifts if gift.coupon is not None or gift.reservation]
    first = next((gift for gift in writing if gift.coupon is not None), None)
    shared = len(_writes(template, [first], run)) - len(first.reservation) - JOB_ISSUE_PARTS if first else 0
    batches: list[list[_Gift]] = []
    room = 0
    for gift in writing:
        own = len(gift.reservation) + (JOB_ISSUE_PARTS if gift.coupon is not None else 0)
        if not batches or own > room:
            batches.append([])
            room = MAX_ACTIONS - shared
        batches[-1].append(gift)
        room -= own
    return batches


def _settle(run: JobRun, shard: str, cursor: str | None, page: Page[Member | None]) -> tuple[Counter[str], str | None]:
    """Decide the page's gifts from one batched read, write them in batches, then send the notices."""
    found = [member for member in page.items if member is not None]
    counts = Counter({name: 0 for name in COUNTS})
    counts["members"] = len(found)
    if not found:
        return counts, page.cursor
    read = read_all(run.uow, _reads(run, found))
    gifts = _decide(run, found, read)
    if run.dry_run:
        counts.update(_tally(gifts, dry_run=True))
        return counts, page.cursor
    template: Template | None = read.get("template")
    settled = [gift for gift in gifts if gift.coupon is None and not gift.reservation]
    for batch in _batches(template, gifts, run):
        try:
            run.uow.write(*_writes(template, batch, run))
        except (StaleRead, messaging.NoticeRecorded, messaging.NoGrantLeft):
            for gift in batch:  # someone moved first: member by member, reading again
                counts.update(_celebrate(run, gift.member))
            continue
        settled += batch
    counts.update(_tally(settled, dry_run=False))
    notice = run.program.notice_template("member_day")
    if notice is not None:
        counts["notices_sent"] += _send(run, notice, [gift for gift in settled if gift.reservation])
    return counts, page.cursor


def _send(run: JobRun, notice: str, reserved: list[_Gift]) -> int:
    """Send the reserved notices (one WeChat call each), note their msgids in one transaction;
    how many went out."""
    sent: list[tuple[str, str]] = []
    for gift in reserved:
        key = notify.notice_key(gift.member.openid, notice, run.day, NAME)
        msg_id = notify.deliver(run.uow, run.wechat, gift.member.openid, notice, key, render(gift.values), run.as_of)
        if msg_id is not None:
            sent.append((key, msg_id))
    notify.confirm(run.uow, sent)
    return len(sent)


JOB = ShardedJob(NAME, COUNTS, _every_member, applies=_applies, settle=_settle)
