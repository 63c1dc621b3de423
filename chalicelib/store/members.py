"""Members: the member item (profile, points lots, growth, check-ins) and the identities that point
at it (openid, referral code); its history (ledger, tier changes) is in `ledger`.

| access pattern                                  | table / index                           | call     |
| ----------------------------------------------- | --------------------------------------- | -------- |
| member by member_id (+ program, + answer)       | members                                 | TransactGetItems |
| openid -> member_id, session_key                | identities `openid#<openid>`            | GetItem / UpdateItem |
| referral code -> member_id (unique)             | identities `referral#<code>`            | TransactGetItems |
| members by phone (store counter)                | members / `phone-index`                 | Query    |
| members holding points, by shard and the oldest | members / `expiry-index` (sparse)       | Query    |
|   year that can expire (yearly reset, reminder) |                                         |          |
| members above the base tier, by shard           | members / `tier-index` (sparse)         | Query    |
| every active member, by shard (jobs)            | members / `member-shard-index` (sparse) | Query    |
| members of an RFM segment, by shard             | members / `segment-index` (sparse)      | Query    |
| members by shard and latest order date, or      | members / `lifecycle-index`             | Query    |
|   join date if never ordered (automations)      |                                         |          |

Every change of a member's state is one transaction: the member update conditioned on the
`version` it read (every state write bumps it), its ledger entries (`seq + 1`, ... each
`attribute_not_exists`) and its tier change, beside whatever else the use case writes.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.domain.automations import OpenEntry, lifecycle_key
from chalicelib.domain.checkin import CheckinState
from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.orders import OrderDay
from chalicelib.domain.points import HeldPoints, PendingPoints, Points
from chalicelib.domain.tiers import TierChange
from chalicelib.errors import AlreadyMember
from chalicelib.store import ledger
from chalicelib.store.base import TableMeta, shard_of
from chalicelib.store.member_indexes import (
    ExpiryIndex,
    LifecycleIndex,
    MemberShardIndex,
    PhoneIndex,
    SegmentIndex,
    TierIndex,
)
from chalicelib.store.parts import (
    Check,
    Condition,
    Delete,
    Get,
    Put,
    Query,
    StaleRead,
    Update,
    Write,
    absent,
    add,
    assign,
    assign_entry,
    between,
    eq,
    has_entry,
    lacks,
    le,
    present,
)

PAGE_LIMIT = 100
# Written by every state write: the version, and the keys that place the member in the sparse
# indexes (they follow from the state and the program, which may have changed since).
ALWAYS_WRITTEN = ("version", "seq", "tier_shard", "expiry_shard", "expiry_year", "life_shard", "life_key")


class ReferralCodeTaken(StaleRead):
    """The freshly drawn referral code already belongs to someone: draw another."""


class MemberRecord(Model):
    """One member: profile, points lots, growth by year, check-ins and the ledger's sequence.

    `seq` is the number of the latest ledger entry; `version` counts state writes (the optimistic
    lock). A deleted member keeps only its tombstone (`TOMBSTONE`)."""

    class Meta(TableMeta):
        table_name = "members"

    member_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(default="active")
    openid = UnicodeAttribute(null=True)
    nickname = UnicodeAttribute(null=True)
    avatar_url = UnicodeAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    referral_code = UnicodeAttribute(null=True)
    referred_by = UnicodeAttribute(null=True)
    preferences: MapAttribute[str, Any] = MapAttribute(null=True)
    joined_at = UTCDateTimeAttribute()
    deleted_at = UTCDateTimeAttribute(null=True)
    lots: MapAttribute[str, Any] = MapAttribute(null=True)
    debt = NumberAttribute(default=0)
    pending: ListAttribute[Any] = ListAttribute(null=True)
    holds: MapAttribute[str, Any] = MapAttribute(null=True)  # checkout_id -> {"l": lots by year, "u": until}
    growth: MapAttribute[str, Any] = MapAttribute(null=True)
    tier_code = UnicodeAttribute(null=True)
    checkin_months: MapAttribute[str, Any] = MapAttribute(null=True)
    checkin_makeups: MapAttribute[str, Any] = MapAttribute(null=True)
    interactions: MapAttribute[str, Any] = MapAttribute(null=True)
    orders_count = NumberAttribute(default=0)
    order_days: MapAttribute[str, Any] = MapAttribute(null=True)
    active_days: MapAttribute[str, Any] = MapAttribute(null=True)
    tier_place = UnicodeAttribute(null=True)
    seq = NumberAttribute(default=0)
    version = NumberAttribute(null=True)
    expiry_shard = UnicodeAttribute(null=True)
    expiry_year = NumberAttribute(null=True)
    tier_shard = UnicodeAttribute(null=True)
    member_shard = UnicodeAttribute(null=True)
    rfm_segment = UnicodeAttribute(null=True)  # the RFM tags (store/segments.py); a close drops them
    rfm_changed = UnicodeAttribute(null=True)
    rfm_former = UnicodeAttribute(null=True)
    rfm_key = UnicodeAttribute(null=True)
    entered: MapAttribute[str, Any] = MapAttribute(null=True)  # automations (domain/automations.py)
    open_entries: ListAttribute[Any] = ListAttribute(null=True)
    life_shard = UnicodeAttribute(null=True)
    life_key = UnicodeAttribute(null=True)
    phone_index = PhoneIndex()
    expiry_index = ExpiryIndex()
    tier_index = TierIndex()
    member_shard_index = MemberShardIndex()
    segment_index = SegmentIndex()
    lifecycle_index = LifecycleIndex()


# What a closed account keeps: nothing personal. The close writes a new item of these attributes
# only, so a personal field added later cannot outlive the account.
TOMBSTONE = ("member_id", "status", "joined_at", "deleted_at", "seq", "version", "debt", "tier_code", "orders_count")


class IdentityRecord(Model):
    """A unique claim pointing at a member: `openid#<openid>` or `referral#<code>`. The openid
    claim exists from the first login (visitor) and holds the WeChat session_key, which never
    leaves the server; `member_id` is set by signup and removed by account deletion."""

    class Meta(TableMeta):
        table_name = "identities"

    key = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(null=True)
    session_key = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


MODELS: tuple[type[Model], ...] = (MemberRecord, IdentityRecord)


# ---- mapping -------------------------------------------------------------------------------------

def to_member(record: MemberRecord | None) -> Member | None:
    """The domain member of an active record (None when unknown, or for a closed account)."""
    if record is None or record.status != "active":
        return None
    pending = tuple(PendingPoints(p["order_id"], int(p["points"]),
                                  datetime.fromtimestamp(int(p["available_at"]), timezone.utc))
                    for p in (record.pending or []))
    return Member(
        member_id=record.member_id, openid=record.openid or "", joined_at=record.joined_at,
        seq=int(record.seq), version=int(record.version or 0), nickname=record.nickname,
        avatar_url=record.avatar_url, gender=record.gender, birthday=record.birthday, phone=record.phone,
        referral_code=record.referral_code, referred_by=record.referred_by,
        preferences=_map(record.preferences) or None,
        points=Points({int(y): int(p) for y, p in _map(record.lots).items()}, int(record.debt or 0), pending,
                      tuple(_held(checkout_id, h) for checkout_id, h in sorted(_map(record.holds).items()))),
        growth={int(y): int(v) for y, v in _map(record.growth).items()}, tier_code=record.tier_code,
        checkin=CheckinState({m: [int(d) for d in days] for m, days in _map(record.checkin_months).items()},
                             {m: int(n) for m, n in _map(record.checkin_makeups).items()}),
        interactions={day: {k: int(n) for k, n in counts.items()}
                      for day, counts in _map(record.interactions).items()},
        orders_count=int(record.orders_count or 0),
        order_days={date.fromisoformat(d): OrderDay(*(int(n) for n in v)) for d, v in _map(record.order_days).items()},
        active_days={m: int(mask) for m, mask in _map(record.active_days).items()},
        tier_place=record.tier_place, entered={k: str(v) for k, v in _map(record.entered).items()},
        open_entries=tuple(_open_entry(e) for e in (record.open_entries or [])),
    )


def _held(checkout_id: str, item: dict[str, Any]) -> HeldPoints:
    return HeldPoints(checkout_id, {int(y): int(p) for y, p in item["l"].items()},
                      datetime.fromtimestamp(int(item["u"]), timezone.utc))


def _open_entry(item: dict[str, Any]) -> OpenEntry:
    return OpenEntry(item["a"], bool(item["c"]), datetime.fromtimestamp(int(item["at"]), timezone.utc),
                     datetime.fromtimestamp(int(item["until"]), timezone.utc), bool(item["x"]), item.get("o") or None)


def _open_item(entry: OpenEntry) -> dict[str, Any]:
    item = {"a": entry.automation_id, "c": int(entry.control), "at": int(entry.at.timestamp()),
            "until": int(entry.until.timestamp()), "x": int(entry.converted)}
    return {**item, "o": entry.order_id} if entry.order_id else item


def _map(attribute: MapAttribute[str, Any] | None) -> dict[str, Any]:
    return dict(attribute.as_dict()) if attribute is not None else {}


def _state(member: Member, version: int, base_tier: str) -> dict[str, Any]:
    """Every attribute of a member's state (None: absent), with the sparse index keys that follow
    from it: a member holding points is in `expiry-index`, one above the base tier in `tier-index`,
    every member in `lifecycle-index` (by latest order date, or join date)."""
    points, oldest = member.points, member.points.oldest_year()
    pending = [{"order_id": p.order_id, "points": p.points, "available_at": int(p.available_at.timestamp())}
               for p in points.pending]
    above_base = member.tier_code is not None and member.tier_code != base_tier
    holds = {h.checkout_id: {"l": {str(y): n for y, n in h.lots.items()}, "u": int(h.expires_at.timestamp())}
             for h in points.holds}
    return {
        "lots": {str(y): n for y, n in points.lots.items()}, "debt": points.debt, "pending": pending or None,
        "holds": holds or None,
        "growth": {str(y): v for y, v in member.growth.items()}, "tier_code": member.tier_code,
        "tier_shard": shard_of(member.member_id) if above_base else None,
        "checkin_months": member.checkin.months or None, "checkin_makeups": member.checkin.makeups or None,
        "interactions": member.interactions or None, "orders_count": member.orders_count, "seq": member.seq,
        "order_days": {d.isoformat(): [o.orders, o.live, o.net_fen] for d, o in member.order_days.items()} or None,
        "active_days": member.active_days or None, "tier_place": member.tier_place,
        "version": version, "expiry_shard": None if oldest is None else shard_of(member.member_id),
        "expiry_year": oldest, "entered": member.entered or None,
        "open_entries": [_open_item(e) for e in member.open_entries] or None,
        "life_shard": shard_of(member.member_id), "life_key": lifecycle_key(member),
    }


def _unchanged(version: int) -> Condition:
    """The member is active and still at the version read (items older than `version` lack it)."""
    same = eq(MemberRecord.version, version) if version else lacks(MemberRecord.version) | eq(MemberRecord.version, 0)
    return same & eq(MemberRecord.status, "active")


# ---- reads ---------------------------------------------------------------------------------------

def member(member_id: str) -> Get[MemberRecord, Member | None]:
    """An active member by id (None if unknown or closed)."""
    return Get(MemberRecord, (member_id,), to_member)


def member_of_openid(openid: str) -> Get[IdentityRecord, str | None]:
    """The member_id an openid belongs to, if it signed up."""
    return Get(IdentityRecord, (f"openid#{openid}",), lambda r: r.member_id if r else None)


def referrer(code: str) -> Get[IdentityRecord, str | None]:
    """The member behind a referral code, if any."""
    return Get(IdentityRecord, (f"referral#{code}",), lambda r: r.member_id if r else None)


def by_phone(phone: str) -> Query[MemberRecord, Member | None]:
    """Members holding this phone number (closed accounts hold none)."""
    return Query(MemberRecord, phone, to_member, limit=20, index=PhoneIndex)


def with_points_to_expire(shard: str, up_to_year: int, cursor: str | None) -> Query[MemberRecord, Member | None]:
    """A shard's members whose oldest points are from `up_to_year` or before."""
    return Query(MemberRecord, shard, to_member, limit=PAGE_LIMIT, cursor=cursor, index=ExpiryIndex,
                 range=le(MemberRecord.expiry_year, up_to_year))


