"""The member as the domain sees it, and how the contract renders it (Member, LedgerEntry)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib.clock import business_date, render
from chalicelib.domain.automations import OpenEntry
from chalicelib.domain.checkin import CheckinState, current_streak
from chalicelib.domain.orders import OrderDay
from chalicelib.domain.points import Points, expiry_schedule, matured, split_expired
from chalicelib.domain.program import Program, Tier
from chalicelib.domain.tiers import TierChange, growth_value, growth_view, tier_change, tier_view

GENDERS = ("male", "female", "unknown")
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERRAL_CODE_LENGTH = 8
ACCOUNT_CLOSED = "account_closed"  # the reason of the last entry of a closed account's ledger


@dataclass
class Member:
    """One member's state as read from the store: `seq` is the number of the latest ledger entry,
    `version` the number of state writes so far (the store's optimistic lock). `order_days` (orders
    by paid date), `active_days` (activity dates, monthly bitmasks) and `tier_place` (where the
    member counts in the tier figures) keep what RFM and the store-wide figures need; `entered` (the
    key of each automation's latest entry) and `open_entries` (entries within their attribution
    windows) what the automations need."""

    member_id: str
    openid: str
    joined_at: datetime
    seq: int = 0
    version: int = 0
    nickname: str | None = None
    avatar_url: str | None = None
    gender: str | None = None
    birthday: str | None = None
    phone: str | None = None
    referral_code: str | None = None
    referred_by: str | None = None
    preferences: dict[str, Any] | None = None
    points: Points = field(default_factory=Points)
    growth: dict[int, int] = field(default_factory=dict)
    tier_code: str | None = None
    checkin: CheckinState = field(default_factory=lambda: CheckinState({}, {}))
    interactions: dict[str, dict[str, int]] = field(default_factory=dict)
    orders_count: int = 0
    order_days: dict[date, OrderDay] = field(default_factory=dict)
    active_days: dict[str, int] = field(default_factory=dict)
    tier_place: str | None = None
    entered: dict[str, str] = field(default_factory=dict)
    open_entries: tuple[OpenEntry, ...] = ()


@dataclass(frozen=True)
class LedgerEntry:
    """One points change; `seq` numbers a member's entries from 1."""

    member_id: str
    seq: int
    delta: int
    balance_after: int
    reason: str
    created_at: datetime
    ref: str | None = None
    note: str | None = None
    actor: str | None = None

    @property
    def entry_id(self) -> str:
        """Globally unique, opaque id of the entry."""
        return f"{self.member_id}.{self.seq}"


def new_referral_code() -> str:
    """A random short invitation code (8 of 32 unambiguous characters: 40 bits)."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def imported_member_id(import_key: bytes, phone: str) -> str:
    """The id of the member the admin CLI imported with this phone: `m` + the first 20 hex digits
    of HMAC-SHA256(the store's import key, phone)."""
    return "m" + hmac.new(import_key, f"phone:{phone}".encode(), hashlib.sha256).hexdigest()[:20]


def normalise_referral_code(code: str) -> str:
    """Codes are matched case-insensitively and without surrounding blanks."""
    return code.strip().upper()


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` -> `138****5678`."""
    if not phone:
        return None
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def points_at(points: Points, now: datetime, keep_years: int) -> Points:
    """The points as they stand at `now`: matured pending points and lapsed holds in, expired lots out."""
    return split_expired(matured(points, now, keep_years)[0], now, keep_years)[0]


def member_tier(member: Member, program: Program, now: datetime) -> Tier:
    """The tier the member's growth reaches at `now`."""
    return program.tier_for(growth_value(member.growth, business_date(now)))


def member_view(member: Member, program: Program, now: datetime) -> dict[str, Any]:
    """The contract's Member shape, with points, tier and growth as of `now`."""
    keep_years = program.keep_years
    live = points_at(member.points, now, keep_years)
    today = business_date(now)
    growth = growth_value(member.growth, today)
    checkins = member.checkin.dates()
    return {
        "member_id": member.member_id,
        "nickname": member.nickname,
        "avatar_url": member.avatar_url,
        "gender": member.gender or "unknown",
        "birthday": member.birthday,
        "phone": mask_phone(member.phone),
        "joined_at": render(member.joined_at),
        "referral_code": member.referral_code,
        "tier": tier_view(program.tier_for(growth)),
        "growth": growth_view(program, member.growth, today),
        "points": {
            "balance": live.balance,
            "pending": live.pending_total,
            "held": live.held_total,
            "expiring": [{"points": p, "expires_at": render(at)} for p, at in expiry_schedule(live, keep_years)],
        },
        "checkin": {
            "streak": current_streak(checkins, today),
            "last_date": max(checkins).isoformat() if checkins else None,
        },
    }


def ledger_entry_view(entry: LedgerEntry) -> dict[str, Any]:
    """The contract's LedgerEntry shape."""
    return {
        "entry_id": entry.entry_id,
        "delta": entry.delta,
        "balance_after": entry.balance_after,
        "reason": entry.reason,
        "ref": entry.ref,
        "note": entry.note,
        "created_at": render(entry.created_at),
    }


@dataclass(frozen=True)
class Regrade:
    """A member's growth after an order or a refund, the growth value and the tier it reaches
    now, and the tier change to record (None when the recorded tier stays)."""

    growth: dict[int, int]
    value: int
    tier: Tier
    change: TierChange | None


def regrade(member: Member, program: Program, year: int, delta_yuan: int, cause: str, now: datetime) -> Regrade:
    """Add `delta_yuan` of growth to `year` and find the tier it reaches at `now`: upgrades and
    downgrades alike are immediate."""
    growth = {**member.growth, year: member.growth.get(year, 0) + delta_yuan}
    value = growth_value(growth, business_date(now))
    tier = program.tier_for(value)
    change = tier_change(member.member_id, member.tier_code or program.base_tier.code, tier, cause, now)
    return Regrade(growth, value, tier, change)
