"""Coupons: the merchant's templates, the coupon center, claims, the wallet, the checkout picker,
and every other way a coupon is issued (signup gift, targeted issue, jobs)."""
from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.coupons import (
    Coupon,
    Template,
    coupon_view,
    discount_fen,
    new_coupon,
    template_view,
    unusable_reason,
    validate_template,
)
from chalicelib.domain.member import Member, member_tier
from chalicelib.domain.program import Program
from chalicelib.domain.tiers import check_tier_codes
from chalicelib.domain.tokens import Principal
from chalicelib.errors import NotFound
from chalicelib.services.catalog import Catalog, sent_tiers
from chalicelib.services.common import (
    existing_member_id,
    fingerprint,
    live_member_id,
    refuse,
    resolve_member,
    run_for_member,
)
from chalicelib.services.figures import activity, issued
from chalicelib.services.runner import RECORDED_ANSWER, Command, Decision, run
from chalicelib.store import coupons, members, settings
from chalicelib.store.idempotency import RequestKey, StoredAnswer
from chalicelib.store.parts import Get, UnitOfWork, Write, every

STATUSES = ("unused", "used", "expired")
# Members per batch of a targeted issue: its read holds each member and its count plus the
# program, the template and the answer, within the 25 items of one TransactGetItems.
ISSUE_BATCH = 11
JOB_ISSUE_PARTS = 3  # per coupon `job_issue` writes: its idempotency record, the coupon, the member's count
TEMPLATES = Catalog(coupons.templates_page, coupons.template_cursor, coupons.template, coupons.edit_template,
                    validate_template, "优惠券模板不存在")


def new_coupon_id(now: datetime) -> str:
    """A unique, roughly time-ordered coupon id."""
    return f"c{int(now.timestamp() * 1000):x}{secrets.token_hex(5)}"


def _coupon(template: Template, member_id: str, source: str, now: datetime) -> Coupon:
    return new_coupon(template, member_id, new_coupon_id(now), source, now.replace(microsecond=0))


# ---- the merchant's templates ------------------------------------------------------------------

def create_template(uow: UnitOfWork, document: Any) -> dict[str, Any]:
    """Validate and store a new template (its tiers must be the program's)."""
    values = validate_template(document)
    check_tier_codes(sent_tiers(document, values["tiers"]), uow.read(program=settings.program())["program"])
    template = Template(template_id="t" + secrets.token_hex(8), **values)
    uow.write(coupons.add_template(template, clock.now()))
    return template_view(template)


def patch_template(uow: UnitOfWork, template_id: str, changes: Any) -> dict[str, Any]:
    """Change some fields of a template (the result is validated as a whole)."""
    return template_view(TEMPLATES.patch(uow, template_id, changes))


