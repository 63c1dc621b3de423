"""What the merchant sends to create or change a coupon template or a reward (§4), declared once:
the routes read bodies with these and the OpenAPI document shows them. The rules that span
several fields (a kind's own fields, stock already issued, tier codes the program has) are in
`chalicelib.domain.coupons` and `chalicelib.domain.rewards`."""
from __future__ import annotations

from chalicelib.schema import Arr, Bool, Enum, Int, Obj, OneOf, Prop, Str, opt, req

MAX_FEN = 10**11
KINDS = ("amount_off", "percent_off", "gift")
WHEN = ("A date YYYY-MM-DD (the whole Shanghai day) or an ISO 8601 instant with an offset "
        "(exactly that instant), years 2000 to 2100.")
VALIDITY = OneOf("type", {
    "fixed": Obj({"type": req(Enum(["fixed"])), "start": req(Str(40, description=WHEN)),
                  "end": req(Str(40, description=WHEN))}, name="FixedValidity"),
    "relative": Obj({"type": req(Enum(["relative"])), "days": req(Int(1, 3650))}, name="RelativeValidity"),
}, description="When a coupon made from the template is valid.")
TIERS = Arr(Str(32, pattern="[a-z][a-z0-9_]{0,31}"), 20, min_items=1, nullable=True,
            description="Tier codes allowed (null: every tier).")

TEMPLATE_FIELDS: dict[str, Prop] = {
    "name": req(Str(64, display=True)),
    "kind": req(Enum(KINDS)),
    "amount_off_fen": opt(Int(1, MAX_FEN, nullable=True)),
    "percent_off_pct": opt(Int(1, 99, nullable=True)),
    "max_discount_fen": opt(Int(1, MAX_FEN, nullable=True)),
    "min_spend_fen": opt(Int(0, MAX_FEN)),
    "validity": req(VALIDITY),
    "total_stock": opt(Int(0, MAX_FEN, nullable=True)),
    "per_member_limit": opt(Int(1, MAX_FEN, nullable=True)),
    "claimable": opt(Bool()),
    "tiers": opt(TIERS),
    "active": opt(Bool()),
}
TEMPLATE_CREATE = Obj(TEMPLATE_FIELDS, name="CouponTemplateInput")
TEMPLATE_PATCH = Obj({name: opt(prop.schema) for name, prop in TEMPLATE_FIELDS.items()}, name="CouponTemplatePatch")

REWARD_FIELDS: dict[str, Prop] = {
    "name": req(Str(64, display=True)),
    "points_cost": req(Int(1, 10_000_000)),
    "kind": req(Enum(["coupon", "gift"])),
    "coupon_template_id": opt(Str(64, nullable=True)),
    "stock": opt(Int(0, 10**9, nullable=True)),
    "per_member_limit": opt(Int(1, 10**6, nullable=True)),
    "tiers": opt(TIERS),
    "active": opt(Bool()),
}
REWARD_CREATE = Obj(REWARD_FIELDS, name="RewardInput")
REWARD_PATCH = Obj({name: opt(prop.schema) for name, prop in REWARD_FIELDS.items()}, name="RewardPatch")
