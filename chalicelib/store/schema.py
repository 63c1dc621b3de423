"""The DynamoDB tables, as pynamodb models: the single source for the app, the local stack
(`create_missing_tables`) and the deployment template (`infra/`).

Access patterns and the key or index that serves each:

| pattern                                   | table / index                     | call            |
| ----------------------------------------- | --------------------------------- | --------------- |
| member by member_id (+ program)           | members                           | TransactGetItems|
| openid -> member_id, session_key          | identities `openid#<openid>`      | GetItem/Update  |
| referral code -> member_id (unique)       | identities `referral#<code>`      | GetItem         |
| members by phone (store counter)          | members / `phone-index`           | Query           |
| members holding points, by shard and the  | members / `expiry-index` (sparse: | Query           |
|   oldest year that can expire (reset job) |   `expiry_shard`, `expiry_year`)  |                 |
| members above the base tier, by shard     | members / `tier-index` (sparse)   | Query           |
| an order, with its award and refunds      | orders                            | TransactGetItems|
| a member's tier changes                   | tier_changes (member_id, change)  | Query           |
| coupon templates (the catalog)            | coupon_templates `main` partition | Query / GetItem |
| a member's coupon by id                   | coupons (member_id, coupon_id)    | GetItem         |
| a member's wallet by status               | coupons / `wallet-index` (LSI)    | Query           |
| unused coupons past (or near) their end   | coupons / `coupon-expiry-index`   | Query           |
| coupons a member got from a template      | coupon_claims (member, template)  | TransactGetItems|
| rewards (the points mall)                 | rewards `main` partition          | Query / GetItem |
| a member's redemptions of a reward        | reward_claims (member, reward)    | TransactGetItems|
| gifts to ship, by status                  | redemptions / `fulfilment-index`  | Query           |
| a member's ledger, newest first           | ledger (member_id, seq desc)      | Query           |
| program document, WeChat access token     | settings `program`, `wechat_token`| GetItem         |
| idempotency record of a request_id        | idempotency (TTL `expires_at`)    | GetItem / Put   |
| subscribe-message grants of an openid     | subscriptions (openid, template)  | Query / Update  |
| a message push already handled (dedupe)   | push_events (TTL `expires_at`)    | Put (in tx)     |
| every active member, by shard (jobs)      | members / `member-shard-index`    | Query           |
| a notice sent per openid, template, date  | notices (TTL `expires_at`)        | Put (in tx)     |
|   and job (at most one)                   |                                   |                 |
"""
from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import settings


class _Meta:
    """Table placement shared by every model: prefix, endpoint and region from the settings."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        conf = settings()
        cls.table_name = conf.table_prefix + cls.table_name
        cls.host = conf.dynamodb_endpoint_url
        cls.region = conf.aws_region
        cls.billing_mode = "PAY_PER_REQUEST"
        cls.max_retry_attempts = 3
        cls.connect_timeout_seconds = 2
        cls.read_timeout_seconds = 5


class PhoneIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Members by full phone number, for the look-up at the store counter."""

    class Meta:
        index_name = "phone-index"
        projection = AllProjection()

    phone = UnicodeAttribute(hash_key=True)


class ExpiryIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Members holding points (or pending points), by shard, oldest expirable year first.

    Sparse: a member without points has neither key attribute, so the yearly reset never reads them.
    """

    class Meta:
        index_name = "expiry-index"
        projection = AllProjection()

    expiry_shard = UnicodeAttribute(hash_key=True)
    expiry_year = NumberAttribute(range_key=True)


class TierIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Members whose recorded tier is above the base tier, by shard (sparse), for the tier review."""

    class Meta:
        index_name = "tier-index"
        projection = AllProjection()

    tier_shard = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class MemberShardIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Every active member, by shard, for the jobs that reach all members (member day). Members
    who signed up before the attribute existed lack `member_shard` and are not in it."""

    class Meta:
        index_name = "member-shard-index"
        projection = AllProjection()

    member_shard = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class MemberRecord(Model):
    """One member: profile, points lots, growth by year and the sequence of their ledger.

    `seq` is the number of the member's latest ledger entry and the optimistic-lock version:
    every change is conditioned on the `seq` it read and writes entry `seq + 1` beside it.
    A deleted member keeps only a tombstone (member_id, status, dates, seq).
    """

    class Meta(_Meta):
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
    preferences = MapAttribute(null=True)
    joined_at = UTCDateTimeAttribute()
    deleted_at = UTCDateTimeAttribute(null=True)
    lots = MapAttribute(null=True)
    debt = NumberAttribute(default=0)
    pending = ListAttribute(null=True)
    growth = MapAttribute(null=True)
    tier_code = UnicodeAttribute(null=True)
    checkin_months = MapAttribute(null=True)
    checkin_makeups = MapAttribute(null=True)
    interactions = MapAttribute(null=True)
    orders_count = NumberAttribute(default=0)
    seq = NumberAttribute(default=0)
    expiry_shard = UnicodeAttribute(null=True)
    expiry_year = NumberAttribute(null=True)
    tier_shard = UnicodeAttribute(null=True)
    member_shard = UnicodeAttribute(null=True)
    phone_index = PhoneIndex()
    expiry_index = ExpiryIndex()
    tier_index = TierIndex()
    member_shard_index = MemberShardIndex()


class IdentityRecord(Model):
    """A unique claim pointing at a member: `openid#<openid>` or `referral#<code>`.

    The openid claim exists from the first login (visitor) and holds the WeChat session_key,
    which never leaves the server; `member_id` is set by signup and removed by account deletion.
    """

    class Meta(_Meta):
        table_name = "identities"

    key = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(null=True)
    session_key = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class LedgerRecord(Model):
    """One immutable points change; `seq` counts up per member, so a Query reads newest first."""

    class Meta(_Meta):
        table_name = "ledger"

    member_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    delta = NumberAttribute()
    balance_after = NumberAttribute()
    reason = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class OrderRecord(Model):
    """A recorded order: the request's fingerprint and first answer, the award, and refunds so far.

    `version` orders the refunds of one order: each refund is conditioned on the version it read.
    """

    class Meta(_Meta):
        table_name = "orders"

    order_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    subtotal_fen = NumberAttribute()
    paid_at = UTCDateTimeAttribute()
    store_id = UnicodeAttribute(null=True)
    items = ListAttribute(null=True)
    points_awarded = NumberAttribute()
    growth_year = NumberAttribute()
    coupon_id = UnicodeAttribute(null=True)
    refunded_fen = NumberAttribute(default=0)
    points_clawed_back = NumberAttribute(default=0)
    fingerprint = UnicodeAttribute()
    answer = UnicodeAttribute()
    version = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class TierChangeRecord(Model):
    """One change of a member's tier (history for the member and for notices)."""

    class Meta(_Meta):
        table_name = "tier_changes"

    member_id = UnicodeAttribute(hash_key=True)
    change_id = UnicodeAttribute(range_key=True)
    from_tier = UnicodeAttribute()
    to_tier = UnicodeAttribute()
    cause = UnicodeAttribute()
    changed_at = UTCDateTimeAttribute()


class CouponTemplateRecord(Model):
    """A coupon template: its definition (JSON), how many coupons it has issued, and a version that
    every edit bumps (claims are conditioned on it, and on the stock, never on each other)."""

    class Meta(_Meta):
        table_name = "coupon_templates"

    catalog = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    definition = UnicodeAttribute()
    issued = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class WalletIndex(LocalSecondaryIndex["CouponRecord"]):
    """A member's coupons by status and time: `u#<valid_until>#<id>` while unused (soonest to
    expire first; past `now` means expired), `x#<used_at>#<id>` once used. Strongly consistent."""

    class Meta:
        index_name = "wallet-index"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    wallet_key = UnicodeAttribute(range_key=True)


class CouponExpiryIndex(GlobalSecondaryIndex["CouponRecord"]):
    """Unused coupons not yet marked expired, by shard and `valid_until` (sparse): what the
    coupon-expiry job marks, and what expiry reminders will read."""

    class Meta:
        index_name = "coupon-expiry-index"
        projection = AllProjection()

    expiry_shard = UnicodeAttribute(hash_key=True)
    valid_until = UTCDateTimeAttribute(range_key=True)


class CouponRecord(Model):
    """A coupon in a member's wallet; the member's id is part of its key, so nobody else can reach it."""

    class Meta(_Meta):
        table_name = "coupons"

    member_id = UnicodeAttribute(hash_key=True)
    coupon_id = UnicodeAttribute(range_key=True)
    wallet_key = UnicodeAttribute()
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    amount_off_fen = NumberAttribute(null=True)
    percent_off_pct = NumberAttribute(null=True)
    max_discount_fen = NumberAttribute(null=True)
    min_spend_fen = NumberAttribute(default=0)
    valid_from = UTCDateTimeAttribute()
    valid_until = UTCDateTimeAttribute()
    source = UnicodeAttribute()
    obtained_at = UTCDateTimeAttribute()
    used_at = UTCDateTimeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    expired_at = UTCDateTimeAttribute(null=True)
    expiry_shard = UnicodeAttribute(null=True)
    wallet_index = WalletIndex()
    expiry_index = CouponExpiryIndex()


