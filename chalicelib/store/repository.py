"""The repository: every DynamoDB call the app makes. Services see domain objects (`Member`,
`LedgerEntry`, `Order`), never pynamodb models, and named errors, never DynamoDB's.

Each method is one round trip unless its docstring says otherwise. Every change of points is one
transaction: the member update conditioned on the `seq` it read, its ledger entries
(`attribute_not_exists`), and the idempotency record or order that makes a retry harmless.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.domain.checkin import CheckinState
from chalicelib.domain.coupons import Coupon, Template
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.orders import Order, RefundOutcome
from chalicelib.domain.rewards import Redemption, Reward
from chalicelib.domain.subscriptions import GrantChange
from chalicelib.domain.tiers import TierChange
from chalicelib.errors import AlreadyMember
from chalicelib.store.base import (
    Cancelled,
    IdempotencyRecordExists,
    ReferralCodeTaken,
    VersionConflict,
    condition_failed,
    connection,
    resolve,
    store_errors,
    transaction,
)
from chalicelib.store.mapping import (
    TEMPLATE_CATALOG,
    shard_of,
    answer_record,
    coupon_record,
    redemption_record,
    reward_definition,
    entry_record,
    new_member_record,
    points_actions,
    program_from,
    template_definition,
    template_record,
    tier_actions,
    to_coupon,
    to_entry,
    to_member,
    to_order,
    to_redemption,
    to_reward,
    to_template,
    wallet_key,
)
from chalicelib.store.schema import (
    CouponClaimRecord,
    CouponRecord,
    CouponTemplateRecord,
    IdempotencyRecord,
    IdentityRecord,
    LedgerRecord,
    MemberRecord,
    OrderRecord,
    RedemptionRecord,
    RewardClaimRecord,
    RewardRecord,
    NoticeRecord,
    PushEventRecord,
    SettingRecord,
    SubscriptionRecord,
    TierChangeRecord,
)

PROGRAM_KEY = "program"
WECHAT_TOKEN_KEY = "wechat_token"


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given to an idempotency key."""

    fingerprint: str
    status: int
    body: Any


@dataclass(frozen=True)
class AnswerToStore:
    """An answer to record with a state change, keyed by caller scope and request_id."""

    key: str
    fingerprint: str
    status: int
    body: Any


@dataclass(frozen=True)
class OpenidContext:
    """What signup and token resolution read in one round trip."""

    member_id: str | None
    program: dict[str, Any]
    referrer_id: str | None = None
    wechat_token: tuple[str, int] | None = None


@dataclass
class MemberUpdate:
    """One member's side of a transaction: its ledger plan and the other attributes it changes."""

    member: Member
    plan: LedgerPlan
    growth: dict[int, int] | None = None
    tier: tuple[str, str] | None = None  # (tier code, base tier code)
    tier_change: TierChange | None = None
    checkin: CheckinState | None = None
    interactions: dict[str, dict[str, int]] | None = None
    orders_count: int | None = None
    extra: list[Action] = field(default_factory=list)


@dataclass(frozen=True)
class IssuedCoupons:
    """Coupons made from one template in one transaction, with each member's count before."""

    template: Template
    coupons: list[tuple[Coupon, int]]


@dataclass(frozen=True)
class RedeemContext:
    """What a redemption reads in one round trip."""

    member: Member | None
    program: dict[str, Any]
    reward: Reward | None
    redeemed: int
    template: Template | None
    template_claimed: int
    answer: StoredAnswer | None


@dataclass(frozen=True)
class NewOrder:
    """An order to record, with the answer a replay will get."""

    order: Order
    subtotal_fen: int
    store_id: str | None
    items: list[dict[str, Any]] | None
    answer: Any