def above_base_tier(shard: str, cursor: str | None) -> Query[MemberRecord, Member | None]:
    """A shard's members whose recorded tier is above the base tier."""
    return Query(MemberRecord, shard, to_member, limit=PAGE_LIMIT, cursor=cursor, index=TierIndex)


def in_lifecycle(shard: str, low: str, high: str, cursor: str | None, limit: int = PAGE_LIMIT
                 ) -> Query[MemberRecord, Member | None]:
    """A shard's members whose `life_key` lies in [low, high] (see `LifecycleIndex`)."""
    return Query(MemberRecord, shard, to_member, limit=limit, cursor=cursor, index=LifecycleIndex,
                 range=between(MemberRecord.life_key, low, high))


def active(shard: str, cursor: str | None) -> Query[MemberRecord, Member | None]:
    """A shard's active members."""
    return Query(MemberRecord, shard, to_member, limit=PAGE_LIMIT, cursor=cursor, index=MemberShardIndex)


# ---- writes --------------------------------------------------------------------------------------

def save(before: Member, after: Member, entries: list[LedgerEntry], *, base_tier: str,
         tier_change: TierChange | None = None) -> list[Write]:
    """A member's new state (conditioned on the version of `before`, so the item is `before` when
    it is written and only what changed needs writing), its new ledger entries and its tier change."""
    was, state = _state(before, before.version, base_tier), _state(after, before.version + 1, base_tier)
    changed = {name: value for name, value in state.items() if name in ALWAYS_WRITTEN or value != was[name]}
    writes: list[Write] = [Update(MemberRecord, (after.member_id,),
                                  tuple(assign(getattr(MemberRecord, name), value) for name, value in changed.items()),
                                  condition=_unchanged(before.version))]
    writes += [ledger.entry_put(entry) for entry in entries]
    if tier_change is not None:
        writes.append(ledger.tier_change_put(tier_change, before.version + 1))
    return writes


