"""The program document (contract §6, §8) as one declaration: it reads every `PUT`, describes the
program in the OpenAPI document, and fills in the defaults of the optional sections. Rules that
span several fields (tiers in order, unique codes) are `chalicelib.domain.program`'s."""
from __future__ import annotations

import copy
from typing import Any

from chalicelib.schema import Arr, Bool, Enum, Int, Obj, OneOf, Prop, Str, opt, req

MAX_POINTS = 10_000_000
MAX_PCT = 1000
MAX_FEN = 10**11
CODE = "[a-z][a-z0-9_]{0,31}"
NOTIFICATION_KINDS = ("member_day", "points_expiring", "coupon_expiring", "tier_changed")

DEFAULT_PROGRAM: dict[str, Any] = {
    "points_per_yuan": 1,
    "tiers": [
        {"code": "normal", "name": "普通会员", "min_growth": 0, "points_multiplier_pct": 100},
        {"code": "silver", "name": "银卡会员", "min_growth": 1000, "points_multiplier_pct": 100},
        {"code": "gold", "name": "金卡会员", "min_growth": 5000, "points_multiplier_pct": 200},
        {"code": "black", "name": "黑卡会员", "min_growth": 10000, "points_multiplier_pct": 200},
    ],
    "checkin": {"points": 5, "streak_bonuses": [{"day": 7, "points": 20}]},
    "signup_gift": {"points": 100, "coupon_template_ids": []},
    "referral": {"inviter_points": 200, "invitee_points": 100},
    "birthday": {"multiplier_pct": 200, "coupon_template_id": None},
    "member_days": {"days_of_month": [8, 18, 28], "multiplier_pct": 200, "coupon_template_id": None},
    "points_expiry": {"keep_years": 0},
    "order_points_pending_days": 0,
    "interactions": [
        {"type": "review", "points": 10, "daily_cap": 3},
        {"type": "share", "points": 2, "daily_cap": 5},
    ],
    "notifications": {
        "templates": {"member_day": None, "points_expiring": None, "coupon_expiring": None, "tier_changed": None},
        "weekly_cap": 3,
        "points_expiring_days": [1, 20],
    },
    "rfm": {"window_days": 365, "recent_days": 90, "frequent_orders": 2, "high_spend_fen": 100000},
    "automations": [],
    "points_redemption": {"enabled": False, "points_per_yuan": 100, "max_pct_of_amount": 50},
}
# Sections (and fields) a PUT may leave out: they read as these defaults.
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "rfm": DEFAULT_PROGRAM["rfm"],
    "automations": [],
    "points_redemption": DEFAULT_PROGRAM["points_redemption"],
}
NOTIFICATION_DEFAULTS = {"weekly_cap": 3, "points_expiring_days": [1, 20]}
AUTOMATION_DEFAULTS = {"attribution_days": 30}


def _points() -> Int:
    return Int(0, MAX_POINTS)


def _pct() -> Int:
    return Int(100, MAX_PCT)


def _template_id() -> Str:
    return Str(64, nullable=True)


def _fields(**props: Any) -> dict[str, Prop]:
    return {name: req(schema) for name, schema in props.items()}


TIER = Obj(_fields(code=Str(32, pattern=CODE), name=Str(64, display=True), min_growth=Int(0, 10**9),
                   points_multiplier_pct=_pct()), name="Tier")
TRIGGER = OneOf("type", {
    "lapsed": Obj(_fields(type=Enum(["lapsed"]), days=Int(1, 3650)), name="LapsedTrigger"),
    "no_first_order": Obj(_fields(type=Enum(["no_first_order"]), days=Int(1, 3650)), name="NoFirstOrderTrigger"),
    "purchase_streak": Obj(_fields(type=Enum(["purchase_streak"]), months=Int(1, 120)), name="PurchaseStreakTrigger"),
    "tier_at_risk": Obj(_fields(type=Enum(["tier_at_risk"]), days=Int(1, 366)), name="TierAtRiskTrigger"),
})
AUTOMATION = Obj({
    **_fields(id=Str(32, pattern="[a-z0-9-]{1,32}"), name=Str(64, display=True), active=Bool(), trigger=TRIGGER,
              coupon_template_id=_template_id(), points=_points(), notice_template_id=_template_id(),
              holdout_pct=Int(0, 50)),
    "attribution_days": opt(Int(1, 90)),
}, name="Automation")
PROGRAM = Obj({
    "points_per_yuan": req(Int(0, 1000)),
    "tiers": req(Arr(TIER, 20, min_items=1)),
    "checkin": req(Obj({
        "points": req(_points()),
        "streak_bonuses": req(Arr(Obj(_fields(day=Int(1, 366), points=_points())), 31)),
        "makeup": opt(Obj(_fields(points_cost=_points(), monthly_limit=Int(1, 31)), nullable=True)),
    })),
    "signup_gift": req(Obj(_fields(points=_points(), coupon_template_ids=Arr(Str(64), 10)))),
    "referral": req(Obj(_fields(inviter_points=_points(), invitee_points=_points()))),
    "birthday": req(Obj(_fields(multiplier_pct=_pct(), coupon_template_id=_template_id()))),
    "member_days": req(Obj(_fields(days_of_month=Arr(Int(1, 31), 31), multiplier_pct=_pct(),
                                   coupon_template_id=_template_id()))),
    "points_expiry": req(Obj(_fields(keep_years=Int(0, 10)))),
    "order_points_pending_days": req(Int(0, 90)),
    "interactions": req(Arr(Obj(_fields(type=Str(32, pattern=CODE), points=_points(), daily_cap=Int(0, 1000))), 50)),
    "notifications": req(Obj({
        "templates": req(Obj({kind: req(_template_id()) for kind in NOTIFICATION_KINDS})),
        "weekly_cap": opt(Int(0, 100)),
        "points_expiring_days": opt(Arr(Int(1, 31), 31)),
    })),
    "rfm": opt(Obj(_fields(window_days=Int(1, 3650), recent_days=Int(1, 3650), frequent_orders=Int(1, 1000),
                           high_spend_fen=Int(0, MAX_FEN)))),
    "automations": opt(Arr(AUTOMATION, 50)),
    "points_redemption": opt(Obj(_fields(enabled=Bool(), points_per_yuan=Int(1, 10_000),
                                         max_pct_of_amount=Int(1, 100)))),
}, name="Program", description="The merchant's program (§6); optional sections read as their defaults.")


def read_program(doc: Any) -> dict[str, Any]:
    """The document as declared, with the optional sections and fields filled in."""
    values: dict[str, Any] = PROGRAM.read(doc, "")
    for section, default in OPTIONAL_DEFAULTS.items():
        values.setdefault(section, copy.deepcopy(default))
    values["notifications"] = {**NOTIFICATION_DEFAULTS, **values["notifications"]}
    values["automations"] = [{**AUTOMATION_DEFAULTS, **rule} for rule in values["automations"]]
    return values
