"""Lifecycle automations (§8) where they meet a change: an order's conversions and its purchase
streaks (in the order's own transaction), the rewards of a treated entry, the notices after the
change, and the results the merchant reads."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.automations import Entering, convert, enter, entering, streak_key
from chalicelib.domain.coupons import Coupon, Template, coupon_view
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.lift import result_view
from chalicelib.domain.member import Member
from chalicelib.domain.orders import paid_date
from chalicelib.domain.program import Program
from chalicelib.domain.tiers import keep_view
from chalicelib.services import notify
from chalicelib.services.coupons import job_coupon
from chalicelib.services.figures import issued
from chalicelib.store import automations, coupons
from chalicelib.store.base import shard_of
from chalicelib.store.parts import Get, UnitOfWork, Write, every, read_all
from chalicelib.wechat.miniprogram import WeChatGateway

SOURCE = "automation"  # the coupons' source and the ledger entries' reason
NOTICE_JOB = "automations"  # what the order's notices are recorded under (one per template and date)


@dataclass
class Rewards:
    """What treated entries give, decided before the member is saved: the coupons by template (with
    the templates and the members' counts read for them), and what each entry gave."""

    templates: dict[str, Template | None] = field(default_factory=dict)
    claimed: dict[tuple[str, str], int] = field(default_factory=dict)
    given: dict[str, list[Coupon]] = field(default_factory=dict)
    answers: list[dict[str, Any]] = field(default_factory=list)

    def give(self, member: Member, item: Entering, plan: LedgerPlan, program: Program, now: datetime) -> None:
        """A treated entry's points (ledger reason `automation`, ref the automation's id) and coupon
        (if the template still gives one: active, stock, the member's limit and tier)."""
        rule = item.automation
        if item.control:
            return
        if rule.points:
            plan.add(rule.points, SOURCE, ref=rule.id, note=rule.name)
        coupon = None
        template = self.templates.get(rule.coupon_template_id or "")
        if template is not None:
            given = self.given.setdefault(template.template_id, [])
            claimed = self.claimed.get((member.member_id, template.template_id), 0)
            claimed += sum(1 for c in given if c.member_id == member.member_id)
            coupon = job_coupon(template, member, program, claimed, source=SOURCE, as_of=now, issuing=len(given))
            if coupon is not None:
                given.append(coupon)
        self.answers.append({"id": rule.id, "points": rule.points,
                             "coupon": coupon_view(coupon, now) if coupon else None})

    def committed(self) -> None:
        """The coupons given are issued: count them in their templates and the members' counts."""
        for template_id, given in self.given.items():
            template = self.templates[template_id]
            if template is not None:
                self.templates[template_id] = replace(template, issued=template.issued + len(given))
            for coupon in given:
                self.claimed[(coupon.member_id, template_id)] = self.claimed.get((coupon.member_id, template_id), 0) + 1
        self.given.clear()
        self.answers.clear()

    def writes(self) -> list[Write]:
        """The coupons given, each template's in one issue."""
        writes: list[Write] = []
        for template_id, given in self.given.items():
            template = self.templates[template_id]
            if given and template is not None:
                writes += issued(template, given)
        return writes


def reads_for(entries: Iterable[tuple[Member, list[Entering]]]) -> dict[str, Get[Any, Any]]:
    """What the rewards of treated entries need read: their templates and the members' counts."""
    reads: dict[str, Get[Any, Any]] = {}
    for member, items in entries:
        for item in items:
            template_id = item.automation.coupon_template_id
            if template_id and not item.control:
                reads[f"t:{template_id}"] = coupons.template(template_id)
                reads[f"c:{member.member_id}:{template_id}"] = coupons.claimed(member.member_id, template_id)
    return reads


def rewards_from(read: dict[str, Any]) -> Rewards:
    """The rewards' state from what `reads_for` read."""
    rewards = Rewards()
    for name, value in read.items():
        kind, _, rest = name.partition(":")
        if kind == "t":
            rewards.templates[rest] = value
        elif kind == "c":
            member_id, _, template_id = rest.partition(":")
            rewards.claimed[(member_id, template_id)] = value
    return rewards


@dataclass
class OrderAutomations:
    """What an order does to the member's automations: the member after, the writes (counters,
    coupons), the treated rewards for the answer and the notices to send once committed (within
    the program's `weekly_cap`)."""

    member: Member
    writes: list[Write]
    answers: list[dict[str, Any]]
    notices: list[tuple[str, dict[str, Any]]]
    weekly_cap: int


def on_order(uow: UnitOfWork, member: Member, program: Program, plan: LedgerPlan, order_id: str, paid_at: datetime,
             amount_fen: int) -> OrderAutomations:
    """An order (already in `member.order_days`) converts the member's open entries whose window
    holds its payment, and enters the purchase streaks it completes (a treated entry's rewards in
    `plan` and the coupons; one more read only when one gives a coupon)."""
    now = plan.now
    member, counts = convert(member, order_id, paid_at, amount_fen, now)
    items = [item for rule in program.automations if rule.trigger == "purchase_streak"
             for item in [entering(rule, member, streak_key(rule, member.order_days, paid_date(paid_at)))] if item]
    reads = reads_for([(member, items)])
    rewards = rewards_from(read_all(uow, reads)) if reads else Rewards()
    for item in items:
        rewards.give(member, item, plan, program, now)
    member, entered = enter(member, items, now, order_id=order_id)
    counts.update(entered)
    notices = [(item.automation.notice_template_id, notice_values(item, member, program, now))
               for item in items if not item.control and item.automation.notice_template_id]
    return OrderAutomations(member, automations.count(shard_of(member.member_id), counts) + rewards.writes(),
                            rewards.answers, notices, program.notifications.weekly_cap)


def notice_values(item: Entering, member: Member, program: Program, at: datetime) -> dict[str, Any]:
    """An automation's notice: `thing1` its name, `thing2` what it gives (for `tier_at_risk`: the
    spend that keeps the tier), `date3` the day."""
    rule = item.automation
    offer = f"{rule.points}积分" if rule.points else "专属优惠券" if rule.coupon_template_id else rule.name
    if rule.trigger == "tier_at_risk":
        keep = keep_view(program, member.growth, clock.business_date(at))
        if keep is not None:
            offer = f"再消费{keep['to_keep']}元保级{program.tier_name(keep['tier'])}"
    return {"thing1": rule.name, "thing2": offer, "date3": clock.business_date(at)}


def notify_decided(uow: UnitOfWork, wechat: WeChatGateway | None, decided: list[tuple[OrderAutomations, Any]],
                   answer: Any) -> None:
    """Send the notices of an order's streak entries once the order is recorded (its answer is the
    one last decided, not a replayed one): one per template and business date."""
    if not decided or answer is not decided[-1][1] or wechat is None:
        return
    done, at = decided[-1][0], clock.now()
    for template_id, values in done.notices:
        notify.send_notice(uow, wechat, done.member.member_id, done.member.openid, template_id, values,
                           job=NOTICE_JOB, business_date=clock.business_date(at), now=at, weekly_cap=done.weekly_cap)


def configured(program: Program) -> list[Write]:
    """Keep every automation of a program among those ever configured (for the results)."""
    return [automations.configured(rule) for rule in program.automations]


def results(uow: UnitOfWork) -> dict[str, Any]:
    """`{"items": [AutomationResult]}`: one per automation ever configured, by id, from one Query."""
    names: dict[str, str] = {}
    totals: Counter[str] = Counter()
    for key, name, counters in every(uow, automations.results):
        if key.startswith("def#"):
            names[key[4:]] = name or key[4:]
        else:
            totals.update(counters)
    return {"items": [result_view(automation_id, names[automation_id], totals) for automation_id in sorted(names)]}
