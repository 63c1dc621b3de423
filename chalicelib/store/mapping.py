"""Conversions between pynamodb records and domain objects, and the attribute updates that keep a
member item's derived keys (expiry and tier shards) true to its state."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.domain.checkin import CheckinState
from chalicelib.domain.coupons import TEMPLATE_FIELDS, Coupon, Template
from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.orders import Order
from chalicelib.domain.points import PendingPoints, Points
from chalicelib.domain.rewards import REWARD_FIELDS, Redemption, Reward
from chalicelib.domain.program import default_program
from chalicelib.store.schema import (
    CouponRecord,
    CouponTemplateRecord,
    IdempotencyRecord,
    LedgerRecord,
    MemberRecord,
    OrderRecord,
    RedemptionRecord,
    RewardRecord,
    SettingRecord,
)

SHARDS = 16
TEMPLATE_CATALOG = "main"
IDEMPOTENCY_TTL = timedelta(days=30)


def shard_of(member_id: str) -> str:
    """The member's fan-out shard (`00`..`15`), stable for its lifetime."""
    return f"{int(hashlib.sha256(member_id.encode()).hexdigest()[:8], 16) % SHARDS:02d}"


def to_member(record: MemberRecord) -> Member | None:
    """The domain member of an active record (None for a deleted member's tombstone)."""
    if record.status != "active":
        return None
    lots = record.lots.as_dict() if record.lots else {}
    growth = record.growth.as_dict() if record.growth else {}
    pending = tuple(PendingPoints(p["order_id"], int(p["points"]),
                                  datetime.fromtimestamp(int(p["available_at"]), timezone.utc))
                    for p in (record.pending or []))
    return Member(
        member_id=record.member_id, openid=record.openid or "", joined_at=record.joined_at,
        seq=int(record.seq), nickname=record.nickname, avatar_url=record.avatar_url,
        gender=record.gender, birthday=record.birthday, phone=record.phone,
        referral_code=record.referral_code, referred_by=record.referred_by,
        preferences=record.preferences.as_dict() if record.preferences else None,
        points=Points({int(y): int(p) for y, p in lots.items()}, int(record.debt or 0), pending),
        growth={int(y): int(v) for y, v in growth.items()}, tier_code=record.tier_code,
        checkin=CheckinState(
            {m: [int(d) for d in days] for m, days in _raw_map(record.checkin_months).items()},
            {m: int(n) for m, n in _raw_map(record.checkin_makeups).items()}),
        interactions=record.interactions.as_dict() if record.interactions else {},
        orders_count=int(record.orders_count or 0),
    )


def _raw_map(attribute: Any) -> dict[str, Any]:
    return attribute.as_dict() if attribute else {}


def new_member_record(member: Member, base_tier: str) -> MemberRecord:
    """The item of a member who has just signed up."""
    record = MemberRecord(
        member.member_id, status="active", openid=member.openid, nickname=member.nickname,
        avatar_url=member.avatar_url, gender=member.gender, birthday=member.birthday,
        phone=member.phone, referral_code=member.referral_code, referred_by=member.referred_by,
        preferences=member.preferences, joined_at=member.joined_at, lots=_lots(member.points),
        debt=member.points.debt, growth={}, tier_code=base_tier, seq=member.seq,
        member_shard=shard_of(member.member_id),
    )
    if member.points.oldest_year() is not None:
        record.expiry_shard = shard_of(member.member_id)
        record.expiry_year = member.points.oldest_year()
    return record


def points_actions(member_id: str, points: Points, seq: int) -> list[Action]:
    """Write a member's points and ledger sequence, keeping the sparse expiry keys in step."""
    actions = [MemberRecord.lots.set(_lots(points)), MemberRecord.debt.set(points.debt),
               MemberRecord.seq.set(seq)]
    if points.pending:
        actions.append(MemberRecord.pending.set([
            {"order_id": p.order_id, "points": p.points, "available_at": int(p.available_at.timestamp())}
            for p in points.pending]))
    else:
        actions.append(MemberRecord.pending.remove())
    oldest = points.oldest_year()
    if oldest is None:
        actions += [MemberRecord.expiry_shard.remove(), MemberRecord.expiry_year.remove()]
    else:
        actions += [MemberRecord.expiry_shard.set(shard_of(member_id)), MemberRecord.expiry_year.set(oldest)]
    return actions


def tier_actions(member_id: str, tier_code: str, base_tier: str) -> list[Action]:
    """Record the member's tier; only members above the base tier are in the sparse tier index."""
    shard = MemberRecord.tier_shard.remove() if tier_code == base_tier else \
        MemberRecord.tier_shard.set(shard_of(member_id))
    return [MemberRecord.tier_code.set(tier_code), shard]


def _lots(points: Points) -> dict[str, int]:
    return {str(year): amount for year, amount in points.lots.items()}


def to_entry(record: LedgerRecord) -> LedgerEntry:
    """A ledger entry from its record."""
    return LedgerEntry(
        member_id=record.member_id, seq=int(record.seq), delta=int(record.delta),
        balance_after=int(record.balance_after), reason=record.reason, created_at=record.created_at,
        ref=record.ref, note=record.note, actor=record.actor,
    )