class Store:
    """The app's only door to DynamoDB."""

    # ---- reads -------------------------------------------------------------------------------

    def member_with_program(self, member_id: str) -> tuple[Member | None, dict[str, Any]]:
        """An active member (None if unknown or deleted) and the program, in one TransactGetItems."""
        member, program, _ = self.member_with_answer(member_id, None)
        return member, program

    def member_with_answer(self, member_id: str, answer_key: str | None
                           ) -> tuple[Member | None, dict[str, Any], StoredAnswer | None]:
        """The member, the program and the answer already given to `answer_key` (if any), in one
        TransactGetItems: the read of an idempotent write."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            member_f = tx.get(MemberRecord, member_id)
            program_f = tx.get(SettingRecord, PROGRAM_KEY)
            answer_f = tx.get(IdempotencyRecord, answer_key) if answer_key else None
        record = resolve(member_f)
        answer = resolve(answer_f) if answer_f else None
        return ((to_member(record) if record else None), program_from(resolve(program_f)),
                _to_answer(answer) if answer else None)

    def order_context(self, order_id: str, member_id: str, coupon_id: str | None
                      ) -> tuple[Member | None, dict[str, Any], Order | None, StoredAnswer | None, Coupon | None]:
        """For recording an order: the member, the program, the order if already recorded (with
        its first answer) and the member's coupon to use, in one TransactGetItems."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            member_f = tx.get(MemberRecord, member_id)
            program_f = tx.get(SettingRecord, PROGRAM_KEY)
            order_f = tx.get(OrderRecord, order_id)
            coupon_f = tx.get(CouponRecord, member_id, coupon_id) if coupon_id else None
        member_record, order_record = resolve(member_f), resolve(order_f)
        coupon_record_ = resolve(coupon_f) if coupon_f else None
        answer = StoredAnswer(order_record.fingerprint, 201, json.loads(order_record.answer)) \
            if order_record else None
        return ((to_member(member_record) if member_record else None), program_from(resolve(program_f)),
                to_order(order_record) if order_record else None, answer,
                to_coupon(coupon_record_) if coupon_record_ else None)

    def member_with_coupon(self, member_id: str, coupon_id: str | None
                           ) -> tuple[Member | None, dict[str, Any], Coupon | None]:
        """A member, the program and one of the member's coupons, in one TransactGetItems."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            member_f = tx.get(MemberRecord, member_id)
            program_f = tx.get(SettingRecord, PROGRAM_KEY)
            coupon_f = tx.get(CouponRecord, member_id, coupon_id) if coupon_id else None
        member, coupon = resolve(member_f), resolve(coupon_f) if coupon_f else None
        return ((to_member(member) if member else None), program_from(resolve(program_f)),
                to_coupon(coupon) if coupon else None)

    def order_with_answer(self, order_id: str, answer_key: str) -> tuple[Order | None, StoredAnswer | None]:
        """An order and the answer already given to a refund of it, in one TransactGetItems."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            order_f = tx.get(OrderRecord, order_id)
            answer_f = tx.get(IdempotencyRecord, answer_key)
        order, answer = resolve(order_f), resolve(answer_f)
        return (to_order(order) if order else None), (_to_answer(answer) if answer else None)

    def openid_context(self, openid: str, *, referral_code: str | None = None,
                       with_wechat_token: bool = False) -> OpenidContext:
        """The openid's member_id and the program (plus, when asked, the inviter behind a referral
        code and the cached WeChat access token), in one TransactGetItems."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            identity_f = tx.get(IdentityRecord, f"openid#{openid}")
            program_f = tx.get(SettingRecord, PROGRAM_KEY)
            referral_f = tx.get(IdentityRecord, f"referral#{referral_code}") if referral_code else None
            token_f = tx.get(SettingRecord, WECHAT_TOKEN_KEY) if with_wechat_token else None
        identity = resolve(identity_f)
        referral = resolve(referral_f) if referral_f else None
        token = resolve(token_f) if token_f else None
        return OpenidContext(
            member_id=identity.member_id if identity else None,
            program=program_from(resolve(program_f)),
            referrer_id=referral.member_id if referral else None,
            wechat_token=(token.value, int(token.expires_at)) if token else None,
        )

    def member(self, member_id: str) -> Member | None:
        """An active member by id, read consistently."""
        with store_errors():
            try:
                return to_member(MemberRecord.get(member_id, consistent_read=True))
            except MemberRecord.DoesNotExist:
                return None

    def program(self) -> dict[str, Any]:
        """The current program document."""
        with store_errors():
            try:
                return program_from(SettingRecord.get(PROGRAM_KEY, consistent_read=True))
            except SettingRecord.DoesNotExist:
                return program_from(None)

    def members_by_phone(self, phone: str) -> list[Member]:
        """Active members holding this phone number (one Query on `phone-index`)."""
        with store_errors():
            records = list(MemberRecord.phone_index.query(phone, limit=20))
        return [m for m in map(to_member, records) if m is not None]

    def members_with_points_to_expire(self, shard: str, up_to_year: int, *, limit: int,
                                      start: dict[str, Any] | None) -> tuple[list[Member], dict[str, Any] | None]:
        """One page of the members of a shard whose oldest points are from `up_to_year` or before
        (a Query of the sparse `expiry-index`), and where the next page starts."""
        with store_errors():
            result = MemberRecord.expiry_index.query(shard, MemberRecord.expiry_year <= up_to_year,
                                                     limit=limit, page_size=limit, last_evaluated_key=start)
            records = list(result)
        return [m for m in map(to_member, records) if m is not None], result.last_evaluated_key

    def members_above_base_tier(self, shard: str, *, limit: int, start: dict[str, Any] | None
                                ) -> tuple[list[Member], dict[str, Any] | None]:
        """One page of the members of a shard whose recorded tier is above the base tier."""
        with store_errors():
            result = MemberRecord.tier_index.query(shard, limit=limit, page_size=limit, last_evaluated_key=start)
            records = list(result)
        return [m for m in map(to_member, records) if m is not None], result.last_evaluated_key

    def ledger_page(self, member_id: str, *, limit: int, before_seq: int | None
                    ) -> tuple[list[LedgerEntry], bool]:
        """Up to `limit` entries newest first (older than `before_seq` when given), and whether
        more exist: one Query of limit + 1 items."""
        condition = LedgerRecord.seq < before_seq if before_seq is not None else None
        with store_errors():
            records = list(LedgerRecord.query(member_id, condition, scan_index_forward=False,
                                              limit=limit + 1, page_size=limit + 1))
        return [to_entry(r) for r in records[:limit]], len(records) > limit

    def tier_changes(self, member_id: str) -> list[TierChange]:
        """A member's tier history, oldest first."""
        with store_errors():
            records = list(TierChangeRecord.query(member_id))
        return [TierChange(r.member_id, r.from_tier, r.to_tier, r.cause, r.changed_at) for r in records]

    def templates(self) -> list[Template]:
        """Every coupon template (one Query of the catalog partition)."""
        with store_errors():
            return [to_template(r) for r in CouponTemplateRecord.query(TEMPLATE_CATALOG, consistent_read=True)]

    def template(self, template_id: str) -> Template | None:
        """One coupon template."""
        with store_errors():
            try:
                return to_template(CouponTemplateRecord.get(TEMPLATE_CATALOG, template_id, consistent_read=True))
            except CouponTemplateRecord.DoesNotExist:
                return None

    def claim_context(self, member_id: str, template_ids: list[str], answer_key: str | None
                      ) -> tuple[Member | None, dict[str, Any], dict[str, Template], dict[str, int], StoredAnswer | None]:
        """For issuing coupons to one member: the member, the program, the templates, how many of
        each the member already has, and the answer already given to `answer_key`: one
        TransactGetItems."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            member_f = tx.get(MemberRecord, member_id)
            program_f = tx.get(SettingRecord, PROGRAM_KEY)
            template_fs = [tx.get(CouponTemplateRecord, TEMPLATE_CATALOG, t) for t in template_ids]
            claim_fs = [tx.get(CouponClaimRecord, member_id, t) for t in template_ids]
            answer_f = tx.get(IdempotencyRecord, answer_key) if answer_key else None
        member, answer = resolve(member_f), resolve(answer_f) if answer_f else None
        templates = {r.template_id: to_template(r) for r in map(resolve, template_fs) if r is not None}
        claims = {r.template_id: int(r.count or 0) for r in map(resolve, claim_fs) if r is not None}
        return ((to_member(member) if member else None), program_from(resolve(program_f)), templates, claims,
                _to_answer(answer) if answer else None)

    def claim_context_many(self, member_ids: list[str], template_id: str, answer_key: str
                           ) -> tuple[dict[str, Member], dict[str, Any], dict[str, Template], dict[str, int],
                                      StoredAnswer | None]:
        """For issuing one template to up to 11 members: the active members, the program, the
        template, each member's count of it, and the answer already given to `answer_key`: one
        TransactGetItems (at most 25 items)."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            member_fs = [tx.get(MemberRecord, m) for m in member_ids]
            claim_fs = [tx.get(CouponClaimRecord, m, template_id) for m in member_ids]
            program_f = tx.get(SettingRecord, PROGRAM_KEY)
            template_f = tx.get(CouponTemplateRecord, TEMPLATE_CATALOG, template_id)
            answer_f = tx.get(IdempotencyRecord, answer_key)
        members = [to_member(r) for r in map(resolve, member_fs) if r is not None]
        template, answer = resolve(template_f), resolve(answer_f)
        claims = {r.member_id: int(r.count or 0) for r in map(resolve, claim_fs) if r is not None}
        return ({m.member_id: m for m in members if m is not None}, program_from(resolve(program_f)),
                {template_id: to_template(template)} if template else {}, claims,
                _to_answer(answer) if answer else None)

    def coupon(self, member_id: str, coupon_id: str) -> Coupon | None:
        """A member's coupon (another member's id finds nothing)."""
        with store_errors():
            try:
                return to_coupon(CouponRecord.get(member_id, coupon_id, consistent_read=True))
            except CouponRecord.DoesNotExist:
                return None

    def wallet_page(self, member_id: str, status: str, now: datetime, *, limit: int,
                    start: dict[str, Any] | None) -> tuple[list[Coupon], dict[str, Any] | None]:
        """One page of a member's coupons of one status (one Query of `wallet-index`): unused
        soonest to expire first, expired latest first, used latest first."""
        cut = f"u#{int(now.timestamp()):012d}"
        condition, forward = {
            "unused": (CouponRecord.wallet_key.between(cut + "$", "u#~"), True),
            "expired": (CouponRecord.wallet_key.between("u#", cut + "#~"), False),
            "used": (CouponRecord.wallet_key.startswith("x#"), False),
        }[status]
        with store_errors():
            result = CouponRecord.wallet_index.query(member_id, condition, scan_index_forward=forward,
                                                     consistent_read=True, limit=limit, page_size=limit,
                                                     last_evaluated_key=start)
            records = list(result)
        return [to_coupon(r) for r in records], result.last_evaluated_key

    def rewards(self) -> list[Reward]:
        """Every reward of the points mall (one Query of the catalog partition)."""
        with store_errors():
            return [to_reward(r) for r in RewardRecord.query(TEMPLATE_CATALOG, consistent_read=True)]

    def reward(self, reward_id: str) -> Reward | None:
        """One reward."""
        with store_errors():
            try:
                return to_reward(RewardRecord.get(TEMPLATE_CATALOG, reward_id, consistent_read=True))
            except RewardRecord.DoesNotExist:
                return None

    def redeem_context(self, member_id: str, reward_id: str, template_id: str | None, answer_key: str
                       ) -> RedeemContext:
        """Everything a redemption checks, in one TransactGetItems: the member, the program, the
        reward and the member's count of it, the coupon template (and the member's count of it)
        when the reward is a coupon, and the answer already given to the request."""
        with store_errors(), TransactGet(connection=connection()) as tx:
            member_f = tx.get(MemberRecord, member_id)
            program_f = tx.get(SettingRecord, PROGRAM_KEY)
            reward_f = tx.get(RewardRecord, TEMPLATE_CATALOG, reward_id)
            claim_f = tx.get(RewardClaimRecord, member_id, reward_id)
            template_f = tx.get(CouponTemplateRecord, TEMPLATE_CATALOG, template_id) if template_id else None
            coupons_f = tx.get(CouponClaimRecord, member_id, template_id) if template_id else None
            answer_f = tx.get(IdempotencyRecord, answer_key)
        member, reward, answer = resolve(member_f), resolve(reward_f), resolve(answer_f)
        template = resolve(template_f) if template_f else None
        claim, coupons = resolve(claim_f), resolve(coupons_f) if coupons_f else None
        return RedeemContext(
            member=to_member(member) if member else None, program=program_from(resolve(program_f)),
            reward=to_reward(reward) if reward else None, redeemed=int(claim.count) if claim else 0,
            template=to_template(template) if template else None,
            template_claimed=int(coupons.count) if coupons else 0,
            answer=_to_answer(answer) if answer else None,
        )

    def fulfilments(self, status: str, *, limit: int, start: dict[str, Any] | None
                    ) -> tuple[list[Redemption], dict[str, Any] | None]:
        """One page of gift redemptions of a status, oldest first (one Query of `fulfilment-index`)."""
        with store_errors():
            result = RedemptionRecord.fulfilment_index.query(status, limit=limit, page_size=limit,
                                                             last_evaluated_key=start)
            records = list(result)
        return [to_redemption(r) for r in records], result.last_evaluated_key

    def redemption(self, redemption_id: str) -> Redemption | None:
        """One redemption."""
        with store_errors():
            try:
                return to_redemption(RedemptionRecord.get(redemption_id, consistent_read=True))
            except RedemptionRecord.DoesNotExist:
                return None

    def coupons_ending(self, shard: str, until: datetime, *, limit: int, start: dict[str, Any] | None
                       ) -> tuple[list[Coupon], dict[str, Any] | None]:
        """One page of a shard's unused, unmarked coupons whose validity ends by `until`."""
        with store_errors():
            result = CouponRecord.expiry_index.query(shard, CouponRecord.valid_until <= until, limit=limit,
                                                     page_size=limit, last_evaluated_key=start)
            records = list(result)
        return [to_coupon(r) for r in records], result.last_evaluated_key

    def mark_coupon_expired(self, coupon: Coupon, at: datetime) -> bool:
        """Mark an unused coupon expired for reporting (it leaves the expiry index); False if it
        was used meanwhile."""
        with store_errors():
            try:
                CouponRecord(coupon.member_id, coupon.coupon_id).update(
                    actions=[CouponRecord.expired_at.set(at), CouponRecord.expiry_shard.remove()],
                    condition=CouponRecord.used_at.does_not_exist())
            except PynamoDBException as exc:
                if condition_failed(exc):
                    return False
                raise
        return True

    def stored_answer(self, key: str) -> StoredAnswer | None:
        """The answer recorded for an idempotency key, if any."""
        with store_errors():
            try:
                return _to_answer(IdempotencyRecord.get(key, consistent_read=True))
            except IdempotencyRecord.DoesNotExist:
                return None

    def wechat_token(self) -> tuple[str, int] | None:
        """The shared cached WeChat access token and its expiry (epoch seconds), if any."""
        with store_errors():
            try:
                record = SettingRecord.get(WECHAT_TOKEN_KEY, consistent_read=True)
            except SettingRecord.DoesNotExist:
                return None
        return record.value, int(record.expires_at)

    # ---- writes ------------------------------------------------------------------------------

    def record_login(self, openid: str, session_key: str, now: datetime) -> str | None:
        """Keep the openid's latest session_key (server side only); return its member_id, if any."""
        record = IdentityRecord(f"openid#{openid}")
        with store_errors():
            record.update(actions=[IdentityRecord.session_key.set(session_key),
                                   IdentityRecord.updated_at.set(now)])
        return record.member_id

    def create_member(self, member: Member, entries: list[LedgerEntry], base_tier: str,
                      issued: list[IssuedCoupons] = ()) -> None:
        """Claim the openid and the referral code and write the member with its first entries and
        gift coupons, in one transaction. AlreadyMember if the openid is taken; ReferralCodeTaken
        on a code clash; VersionConflict if a gift template moved on."""
        try:
            with transaction() as tx:
                tx.update(IdentityRecord(f"openid#{member.openid}"),
                          actions=[IdentityRecord.member_id.set(member.member_id),
                                   IdentityRecord.updated_at.set(member.joined_at)],
                          condition=IdentityRecord.member_id.does_not_exist())
                tx.save(IdentityRecord(f"referral#{member.referral_code}", member_id=member.member_id,
                                       updated_at=member.joined_at),
                        condition=IdentityRecord.key.does_not_exist())
                tx.save(new_member_record(member, base_tier), condition=MemberRecord.member_id.does_not_exist())
                for entry in entries:
                    tx.save(entry_record(entry), condition=LedgerRecord.seq.does_not_exist())
                for batch in issued:
                    self._write_issued(tx, batch)
        except Cancelled as exc:
            if exc.hit(IdentityRecord, f"openid#{member.openid}"):
                raise AlreadyMember() from exc
            if exc.hit(IdentityRecord, f"referral#{member.referral_code}"):
                raise ReferralCodeTaken() from exc
            raise VersionConflict() from exc

    def update_profile(self, member_id: str, changes: dict[str, Any], *, birthday_unset: bool) -> Member:
        """Set (value) or remove (None) profile fields of an active member and return it as
        stored. With `birthday_unset`, the write also requires that no birthday was stored
        meanwhile (the birthday is set once). VersionConflict when a condition fails."""
        actions = [getattr(MemberRecord, name).set(value) if value is not None
                   else getattr(MemberRecord, name).remove() for name, value in changes.items()]
        condition = MemberRecord.status == "active"
        if birthday_unset:
            condition &= MemberRecord.birthday.does_not_exist()
        record = MemberRecord(member_id)
        with store_errors():
            try:
                record.update(actions=actions, condition=condition)
            except PynamoDBException as exc:
                if condition_failed(exc):
                    raise VersionConflict() from exc
                raise
        member = to_member(record)
        if member is None:
            raise VersionConflict()
        return member

    def commit(self, *updates: MemberUpdate, now: datetime, answer: AnswerToStore | None = None,
               order: NewOrder | None = None, refund: tuple[Order, RefundOutcome] | None = None,
               issued: list[IssuedCoupons] | None = None, used: Coupon | None = None,
               released: Coupon | None = None, redemption: tuple[Reward, Redemption] | None = None) -> None:
        """One transaction: each member's update (conditioned on the `seq` it read) with its ledger
        entries and tier change; the request's answer; a new order, or a refund's new totals on
        its order (conditioned on the order's version); coupons issued (stock and per-member
        limits as conditions), one used (if still unused) or one given back to the wallet.
        VersionConflict if anything moved on meanwhile (stock, limits and coupons included: the
        caller reads again and finds out which); IdempotencyRecordExists if the answer key or the
        order was recorded first."""
        try:
            with transaction() as tx:
                for update in updates:
                    self._write_member(tx, update)
                if answer:
                    tx.save(answer_record(answer.key, answer.fingerprint, answer.status, answer.body, now),
                            condition=IdempotencyRecord.key.does_not_exist())
                if order:
                    tx.save(self._order_record(order, now), condition=OrderRecord.order_id.does_not_exist())
                if refund:
                    refunded, outcome = refund
                    tx.update(OrderRecord(refunded.order_id), actions=[
                        OrderRecord.refunded_fen.set(outcome.refunded_total),
                        OrderRecord.points_clawed_back.set(refunded.points_clawed_back + outcome.points),
                        OrderRecord.version.set(refunded.version + 1)],
                        condition=OrderRecord.version == refunded.version)
                for batch in issued or []:
                    self._write_issued(tx, batch)
                if used:
                    tx.update(CouponRecord(used.member_id, used.coupon_id), actions=[
                        CouponRecord.used_at.set(used.used_at), CouponRecord.order_id.set(used.order_id),
                        CouponRecord.wallet_key.set(wallet_key(used)), CouponRecord.expiry_shard.remove()],
                        condition=CouponRecord.used_at.does_not_exist())
                if redemption:
                    self._write_redemption(tx, *redemption)
                if released:
                    tx.update(CouponRecord(released.member_id, released.coupon_id), actions=[
                        CouponRecord.used_at.remove(), CouponRecord.order_id.remove(),
                        CouponRecord.wallet_key.set(wallet_key(released)),
                        CouponRecord.expiry_shard.set(shard_of(released.member_id))])
        except Cancelled as exc:
            if (answer and exc.hit(IdempotencyRecord, answer.key)) or \
                    (order and exc.hit(OrderRecord, order.order.order_id)):
                raise IdempotencyRecordExists() from exc
            raise VersionConflict() from exc

    def record_tier_change(self, change: TierChange, base_tier: str) -> bool:
        """Record a tier the member fell to (tier review); False if its recorded tier moved meanwhile."""
        try:
            with transaction() as tx:
                tx.update(MemberRecord(change.member_id),
                          actions=tier_actions(change.member_id, change.to_tier, base_tier),
                          condition=(MemberRecord.tier_code == change.from_tier) & (MemberRecord.status == "active"))
                tx.save(_tier_change_record(change), condition=TierChangeRecord.change_id.does_not_exist())
        except (Cancelled, VersionConflict):
            return False
        return True

    def close_member(self, member: Member, plan: LedgerPlan, now: datetime) -> None:
        """Erase a member's personal data, leaving a tombstone and the closing ledger entries; free
        the openid and the referral code. One transaction conditioned on the `seq` read."""
        erased = ("openid", "nickname", "avatar_url", "gender", "birthday", "phone", "referral_code",
                  "referred_by", "preferences", "lots", "pending", "growth", "checkin_months", "checkin_makeups",
                  "interactions", "expiry_shard", "expiry_year", "tier_shard", "member_shard")
        try:
            with transaction() as tx:
                tx.update(MemberRecord(member.member_id),
                          actions=[MemberRecord.status.set("deleted"), MemberRecord.deleted_at.set(now),
                                   MemberRecord.debt.set(0),
                                   MemberRecord.seq.set(plan.seq)]
                          + [getattr(MemberRecord, name).remove() for name in erased],
                          condition=(MemberRecord.seq == member.seq) & (MemberRecord.status == "active"))
                for entry in plan.entries:
                    tx.save(entry_record(entry), condition=LedgerRecord.seq.does_not_exist())
                tx.update(IdentityRecord(f"openid#{member.openid}"),
                          actions=[IdentityRecord.member_id.remove(), IdentityRecord.updated_at.set(now)],
                          condition=IdentityRecord.member_id == member.member_id)
                if member.referral_code:
                    tx.delete(IdentityRecord(f"referral#{member.referral_code}"))
        except Cancelled as exc:
            raise VersionConflict() from exc

    def delete_coupons(self, member_id: str) -> None:
        """Remove a closed account's coupons and claim counts (Query, then batched deletes)."""
        with store_errors():
            for model in (CouponRecord, CouponClaimRecord):
                with model.batch_write() as batch:
                    for record in model.query(member_id):
                        batch.delete(record)

    def save_program(self, program: dict[str, Any], now: datetime, *, only_if_absent: bool = False) -> bool:
        """Store the program document; with `only_if_absent`, keep an existing one (False)."""
        record = SettingRecord(PROGRAM_KEY, value=json.dumps(program, ensure_ascii=False), updated_at=now)
        with store_errors():
            try:
                record.save(condition=SettingRecord.key.does_not_exist() if only_if_absent else None)
            except PynamoDBException as exc:
                if only_if_absent and condition_failed(exc):
                    return False
                raise
        return True

    def save_template(self, template: Template, now: datetime) -> None:
        """Store a new coupon template."""
        with store_errors():
            template_record(template, now).save(condition=CouponTemplateRecord.template_id.does_not_exist())

    def update_template(self, template: Template) -> None:
        """Replace a template's definition, conditioned on the version read (VersionConflict)."""
        _replace_definition(CouponTemplateRecord(TEMPLATE_CATALOG, template.template_id),
                            template_definition(template), template.version)

    def save_reward(self, reward: Reward, now: datetime) -> None:
        """Store a new reward."""
        with store_errors():
            RewardRecord(TEMPLATE_CATALOG, reward.reward_id, definition=reward_definition(reward), redeemed=0,
                         version=0, created_at=now).save(condition=RewardRecord.reward_id.does_not_exist())

    def update_reward(self, reward: Reward) -> None:
        """Replace a reward's definition, conditioned on the version read (VersionConflict)."""
        _replace_definition(RewardRecord(TEMPLATE_CATALOG, reward.reward_id), reward_definition(reward),
                            reward.version)

    def mark_shipped(self, redemption_id: str, note: str | None, now: datetime) -> bool:
        """Mark a pending gift shipped; False if it was not pending."""
        actions = [RedemptionRecord.fulfilment_status.set("shipped"), RedemptionRecord.shipped_at.set(now)]
        if note is not None:
            actions.append(RedemptionRecord.note.set(note))
        with store_errors():
            try:
                RedemptionRecord(redemption_id).update(
                    actions=actions, condition=RedemptionRecord.fulfilment_status == "pending")
            except PynamoDBException as exc:
                if condition_failed(exc):
                    return False
                raise
        return True

    def save_wechat_token(self, token: str, expires_at: int, now: datetime) -> None:
        """Share a freshly fetched WeChat access token with every instance."""
        with store_errors():
            SettingRecord(WECHAT_TOKEN_KEY, value=token, expires_at=expires_at, updated_at=now).save()

    # ---- transaction parts -------------------------------------------------------------------

    @staticmethod
    def _write_member(tx: TransactWrite, update: MemberUpdate) -> None:
        member, plan = update.member, update.plan
        actions = points_actions(member.member_id, plan.points, plan.seq) + update.extra
        if update.growth is not None:
            actions.append(MemberRecord.growth.set({str(y): v for y, v in update.growth.items()}))
        if update.tier is not None:
            actions += tier_actions(member.member_id, *update.tier)
        if update.checkin is not None:
            actions += [MemberRecord.checkin_months.set(update.checkin.months),
                        MemberRecord.checkin_makeups.set(update.checkin.makeups)]
        if update.interactions is not None:
            actions.append(MemberRecord.interactions.set(update.interactions))
        if update.orders_count is not None:
            actions.append(MemberRecord.orders_count.set(update.orders_count))
        tx.update(MemberRecord(member.member_id), actions=actions,
                  condition=(MemberRecord.seq == member.seq) & (MemberRecord.status == "active"))
        for entry in plan.entries:
            tx.save(entry_record(entry), condition=LedgerRecord.seq.does_not_exist())
        if update.tier_change:
            tx.save(_tier_change_record(update.tier_change), condition=TierChangeRecord.change_id.does_not_exist())

    @staticmethod
    def _write_issued(tx: TransactWrite, batch: IssuedCoupons) -> None:
        template, count = batch.template, len(batch.coupons)
        condition = CouponTemplateRecord.version == template.version
        if template.total_stock is not None:
            condition &= CouponTemplateRecord.issued <= template.total_stock - count
        tx.update(CouponTemplateRecord(TEMPLATE_CATALOG, template.template_id),
                  actions=[CouponTemplateRecord.issued.add(count)], condition=condition)
        for coupon, claimed_before in batch.coupons:
            tx.save(coupon_record(coupon), condition=CouponRecord.coupon_id.does_not_exist())
            claim_condition = None
            if template.per_member_limit is not None:
                claim_condition = CouponClaimRecord.count.does_not_exist() | \
                    (CouponClaimRecord.count < template.per_member_limit)
            tx.update(CouponClaimRecord(coupon.member_id, template.template_id),
                      actions=[CouponClaimRecord.count.add(1)], condition=claim_condition)

    @staticmethod
    def _write_redemption(tx: TransactWrite, reward: Reward, redemption: Redemption) -> None:
        condition = RewardRecord.version == reward.version
        if reward.stock is not None:
            condition &= RewardRecord.redeemed <= reward.stock - 1
        tx.update(RewardRecord(TEMPLATE_CATALOG, reward.reward_id), actions=[RewardRecord.redeemed.add(1)],
                  condition=condition)
        limit = None
        if reward.per_member_limit is not None:
            limit = RewardClaimRecord.count.does_not_exist() | (RewardClaimRecord.count < reward.per_member_limit)
        tx.update(RewardClaimRecord(redemption.member_id, reward.reward_id),
                  actions=[RewardClaimRecord.count.add(1)], condition=limit)
        tx.save(redemption_record(redemption), condition=RedemptionRecord.redemption_id.does_not_exist())

    @staticmethod
    def _order_record(new: NewOrder, now: datetime) -> OrderRecord:
        order = new.order
        return OrderRecord(
            order.order_id, member_id=order.member_id, amount_fen=order.amount_fen,
            subtotal_fen=new.subtotal_fen, paid_at=order.paid_at, store_id=new.store_id, items=new.items,
            points_awarded=order.points_awarded, growth_year=order.growth_year,
            fingerprint=order.fingerprint, answer=json.dumps(new.answer, ensure_ascii=False),
            coupon_id=order.coupon_id,
            created_at=now,
        )

    # ---- subscribe-message grants ------------------------------------------------------------

    def subscriptions(self, openid: str) -> dict[str, int]:
        """Sends left per template for an openid (one Query)."""
        with store_errors():
            return {r.template_id: int(r.count or 0) for r in SubscriptionRecord.query(openid)}

    def apply_push(self, openid: str, push_key: str, event: str, changes: list[GrantChange],
                   now: datetime, keep_for: timedelta) -> bool:
        """Record a message push as handled (kept `keep_for`) and apply its grant changes, in one
        transaction; False if the push was handled before. VersionConflict on a lost race."""
        try:
            with transaction() as tx:
                tx.save(PushEventRecord(push_key, event=event, received_at=now, expires_at=now + keep_for),
                        condition=PushEventRecord.key.does_not_exist())
                for change in changes:
                    tx.update(SubscriptionRecord(openid, change.template_id), actions=_grant_actions(change, now))
        except Cancelled as exc:
            if exc.hit(PushEventRecord, push_key):
                return False
            raise VersionConflict() from exc
        return True

    # ---- subscribe-message notices -----------------------------------------------------------

    def reserve_notice(self, openid: str, template_id: str, key: str, member_id: str, now: datetime,
                       keep_for: timedelta) -> str | None:
        """Spend one grant and record the notice `key` (kept `keep_for`), in one transaction:
        None when reserved, `"duplicate"` if the notice was recorded before, `"no_grant"` if no
        grant is left. VersionConflict on a lost race."""
        try:
            with transaction() as tx:
                tx.save(NoticeRecord(key, member_id=member_id, created_at=now, expires_at=now + keep_for),
                        condition=NoticeRecord.key.does_not_exist())
                tx.update(SubscriptionRecord(openid, template_id),
                          actions=[SubscriptionRecord.count.add(-1), SubscriptionRecord.updated_at.set(now)],
                          condition=SubscriptionRecord.count > 0)
        except Cancelled as exc:
            if exc.hit(NoticeRecord, key):
                return "duplicate"
            if exc.hit(SubscriptionRecord, openid):
                return "no_grant"
            raise VersionConflict() from exc
        return None

    def confirm_notice(self, key: str, msg_id: str) -> None:
        """Note WeChat's msgid on a sent notice."""
        with store_errors():
            NoticeRecord(key).update(actions=[NoticeRecord.msg_id.set(msg_id)])

    def release_notice(self, openid: str, template_id: str, key: str, now: datetime, *,
                       grant_left: bool) -> None:
        """Undo a reservation whose message was not sent: remove the notice record (a later run may
        send it) and give the grant back, or, when WeChat says none is left, set the grants to 0."""
        count = SubscriptionRecord.count.add(1) if grant_left else SubscriptionRecord.count.set(0)
        with transaction() as tx:
            tx.delete(NoticeRecord(key))
            tx.update(SubscriptionRecord(openid, template_id),
                      actions=[count, SubscriptionRecord.updated_at.set(now)])

    def active_members(self, shard: str, *, limit: int, start: dict[str, Any] | None
                       ) -> tuple[list[Member], dict[str, Any] | None]:
        """One page of a shard's active members (a Query of `member-shard-index`)."""
        with store_errors():
            result = MemberRecord.member_shard_index.query(shard, limit=limit, page_size=limit,
                                                           last_evaluated_key=start)
            records = list(result)
        return [m for m in map(to_member, records) if m is not None], result.last_evaluated_key