def end_hold(member_id: str, checkout_id: str, at: datetime, error: Exception) -> Update:
    """End a checkout's open hold of points at `at` without reading the member: the hold lapses
    then, and every read and write after it returns the points (`points.matured`). The version
    moves on, so a write decided on the member as it was read before is decided again.

    Only for an active member who still has the hold and owes nothing (else `error`): without a
    debt, when a hold returns its points changes no earning year's lots (each point goes back to
    its own year), so the figures (`analytics.by_earning_year`) need no update; with a debt, the
    points that pay it depend on that instant, and the hold must be ended by a ledger plan."""
    return Update(MemberRecord, (member_id,),
                  (assign_entry(MemberRecord.holds, (checkout_id, "u"), int(at.timestamp())),
                   add(MemberRecord.version, 1)),
                  condition=has_entry(MemberRecord.holds, checkout_id) & eq(MemberRecord.status, "active")
                  & (lacks(MemberRecord.debt) | eq(MemberRecord.debt, 0)), error=error)


def new_record(member: Member, base_tier: str) -> MemberRecord:
    """The item of a member who has just signed up."""
    profile = {"openid": member.openid, "nickname": member.nickname, "avatar_url": member.avatar_url,
               "gender": member.gender, "birthday": member.birthday, "phone": member.phone,
               "referral_code": member.referral_code, "referred_by": member.referred_by,
               "preferences": member.preferences, "member_shard": shard_of(member.member_id)}
    values = {**profile, **_state(member, 1, base_tier)}
    return MemberRecord(member.member_id, status="active", joined_at=member.joined_at,
                        **{name: value for name, value in values.items() if value is not None})


