"""The merchant's program document (contract §6): the seeded default and whole-document validation."""
from __future__ import annotations

import copy
import re
from typing import Any

from chalicelib.domain.validation import (
    ID_MAX,
    NAME_MAX,
    ValidationError,
    reject_unknown,
    read_int,
    read_str,
    require_object,
)

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
        "templates": {"member_day": None, "points_expiring": None, "coupon_expiring": None, "tier_changed": None}
    },
}

NOTIFICATION_KINDS = ("member_day", "points_expiring", "coupon_expiring", "tier_changed")
MAX_POINTS = 10_000_000
MAX_PCT = 1000
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def default_program() -> dict[str, Any]:
    """A fresh copy of the seeded default program."""
    return copy.deepcopy(DEFAULT_PROGRAM)


def _section(doc: dict[str, Any], field: str, keys: tuple[str, ...], parent: str = "") -> dict[str, Any]:
    name = parent + field
    if field not in doc:
        raise ValidationError(f"{name} is required")
    obj = require_object(doc[field], name)
    reject_unknown(obj, keys, f"{name}.")
    return obj


def _list(doc: dict[str, Any], field: str, *, max_items: int, min_items: int = 0,
          prefix: str = "") -> list[Any]:
    name = prefix + field
    if field not in doc:
        raise ValidationError(f"{name} is required")
    value = doc[field]
    if not isinstance(value, list):
        raise ValidationError(f"{name} must be a list")
    if not min_items <= len(value) <= max_items:
        raise ValidationError(f"{name} must have {min_items} to {max_items} items")
    return value


def _tiers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    tiers = []
    for i, raw in enumerate(_list(doc, "tiers", min_items=1, max_items=20)):
        p = f"tiers[{i}]."
        item = require_object(raw, f"tiers[{i}]")
        reject_unknown(item, ("code", "name", "min_growth", "points_multiplier_pct"), p)
        code = read_str(item, "code", max_length=32, prefix=p)
        if not _CODE.match(code):
            raise ValidationError(f"{p}code must be lowercase letters, digits or _")
        tiers.append({
            "code": code,
            "name": read_str(item, "name", max_length=NAME_MAX, prefix=p),
            "min_growth": read_int(item, "min_growth", minimum=0, maximum=10**9, prefix=p),
            "points_multiplier_pct": read_int(item, "points_multiplier_pct", minimum=100,
                                              maximum=MAX_PCT, prefix=p),
        })
    if tiers[0]["min_growth"] != 0:
        raise ValidationError("tiers[0].min_growth must be 0")
    for i in range(1, len(tiers)):
        if tiers[i]["min_growth"] <= tiers[i - 1]["min_growth"]:
            raise ValidationError(f"tiers[{i}].min_growth must be greater than the tier before")
    if len({t["code"] for t in tiers}) != len(tiers):
        raise ValidationError("tiers codes must be unique")
    return tiers


def _template_id(obj: dict[str, Any], field: str, prefix: str) -> str | None:
    return read_str(obj, field, max_length=ID_MAX, nullable=True, prefix=prefix)


def _makeup(checkin: dict[str, Any]) -> dict[str, Any]:
    """The optional make-up check-in rules (补签): `{"points_cost", "monthly_limit"}`."""
    if checkin.get("makeup") is None:
        return {}
    rules = _section(checkin, "makeup", ("points_cost", "monthly_limit"), "checkin.")
    p = "checkin.makeup."
    return {"makeup": {"points_cost": read_int(rules, "points_cost", minimum=0, maximum=MAX_POINTS, prefix=p),
                       "monthly_limit": read_int(rules, "monthly_limit", minimum=1, maximum=31, prefix=p)}}


