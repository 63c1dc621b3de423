"""The sparse indexes of the members table: each places a member by a key the member item carries
only while the member belongs there (the access patterns are listed in `members`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

if TYPE_CHECKING:
    from chalicelib.store.members import MemberRecord  # noqa: F401  (named in the indexes' type arguments)


class PhoneIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Members by full phone number, for the look-up at the store counter."""

    class Meta:
        index_name = "phone-index"
        projection = AllProjection()

    phone = UnicodeAttribute(hash_key=True)


class ExpiryIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Members holding points (or pending points), by shard, oldest expirable year first. Sparse: a
    member without points has neither key attribute, so the yearly reset never reads them."""

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
    """Every active member, by shard, for the jobs that reach all members. Members who signed up
    before the attribute existed lack `member_shard` and are not in it."""

    class Meta:
        index_name = "member-shard-index"
        projection = AllProjection()

    member_shard = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class SegmentIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Members by their segment in the latest RFM snapshot and shard (`rfm_key` =
    `<segment>#<shard>`, written by the `rfm-segments` job only when it changes). Sparse, and keys
    only, so that the member's own writes never write to it."""

    class Meta:
        index_name = "segment-index"
        projection = KeysOnlyProjection()

    rfm_key = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class LifecycleIndex(GlobalSecondaryIndex["MemberRecord"]):
    """Active members by shard and `life_key`: `o#<date>` of their latest order, or `j#<join date>`
    while they have never ordered; what the `lapsed` and `no_first_order` automations select by
    date range (a closed account's tombstone leaves it)."""

    class Meta:
        index_name = "lifecycle-index"
        projection = AllProjection()

    life_shard = UnicodeAttribute(hash_key=True)
    life_key = UnicodeAttribute(range_key=True)