def create(member: Member, entries: list[LedgerEntry], base_tier: str) -> list[Write]:
    """Claim the openid (AlreadyMember if taken) and a referral code (ReferralCodeTaken on a clash)
    and write the new member with its first ledger entries."""
    return [
        Update(IdentityRecord, (f"openid#{member.openid}",),
               (assign(IdentityRecord.member_id, member.member_id),
                assign(IdentityRecord.updated_at, member.joined_at)),
               condition=lacks(IdentityRecord.member_id), error=AlreadyMember()),
        Put(IdentityRecord(f"referral#{member.referral_code}", member_id=member.member_id,
                           updated_at=member.joined_at), absent(), ReferralCodeTaken()),
        Put(new_record(member, base_tier), absent()),
        *[ledger.entry_put(entry) for entry in entries],
    ]


def claim(member: Member, openid: str, profile: dict[str, Any], now: datetime) -> list[Write]:
    """Give an imported member (no openid yet, at the version read) the openid signing up with its
    phone, and the profile fields sent: claim the openid (AlreadyMember if taken)."""
    values = {"openid": openid, **profile, "version": member.version + 1}
    return [
        Update(IdentityRecord, (f"openid#{openid}",),
               (assign(IdentityRecord.member_id, member.member_id), assign(IdentityRecord.updated_at, now)),
               condition=lacks(IdentityRecord.member_id), error=AlreadyMember()),
        Update(MemberRecord, (member.member_id,),
               tuple(assign(getattr(MemberRecord, name), value) for name, value in values.items()),
               condition=_unchanged(member.version) & lacks(MemberRecord.openid)),
    ]