def validate_program(doc: Any) -> dict[str, Any]:
    """Check a whole program document and return it normalised; ValidationError names the field."""
    doc = require_object(doc, "program")
    reject_unknown(doc, DEFAULT_PROGRAM.keys())

    checkin = _section(doc, "checkin", ("points", "streak_bonuses", "makeup"))
    bonuses = []
    for i, raw in enumerate(_list(checkin, "streak_bonuses", max_items=31, prefix="checkin.")):
        p = f"checkin.streak_bonuses[{i}]."
        item = require_object(raw, p[:-1])
        reject_unknown(item, ("day", "points"), p)
        bonuses.append({"day": read_int(item, "day", minimum=1, maximum=366, prefix=p),
                        "points": read_int(item, "points", minimum=0, maximum=MAX_POINTS, prefix=p)})
    if len({b["day"] for b in bonuses}) != len(bonuses):
        raise ValidationError("checkin.streak_bonuses days must be unique")

    gift = _section(doc, "signup_gift", ("points", "coupon_template_ids"))
    gift_templates = _list(gift, "coupon_template_ids", max_items=10, prefix="signup_gift.")
    for i, template_id in enumerate(gift_templates):
        if not isinstance(template_id, str) or not 1 <= len(template_id) <= ID_MAX:
            raise ValidationError(f"signup_gift.coupon_template_ids[{i}] must be an id string")

    referral = _section(doc, "referral", ("inviter_points", "invitee_points"))
    birthday = _section(doc, "birthday", ("multiplier_pct", "coupon_template_id"))
    member_days = _section(doc, "member_days", ("days_of_month", "multiplier_pct", "coupon_template_id"))
    days = _list(member_days, "days_of_month", max_items=31, prefix="member_days.")
    for i, day in enumerate(days):
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
            raise ValidationError(f"member_days.days_of_month[{i}] must be an integer from 1 to 31")
    if len(set(days)) != len(days):
        raise ValidationError("member_days.days_of_month must not repeat a day")
    expiry = _section(doc, "points_expiry", ("keep_years",))

    interactions = []
    for i, raw in enumerate(_list(doc, "interactions", max_items=50)):
        p = f"interactions[{i}]."
        item = require_object(raw, p[:-1])
        reject_unknown(item, ("type", "points", "daily_cap"), p)
        kind = read_str(item, "type", max_length=32, prefix=p)
        if not _CODE.match(kind):
            raise ValidationError(f"{p}type must be lowercase letters, digits or _")
        interactions.append({"type": kind,
                             "points": read_int(item, "points", minimum=0, maximum=MAX_POINTS, prefix=p),
                             "daily_cap": read_int(item, "daily_cap", minimum=0, maximum=1000, prefix=p)})
    if len({x["type"] for x in interactions}) != len(interactions):
        raise ValidationError("interactions types must be unique")

    notifications = _section(doc, "notifications", ("templates",))
    templates = _section(notifications, "templates", NOTIFICATION_KINDS, "notifications.")

    return {
        "points_per_yuan": read_int(doc, "points_per_yuan", minimum=0, maximum=1000),
        "tiers": _tiers(doc),
        "checkin": {"points": read_int(checkin, "points", minimum=0, maximum=MAX_POINTS, prefix="checkin."),
                    "streak_bonuses": sorted(bonuses, key=lambda b: b["day"]), **_makeup(checkin)},
        "signup_gift": {"points": read_int(gift, "points", minimum=0, maximum=MAX_POINTS, prefix="signup_gift."),
                        "coupon_template_ids": list(gift_templates)},
        "referral": {
            "inviter_points": read_int(referral, "inviter_points", minimum=0, maximum=MAX_POINTS, prefix="referral."),
            "invitee_points": read_int(referral, "invitee_points", minimum=0, maximum=MAX_POINTS, prefix="referral."),
        },
        "birthday": {
            "multiplier_pct": read_int(birthday, "multiplier_pct", minimum=100, maximum=MAX_PCT, prefix="birthday."),
            "coupon_template_id": _template_id(birthday, "coupon_template_id", "birthday."),
        },
        "member_days": {
            "days_of_month": sorted(days),
            "multiplier_pct": read_int(member_days, "multiplier_pct", minimum=100, maximum=MAX_PCT,
                                       prefix="member_days."),
            "coupon_template_id": _template_id(member_days, "coupon_template_id", "member_days."),
        },
        "points_expiry": {"keep_years": read_int(expiry, "keep_years", minimum=0, maximum=10,
                                                 prefix="points_expiry.")},
        "order_points_pending_days": read_int(doc, "order_points_pending_days", minimum=0, maximum=90),
        "interactions": interactions,
        "notifications": {"templates": {
            kind: _template_id(templates, kind, "notifications.templates.") for kind in NOTIFICATION_KINDS
        }},
    }