def list_templates(uow: UnitOfWork, *, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
    """A page of the templates for the merchant, by id: {"items", "next_cursor"} (one Query)."""
    items, next_cursor = TEMPLATES.page_of(uow, limit, cursor)
    return {"items": [template_view(t) for t in items], "next_cursor": next_cursor}


def get_template(uow: UnitOfWork, template_id: str) -> dict[str, Any]:
    """One template for the merchant (NotFound when unknown)."""
    return template_view(TEMPLATES.one(uow, template_id))


# ---- the member's side -------------------------------------------------------------------------

def coupon_center(uow: UnitOfWork, principal: Principal | None) -> dict[str, Any]:
    """Active, claimable templates with stock left whose validity has not ended; a member sees
    those their tier allows, a visitor those open to every tier. One Query, and one more read for
    the member's tier only when some template is restricted to tiers."""
    now = clock.now()
    shown = TEMPLATES.shown_to(uow, principal,
                               lambda t: t.active and t.claimable and t.stock_left != 0 and not t.ended(now))
    return {"items": [template_view(t) for t in shown]}


def claim(uow: UnitOfWork, principal: Principal, template_id: str, request_id: str) -> tuple[int, Any]:
    """Take a coupon from the coupon center: stock and the per-member limit are checked in the
    same transaction that issues it; idempotent by request_id (one read, one transaction)."""
    def command_for(member_id: str) -> Command[dict[str, Any]]:
        def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
            template: Template | None = read["template"]
            if template is None or not template.active or not template.claimable:
                raise NotFound("优惠券不存在或已下架")
            now = clock.now()
            refuse(template.refusal(read["claimed"], now=now,
                                    tier_code=member_tier(read["member"], read["program"], now).code))
            coupon = _coupon(template, member_id, "claim", now)
            return Decision(coupon_view(coupon, now), [*issued(template, [coupon]),
                                                       *activity(read["member"], read["program"], now)])

        reads: dict[str, Get[Any, Any]] = {
            "member": members.member(member_id), "program": settings.program(),
            "template": coupons.template(template_id), "claimed": coupons.claimed(member_id, template_id)}
        return Command(reads, decide, key=RequestKey(f"member:{member_id}:{request_id}"),
                       fingerprint=fingerprint("POST /v1/coupon-center/{template_id}/claim",
                                               {"template_id": template_id}))

    return run_for_member(uow, principal, command_for)


def signup_gift(uow: UnitOfWork, member: Member, program: Program, now: datetime) -> list[Write]:
    """The signup gift's coupons for a new member (one read of the templates); templates that are
    inactive, ended or out of stock are skipped rather than failing the signup."""
    template_ids = list(dict.fromkeys(program.signup_gift.coupon_template_ids))
    if not template_ids:
        return []
    found = uow.read(**{f"t{i}": coupons.template(t) for i, t in enumerate(template_ids)})
    writes: list[Write] = []
    for template in found.values():
        if template is not None and template.refusal(0, now=now) is None:
            writes += issued(template, [_coupon(template, member.member_id, "signup", now)])
    return writes


def wallet(uow: UnitOfWork, principal: Principal, status: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The member's coupons of one status, a page at a time: every page checks that the token's
    member is live and still its openid's (one read), then reads the page (one Query)."""
    return _wallet_page(uow, live_member_id(uow, principal), status, limit, cursor)


def wallet_for_admin(uow: UnitOfWork, member_id: str, status: str, *, limit: int,
                     cursor: str | None) -> dict[str, Any]:
    """A member's coupons of one status for the merchant, the same items the member sees (NotFound
    when the member is closed or unknown): one read, one Query."""
    return _wallet_page(uow, existing_member_id(uow, member_id), status, limit, cursor)


def _wallet_page(uow: UnitOfWork, member_id: str, status: str, limit: int, cursor: str | None) -> dict[str, Any]:
    now = clock.now()
    page = uow.query(coupons.wallet(member_id, status, now, limit, cursor))
    return {"items": [coupon_view(c, now) for c in page.items if c is not None], "next_cursor": page.cursor}


def get_coupon(uow: UnitOfWork, principal: Principal, coupon_id: str) -> dict[str, Any]:
    """One of the member's coupons; anyone else's is not found."""
    member, _ = resolve_member(uow, principal)
    found: Coupon | None = uow.read(coupon=coupons.coupon(member.member_id, coupon_id))["coupon"]
    if found is None:
        raise NotFound("优惠券不存在")
    return coupon_view(found, clock.now())


def usable(uow: UnitOfWork, principal: Principal, subtotal_fen: int) -> dict[str, Any]:
    """The checkout picker: unused coupons valid now whose threshold the subtotal meets, best
    discount first."""
    member, _ = resolve_member(uow, principal)
    now = clock.now()
    unused = every(uow, lambda cursor: coupons.wallet(member.member_id, "unused", now, 100, cursor))
    found = [c for c in unused if c is not None and unusable_reason(c, subtotal_fen, now) is None]
    ranked = sorted(found, key=lambda c: (-discount_fen(c, subtotal_fen), c.valid_until))
    return {"items": [{**coupon_view(c, now), "discount_fen": discount_fen(c, subtotal_fen)} for c in ranked]}


# ---- issuing to chosen members -----------------------------------------------------------------

ISSUE_ROUTE = "POST /v1/admin/coupons/issue"


def issue_to_members(uow: UnitOfWork, template_id: str, member_ids: list[str], request_id: str,
                     actor: str) -> tuple[int, Any]:
    """Targeted issue: one coupon of the template to each listed member, in batches of 11 (one
    read and one transaction each). Per-member limits, tiers and stock still apply; members who
    cannot get one are counted as skipped. Idempotent by request_id, batch by batch, so a retry
    after a failure half-way finishes the job without issuing anything twice."""
    digest = fingerprint(ISSUE_ROUTE, {"template_id": template_id, "member_ids": member_ids})

    def issue_all(key: str) -> Counter[str]:
        totals: Counter[str] = Counter()
        for number, start in enumerate(range(0, len(member_ids), ISSUE_BATCH)):
            batch = member_ids[start:start + ISSUE_BATCH]
            totals.update(run(uow, issue_batch(template_id, batch, RequestKey(f"{key}:{number}"), digest))[1])
        return totals

    return issue_targeted(uow, template_id, f"admin:{actor}:{request_id}", digest, issue_all)


def issue_targeted(uow: UnitOfWork, template_id: str, key: str, digest: str,
                   issue_all: Callable[[str], Counter[str]]) -> tuple[int, Any]:
    """A targeted issue under the request's `key`: the answer recorded for it, or `issue_all`'s
    totals (it issues batch by batch, each batch keyed under `key`), then recorded."""
    read = uow.read(answer=RequestKey(key).read, template=coupons.template(template_id))
    if read["answer"] is None and read["template"] is None:
        raise NotFound("优惠券模板不存在")
    totals = {"issued": 0, "skipped": 0}
    if read["answer"] is None:
        counted = issue_all(key)
        totals = {name: counted[name] for name in totals}
    finish = Command({}, lambda _: Decision(totals, status=202), key=RequestKey(key), fingerprint=digest,
                     first={RECORDED_ANSWER: read["answer"]})
    return run(uow, finish)


def issue_batch(template_id: str, member_ids: list[str], key: RequestKey, digest: str,
                note: dict[str, Any] | None = None) -> Command[dict[str, Any]]:
    """One batch of a targeted issue (at most ISSUE_BATCH members): its answer `{"issued",
    "skipped"}` (and `note`) is recorded under `key`."""
    reads: dict[str, Get[Any, Any]] = {"program": settings.program(), "template": coupons.template(template_id)}
    for i, member_id in enumerate(member_ids):
        reads[f"member{i}"] = members.member(member_id)
        reads[f"claimed{i}"] = coupons.claimed(member_id, template_id)

    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        template: Template | None = read["template"]
        if template is None or not template.active:
            raise NotFound("优惠券模板不存在或已停用")
        now = clock.now()
        given: list[Coupon] = []
        for i in range(len(member_ids)):
            member: Member | None = read[f"member{i}"]
            if member is None:
                continue
            tier = member_tier(member, read["program"], now).code
            if template.refusal(read[f"claimed{i}"], now=now, tier_code=tier, issuing=len(given)) is None:
                given.append(_coupon(template, member.member_id, "admin", now))
        counts = {"issued": len(given), "skipped": len(member_ids) - len(given), **(note or {})}
        return Decision(counts, issued(template, given) if given else [], status=202)

    return Command(reads, decide, key=key, fingerprint=digest)


def _job_answer(template: Template, coupon: Coupon) -> dict[str, Any]:
    """What a job records (and a re-run replays) for the coupon it gave under a member's key."""
    return {"coupon_id": coupon.coupon_id, "name": template.name}


def job_coupon(template: Template, member: Member, program: Program, claimed: int, *, source: str,
               as_of: datetime, issuing: int) -> Coupon | None:
    """The coupon a job gives a member it read with `claimed` of the template, while `issuing`
    others go out in the same step; None when the template refuses it (active, stock, limit, tier)."""
    tier = member_tier(member, program, as_of).code
    if template.refusal(claimed, now=as_of, tier_code=tier, issuing=issuing) is not None:
        return None
    return _coupon(template, member.member_id, source, as_of)


def job_issue(template: Template, given: list[tuple[str, Coupon]], *, job: str, now: datetime) -> list[Write]:
    """Issue the coupons of one batch of a job, each with its member's idempotency record (the
    answer `issue_by_job` records under the same key): (key, coupon) pairs. Each coupon adds
    `JOB_ISSUE_PARTS` parts; the template's count and the figures' counters come once per batch
    and shard (merged)."""
    records = [RequestKey(key).record(StoredAnswer(job, 201, _job_answer(template, coupon)), now)
               for key, coupon in given]
    return [record for record in records if record is not None] + issued(template, [c for _, c in given])


def issue_by_job(uow: UnitOfWork, member: Member, template_id: str, key: str, *, job: str, source: str,
                 as_of: datetime, dry_run: bool) -> tuple[str | None, bool]:
    """Issue the template to the member once per `key` (active, stock, per-member limit and tier
    apply): (the coupon's name if the member has it under `key`, whether it was issued now or,
    dry, would be)."""
    decided: list[dict[str, Any]] = []

    def decide(read: dict[str, Any]) -> Decision[dict[str, Any]]:
        template: Template | None = read["template"]
        current: Member | None = read["member"]
        coupon = job_coupon(template, current, read["program"], read["claimed"], source=source, as_of=as_of,
                            issuing=0) if template is not None and current is not None else None
        if template is None or coupon is None:
            raise NotFound()
        decided.append(_job_answer(template, coupon))
        return Decision(decided[-1], issued(template, [coupon]))

    reads: dict[str, Get[Any, Any]] = {
        "member": members.member(member.member_id), "program": settings.program(),
        "template": coupons.template(template_id), "claimed": coupons.claimed(member.member_id, template_id)}
    try:
        _, answer = run(uow, Command(reads, decide, key=RequestKey(key), fingerprint=job), dry_run=dry_run)
    except NotFound:  # no such member or template, or the template refuses: nothing to give
        return None, False
    # Issued now if the answer is the one this call decided, not one an earlier run recorded.
    return answer.get("name"), bool(decided) and answer is decided[-1]
