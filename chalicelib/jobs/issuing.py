"""Issuing one coupon template to one member from a job, once per idempotency key."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.coupons import Template, new_coupon
from chalicelib.domain.member import Member, member_tier
from chalicelib.services.common import retrying
from chalicelib.services.coupons import new_coupon_id
from chalicelib.store.base import IdempotencyRecordExists
from chalicelib.store.repository import AnswerToStore, IssuedCoupons, store


def issue_once(member: Member, template_id: str, key: str, *, job: str, source: str, as_of: datetime,
               dry_run: bool) -> tuple[str | None, bool]:
    """Issue the template to the member unless `key` is recorded (active, stock, per-member limit
    and tiers apply): (the coupon's name if the member has it under `key`, whether it was issued now)."""

    def attempt() -> tuple[str | None, bool]:
        fresh, program, templates, claims, stored = store().claim_context(member.member_id, [template_id], key)
        template = templates.get(template_id)
        if template is None or fresh is None:
            return None, False
        if stored:
            return template.name, False
        if not _eligible(template, fresh, program, claims, as_of):
            return None, False
        if dry_run:
            return template.name, True
        coupon = new_coupon(template, fresh.member_id, new_coupon_id(as_of), source, as_of.replace(microsecond=0))
        try:
            store().commit(now=as_of, answer=AnswerToStore(key, job, 201, {"coupon_id": coupon.coupon_id}),
                           issued=[IssuedCoupons(template, [(coupon, claims.get(template_id, 0))])])
        except IdempotencyRecordExists:
            return template.name, False  # a concurrent run issued it
        return template.name, True

    return retrying(attempt)


def _eligible(template: Template, member: Member, program: dict[str, Any], claims: dict[str, int],
              as_of: datetime) -> bool:
    """Active, in stock, under the member's limit and open to the member's tier."""
    under_limit = template.per_member_limit is None or claims.get(template.template_id, 0) < template.per_member_limit
    return template.active and template.stock_left != 0 and under_limit and \
        template.allows_tier(member_tier(member, program, as_of)["code"])
