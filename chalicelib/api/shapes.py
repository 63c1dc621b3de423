"""The contract's shapes (§3, §4) as declarations: what the routes answer, and the pieces their
bodies share. The OpenAPI document lists each named one under `components/schemas`."""
from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.catalog_schema import KINDS, VALIDITY
from chalicelib.domain.coupons import SOURCES
from chalicelib.domain.member import GENDERS
from chalicelib.domain.rewards import FULFILMENT_STATUSES
from chalicelib.domain.rfm import CODES as RFM_SEGMENTS
from chalicelib.schema import Arr, Bool, Enum, Int, Map, Obj, Prop, Schema, Str, opt, req

MAX_FEN = 10**11
ID = Str(64)
REQUEST_ID = Str(64, pattern="[A-Za-z0-9_-]{1,64}", title="request_id",
                 description="The client's idempotency key: replaying it returns the first answer.")
TEXT = Str(500, min_length=0, multiline=True)
DATE_TEXT = Str(10, pattern=r"\d{4}-\d{2}-\d{2}", description="A Shanghai business date, YYYY-MM-DD.")
INSTANT_TEXT = Str(40, description="ISO 8601 with offset, rendered in Asia/Shanghai.")
COUNT = Int(0, 2**53)
POINTS = Int(-(2**53), 2**53)
FEN = Int(0, 2**53)


def nullable(schema: Schema) -> Schema:
    """The same declaration, allowing null."""
    return replace(schema, nullable=True)  # type: ignore[type-var]


def fields(**props: Schema) -> dict[str, Prop]:
    """Properties that every answer carries (all required)."""
    return {name: req(schema) for name, schema in props.items()}


def page_of(item: Schema, name: str) -> Obj:
    """A list page: `{"items", "next_cursor"}`."""
    return Obj(fields(items=Arr(item, 100), next_cursor=nullable(Str(2048))), name=name)


def list_of(item: Schema, name: str, max_items: int = 1000) -> Obj:
    """A whole list: `{"items"}`."""
    return Obj(fields(items=Arr(item, max_items)), name=name)


PAGE_QUERY: dict[str, Schema] = {
    "limit": Int(1, 100, description="Page size, 1..100 (default 20)."),
    "cursor": Str(2048, pattern="[A-Za-z0-9_=-]+", description="`next_cursor` of the page before."),
}

ERROR = Obj({"error": req(Obj({
    "code": req(Str(64)),
    "message": req(Str(1000)),
    "field": opt(Str(1000, min_length=0, description="On VALIDATION_ERROR only: the JSON path of the input, "
                                                     "the query parameter's name, or \"\" for the whole body.")),
}))}, name="Error")

COUPON_STATUS = Enum(["unused", "used", "expired"], description="Which coupons (default unused).")
TIER = Obj(fields(code=Str(32), name=Str(64), points_multiplier_pct=Int(0, 10_000)), name="MemberTier")
KEEP = Obj(fields(tier=Str(32), to_keep=COUNT, by=INSTANT_TEXT), name="GrowthKeep", nullable=True)
GROWTH = Obj(fields(value=COUNT, next_tier=nullable(Str(32)), to_next=nullable(COUNT), keep=KEEP),
             name="MemberGrowth")
MEMBER = Obj(fields(
    member_id=ID, nickname=nullable(Str(64)), avatar_url=nullable(Str(1024)), gender=Enum(GENDERS),
    birthday=nullable(DATE_TEXT), phone=nullable(Str(32)), joined_at=INSTANT_TEXT, referral_code=Str(64),
    tier=TIER, growth=GROWTH,
    points=Obj(fields(balance=POINTS, pending=COUNT, held=COUNT,
                      expiring=Arr(Obj(fields(points=COUNT, expires_at=INSTANT_TEXT)), 100))),
    checkin=Obj(fields(streak=COUNT, last_date=nullable(DATE_TEXT))),
), name="Member")
RFM_SEGMENT = Enum(RFM_SEGMENTS, description="An RFM segment (§7).")
RFM = Obj(fields(recency_days=nullable(COUNT), frequency=COUNT, monetary_fen=FEN, segment=RFM_SEGMENT), name="Rfm")
ADMIN_MEMBER = MEMBER.extend("AdminMember", fields(
    openid=nullable(Str(128)), phone=nullable(Str(32)), subscriptions=Map(COUNT, 1000), rfm=RFM))