def entry_record(entry: LedgerEntry) -> LedgerRecord:
    """The record of a ledger entry."""
    return LedgerRecord(
        entry.member_id, entry.seq, delta=entry.delta, balance_after=entry.balance_after,
        reason=entry.reason, ref=entry.ref, note=entry.note, actor=entry.actor, created_at=entry.created_at,
    )


def to_order(record: OrderRecord) -> Order:
    """An order from its record."""
    return Order(
        order_id=record.order_id, member_id=record.member_id, amount_fen=int(record.amount_fen),
        paid_at=record.paid_at, points_awarded=int(record.points_awarded),
        growth_year=int(record.growth_year), fingerprint=record.fingerprint, coupon_id=record.coupon_id,
        refunded_fen=int(record.refunded_fen or 0), points_clawed_back=int(record.points_clawed_back or 0),
        version=int(record.version or 0),
    )


def program_from(record: SettingRecord | None) -> dict[str, Any]:
    """The stored program, or the default when none was ever stored."""
    return json.loads(record.value) if record else default_program()


def answer_record(key: str, fingerprint: str, status: int, body: Any, now: datetime) -> IdempotencyRecord:
    """The idempotency record of a first answer, expiring after a generous window."""
    return IdempotencyRecord(key, fingerprint=fingerprint, status=status,
                             body=json.dumps(body, ensure_ascii=False), expires_at=now + IDEMPOTENCY_TTL)


def wallet_key(coupon: Coupon) -> str:
    """Where the coupon sorts in its member's wallet (see `WalletIndex`)."""
    if coupon.used_at is not None:
        return f"x#{int(coupon.used_at.timestamp()):012d}#{coupon.coupon_id}"
    return f"u#{int(coupon.valid_until.timestamp()):012d}#{coupon.coupon_id}"


def to_template(record: CouponTemplateRecord) -> Template:
    """A coupon template from its record."""
    return Template(template_id=record.template_id, issued=int(record.issued or 0),
                    version=int(record.version or 0), **json.loads(record.definition))


def template_record(template: Template, now: datetime) -> CouponTemplateRecord:
    """The record of a new coupon template."""
    definition = {name: getattr(template, name) for name in TEMPLATE_FIELDS}
    return CouponTemplateRecord(TEMPLATE_CATALOG, template.template_id, issued=template.issued,
                                definition=json.dumps(definition, ensure_ascii=False), version=template.version,
                                created_at=now)


def template_definition(template: Template) -> str:
    """A template's editable fields as stored."""
    return json.dumps({name: getattr(template, name) for name in TEMPLATE_FIELDS}, ensure_ascii=False)


def to_coupon(record: CouponRecord) -> Coupon:
    """A coupon from its record."""
    return Coupon(
        member_id=record.member_id, coupon_id=record.coupon_id, template_id=record.template_id,
        name=record.name, kind=record.kind, amount_off_fen=_int_or_none(record.amount_off_fen),
        percent_off_pct=_int_or_none(record.percent_off_pct), max_discount_fen=_int_or_none(record.max_discount_fen),
        min_spend_fen=int(record.min_spend_fen or 0), valid_from=record.valid_from, valid_until=record.valid_until,
        source=record.source, obtained_at=record.obtained_at, used_at=record.used_at, order_id=record.order_id,
    )


def coupon_record(coupon: Coupon) -> CouponRecord:
    """The record of a coupon."""
    return CouponRecord(
        coupon.member_id, coupon.coupon_id, wallet_key=wallet_key(coupon), template_id=coupon.template_id,
        name=coupon.name, kind=coupon.kind, amount_off_fen=coupon.amount_off_fen,
        percent_off_pct=coupon.percent_off_pct, max_discount_fen=coupon.max_discount_fen,
        min_spend_fen=coupon.min_spend_fen, valid_from=coupon.valid_from, valid_until=coupon.valid_until,
        source=coupon.source, obtained_at=coupon.obtained_at, used_at=coupon.used_at, order_id=coupon.order_id,
        expiry_shard=None if coupon.used_at else shard_of(coupon.member_id),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def to_reward(record: RewardRecord) -> Reward:
    """A reward from its record."""
    return Reward(reward_id=record.reward_id, redeemed=int(record.redeemed or 0), version=int(record.version or 0),
                  **json.loads(record.definition))


def reward_definition(reward: Reward) -> str:
    """A reward's editable fields as stored."""
    return json.dumps({name: getattr(reward, name) for name in REWARD_FIELDS}, ensure_ascii=False)


def to_redemption(record: RedemptionRecord) -> Redemption:
    """A redemption from its record."""
    return Redemption(
        redemption_id=record.redemption_id, reward_id=record.reward_id, member_id=record.member_id,
        reward_name=record.reward_name, kind=record.kind, points_spent=int(record.points_spent),
        created_at=record.created_at, coupon_id=record.coupon_id, status=record.fulfilment_status,
        shipped_at=record.shipped_at, note=record.note,
    )


def redemption_record(redemption: Redemption) -> RedemptionRecord:
    """The record of a redemption."""
    return RedemptionRecord(
        redemption.redemption_id, reward_id=redemption.reward_id, member_id=redemption.member_id,
        reward_name=redemption.reward_name, kind=redemption.kind, points_spent=redemption.points_spent,
        created_at=redemption.created_at, coupon_id=redemption.coupon_id, fulfilment_status=redemption.status,
        shipped_at=redemption.shipped_at, note=redemption.note,
    )