def _replace_definition(record: CouponTemplateRecord | RewardRecord, definition: str, version: int) -> None:
    """Set a catalog item's definition and bump its version, if it is still at `version`."""
    model = type(record)
    with store_errors():
        try:
            record.update(actions=[model.definition.set(definition), model.version.set(version + 1)],
                          condition=model.version == version)
        except PynamoDBException as exc:
            if condition_failed(exc):
                raise VersionConflict() from exc
            raise


def _to_answer(record: IdempotencyRecord) -> StoredAnswer:
    return StoredAnswer(record.fingerprint, int(record.status), json.loads(record.body))


def _tier_change_record(change: TierChange) -> TierChangeRecord:
    return TierChangeRecord(change.member_id, f"{change.at.isoformat()}#{change.to_tier}",
                            from_tier=change.from_tier, to_tier=change.to_tier, cause=change.cause,
                            changed_at=change.at)


def _grant_actions(change: GrantChange, now: datetime) -> list[Action]:
    actions: list[Action] = [SubscriptionRecord.updated_at.set(now)]
    if change.switched_off:
        actions.append(SubscriptionRecord.count.set(0))
    elif change.grants:
        actions.append(SubscriptionRecord.count.add(change.grants))
    if change.choice:
        actions.append(SubscriptionRecord.choice.set(change.choice))
    if change.send_status is not None:
        actions.append(SubscriptionRecord.send_status.set(change.send_status))
    if change.send_error_code is not None:
        actions.append(SubscriptionRecord.send_error_code.set(change.send_error_code))
    if change.msg_id is not None:
        actions.append(SubscriptionRecord.msg_id.set(change.msg_id))
    return actions


@lru_cache(maxsize=1)
def store() -> Store:
    """The process-wide Store."""
    return Store()