LEDGER_ENTRY = Obj(fields(entry_id=ID, delta=POINTS, balance_after=POINTS, reason=Str(64), ref=nullable(Str(128)),
                          note=nullable(TEXT), created_at=INSTANT_TEXT), name="LedgerEntry")
COUPON = Obj({**fields(
    coupon_id=ID, template_id=ID, name=Str(64), kind=Enum(KINDS), amount_off_fen=nullable(FEN),
    percent_off_pct=nullable(Int(1, 99)), min_spend_fen=FEN, valid_from=INSTANT_TEXT, valid_until=INSTANT_TEXT,
    status=Enum(["unused", "used", "expired"]), source=Enum(SOURCES), obtained_at=INSTANT_TEXT,
    used_at=nullable(INSTANT_TEXT),
    order_id=nullable(Str(64)), held=Bool()),
    "max_discount_fen": opt(nullable(FEN))}, name="Coupon")
USABLE_COUPON = COUPON.extend("UsableCoupon", fields(discount_fen=FEN))
TEMPLATE = Obj({**fields(
    template_id=ID, name=Str(64), kind=Enum(KINDS), amount_off_fen=nullable(FEN), percent_off_pct=nullable(Int(1, 99)),
    max_discount_fen=nullable(FEN), min_spend_fen=FEN, validity=VALIDITY, total_stock=nullable(COUNT),
    stock_left=nullable(COUNT), per_member_limit=nullable(COUNT), claimable=Bool(),
    tiers=nullable(Arr(Str(32), 20)), active=Bool())}, name="CouponTemplate")
REWARD = Obj(fields(
    reward_id=ID, name=Str(64), points_cost=COUNT, kind=Enum(["coupon", "gift"]), coupon_template_id=nullable(ID),
    stock_left=nullable(COUNT), per_member_limit=nullable(COUNT), tiers=nullable(Arr(Str(32), 20)), active=Bool(),
), name="Reward")
ADMIN_REWARD = REWARD.extend("AdminReward", fields(stock=nullable(COUNT)))
ADDRESS = Obj(fields(
    name=Str(64, display=True, title="收货人"), phone=Str(11, pattern="[0-9]{11}", title="收货手机号"),
    region=Str(64, display=True, title="所在地区"), detail=Str(500, title="详细地址")), name="Address")
REDEMPTION = Obj(fields(
    redemption_id=ID, reward_id=ID, reward_name=Str(64), kind=Enum(["coupon", "gift"]), points_spent=COUNT,
    created_at=INSTANT_TEXT, coupon_id=nullable(ID), address=nullable(ADDRESS),
    fulfilment=nullable(Enum(FULFILMENT_STATUSES)), shipped_at=nullable(INSTANT_TEXT), note=nullable(TEXT),
), name="Redemption")
FULFILMENT = REDEMPTION.extend("Fulfilment", fields(member_id=ID, status=Enum(FULFILMENT_STATUSES)))
AUTOMATION_REWARD = Obj(fields(id=Str(32), points=COUNT, coupon=nullable(COUPON)), name="AutomationReward",
                        description="What a purchase streak the order completed gave the member (§8).")
ORDER_ANSWER = Obj({**fields(order_id=ID, points_awarded=COUNT, balance=POINTS, growth=GROWTH, tier=TIER,
                             coupon=nullable(COUPON), discount_fen=FEN),
                    "automations": opt(Arr(AUTOMATION_REWARD, 50))}, name="OrderRecorded")
AUTOMATION_RESULT = Obj(fields(
    id=Str(32), name=Str(64), treated=COUNT, control=COUNT, treated_converted=COUNT, control_converted=COUNT,
    treated_revenue_fen=FEN, control_revenue_fen=FEN, lift_pct=nullable(Int(-100, 2**53)), significant=Bool(),
), name="AutomationResult")
REFUND_ANSWER = Obj(fields(refund_id=ID, points_clawed_back=COUNT, balance=POINTS, growth=GROWTH, tier=TIER),
                    name="RefundRecorded")
ORDER = Obj(fields(
    order_id=ID, member_id=ID, amount_fen=FEN, subtotal_fen=FEN, paid_at=INSTANT_TEXT, points_awarded=COUNT,
    points_clawed_back=COUNT, coupon_id=nullable(ID), discount_fen=FEN, points_used=COUNT,
    refunds=Arr(Obj(fields(refund_id=ID, amount_fen=FEN, created_at=INSTANT_TEXT)), 1000),
), name="Order")