class CouponClaimRecord(Model):
    """How many coupons of a template a member has received (the per-member limit)."""

    class Meta(_Meta):
        table_name = "coupon_claims"

    member_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)


class RewardRecord(Model):
    """A points-mall reward: its definition (JSON), how many were redeemed, and its edit version."""

    class Meta(_Meta):
        table_name = "rewards"

    catalog = UnicodeAttribute(hash_key=True)
    reward_id = UnicodeAttribute(range_key=True)
    definition = UnicodeAttribute()
    redeemed = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class RewardClaimRecord(Model):
    """How many times a member redeemed a reward (the per-member limit)."""

    class Meta(_Meta):
        table_name = "reward_claims"

    member_id = UnicodeAttribute(hash_key=True)
    reward_id = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)


class FulfilmentIndex(GlobalSecondaryIndex["RedemptionRecord"]):
    """Gift redemptions by fulfilment status, oldest first (sparse: coupon rewards are not in it)."""

    class Meta:
        index_name = "fulfilment-index"
        projection = AllProjection()

    fulfilment_status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RedemptionRecord(Model):
    """One redemption of a reward; a gift's also tracks its shipping."""

    class Meta(_Meta):
        table_name = "redemptions"

    redemption_id = UnicodeAttribute(hash_key=True)
    reward_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    reward_name = UnicodeAttribute()
    kind = UnicodeAttribute()
    points_spent = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    coupon_id = UnicodeAttribute(null=True)
    fulfilment_status = UnicodeAttribute(null=True)
    shipped_at = UTCDateTimeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    fulfilment_index = FulfilmentIndex()


class SettingRecord(Model):
    """A small shared document: the program (`program`) or the WeChat access token (`wechat_token`)."""

    class Meta(_Meta):
        table_name = "settings"

    key = UnicodeAttribute(hash_key=True)
    value = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class IdempotencyRecord(Model):
    """The first answer to a `request_id`, replayed on retries until DynamoDB's TTL removes it."""

    class Meta(_Meta):
        table_name = "idempotency"

    key = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    status = NumberAttribute()
    body = UnicodeAttribute()
    expires_at = TTLAttribute()


class SubscriptionRecord(Model):
    """Subscribe-message grants of one openid for one template: sends left (`count`), the user's
    latest choice, and what WeChat said about the latest send."""

    class Meta(_Meta):
        table_name = "subscriptions"

    openid = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)
    choice = UnicodeAttribute(null=True)
    send_status = UnicodeAttribute(null=True)
    send_error_code = NumberAttribute(null=True)
    msg_id = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class PushEventRecord(Model):
    """A WeChat message push already applied, keyed by sender, CreateTime and content hash, so
    retries and replays change nothing; DynamoDB's TTL removes it."""

    class Meta(_Meta):
        table_name = "push_events"

    key = UnicodeAttribute(hash_key=True)
    event = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class NoticeRecord(Model):
    """A subscribe message a job sends (or is sending) to an openid, keyed by openid, template,
    business date and job: written with the grant it spends, so a member gets at most one; removed
    again if the send fails for good; DynamoDB's TTL removes it."""

    class Meta(_Meta):
        table_name = "notices"

    key = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    msg_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


ALL_MODELS: tuple[type[Model], ...] = (
    MemberRecord,
    IdentityRecord,
    LedgerRecord,
    OrderRecord,
    TierChangeRecord,
    CouponTemplateRecord,
    CouponRecord,
    CouponClaimRecord,
    RewardRecord,
    RewardClaimRecord,
    RedemptionRecord,
    SettingRecord,
    IdempotencyRecord,
    SubscriptionRecord,
    PushEventRecord,
    NoticeRecord,
)

TTL_ATTRIBUTES: dict[type[Model], str] = {IdempotencyRecord: "expires_at", PushEventRecord: "expires_at",
                                          NoticeRecord: "expires_at"}


def create_missing_tables() -> list[str]:
    """Create every table that does not exist yet (local stack and tests); return their names.

    Safe when several processes start at once on one endpoint: a table that another process
    created (`ResourceInUseException`), or that exists but is still CREATING, is waited for
    until it is ACTIVE.
    """
    import time

    from pynamodb.exceptions import TableError

    created = []
    for model in ALL_MODELS:
        if not model.exists():
            try:
                model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            except TableError as exc:
                if exc.cause_response_code != "ResourceInUseException":
                    raise
            else:
                created.append(model.Meta.table_name)
                continue
        while model.describe_table().get("TableStatus") != "ACTIVE":
            time.sleep(1)
    return created