def no_import_waiting(member_id: str) -> Check:
    """Only if no imported member with this id waits for a WeChat account: none was imported, or
    it was claimed, or its account closed."""
    return Check(MemberRecord, (member_id,),
                 absent() | present(MemberRecord.openid) | eq(MemberRecord.status, "deleted"))


def close(member: Member, entries: list[LedgerEntry], now: datetime) -> list[Write]:
    """Replace the member by its tombstone with the closing ledger entries, free the openid (and
    erase its WeChat session_key) and the referral code (conditioned on the version read)."""
    tombstone: dict[str, Any] = {"member_id": member.member_id, "status": "deleted", "joined_at": member.joined_at,
                 "deleted_at": now, "seq": member.seq + len(entries), "version": member.version + 1, "debt": 0,
                 "tier_code": member.tier_code, "orders_count": member.orders_count}
    writes: list[Write] = [Put(MemberRecord(**{name: tombstone[name] for name in TOMBSTONE}),
                                _unchanged(member.version))]
    writes += [ledger.entry_put(entry) for entry in entries]
    writes.append(Update(IdentityRecord, (f"openid#{member.openid}",),
                         (assign(IdentityRecord.member_id, None), assign(IdentityRecord.session_key, None),
                          assign(IdentityRecord.updated_at, now)),
                         condition=eq(IdentityRecord.member_id, member.member_id)))
    if member.referral_code:
        writes.append(Delete(IdentityRecord, (f"referral#{member.referral_code}",)))
    return writes


def record_login(openid: str, session_key: str, now: datetime) -> Update:
    """Keep the openid's latest session_key (server side only); read back for its member_id."""
    return Update(IdentityRecord, (f"openid#{openid}",),
                  (assign(IdentityRecord.session_key, session_key), assign(IdentityRecord.updated_at, now)))


def profile_update(member_id: str, changes: dict[str, Any], *, birthday_unset: bool, error: Exception) -> Update:
    """Set (value) or remove (None) profile fields of an active member; with `birthday_unset`, only
    if no birthday was stored meanwhile. `error` if a condition fails."""
    condition = eq(MemberRecord.status, "active")
    if birthday_unset:
        condition &= lacks(MemberRecord.birthday)
    return Update(MemberRecord, (member_id,), tuple(assign(getattr(MemberRecord, name), value)
                                                    for name, value in changes.items()),
                  condition=condition, error=error)
