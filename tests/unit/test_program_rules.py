"""The program: whole-document validation (the default passes, each defect names its field), the
typed Program it builds (frozen, rendered back to the same document) and the rules it answers."""
from __future__ import annotations

import copy
import dataclasses
import json
from datetime import date
from typing import Any, Callable

import pytest

from chalicelib.domain.program import (
    DEFAULT_PROGRAM,
    CheckinRules,
    Interaction,
    Makeup,
    Program,
    StreakBonus,
    Tier,
    default_program,
    validate_program,
)
from chalicelib.errors import ValidationError

FULL: dict[str, Any] = {
    "points_per_yuan": 2,
    "tiers": [
        {"code": "normal", "name": "普通会员", "min_growth": 0, "points_multiplier_pct": 100},
        {"code": "vip_1", "name": "VIP 会员", "min_growth": 300, "points_multiplier_pct": 150},
        {"code": "svip", "name": "超级 VIP", "min_growth": 2000, "points_multiplier_pct": 300},
    ],
    "checkin": {"points": 3, "streak_bonuses": [{"day": 3, "points": 5}, {"day": 7, "points": 30}],
                "makeup": {"points_cost": 20, "monthly_limit": 2}},
    "signup_gift": {"points": 50, "coupon_template_ids": ["t-welcome", "t-free-ship"]},
    "referral": {"inviter_points": 300, "invitee_points": 150},
    "birthday": {"multiplier_pct": 300, "coupon_template_id": "t-birthday"},
    "member_days": {"days_of_month": [1, 15], "multiplier_pct": 150, "coupon_template_id": "t-member-day"},
    "points_expiry": {"keep_years": 1},
    "order_points_pending_days": 7,
    "interactions": [{"type": "review", "points": 10, "daily_cap": 3}],
    "notifications": {"templates": {"member_day": "n-md", "points_expiring": "n-pe", "coupon_expiring": None,
                                    "tier_changed": "n-tc"}, "weekly_cap": 2, "points_expiring_days": [5, 25]},
    "rfm": {"window_days": 180, "recent_days": 30, "frequent_orders": 3, "high_spend_fen": 50000},
    "automations": [{"id": "win-back", "name": "回归礼包", "active": True, "trigger": {"type": "lapsed", "days": 90},
                     "coupon_template_id": "t-back", "points": 0, "notice_template_id": None, "holdout_pct": 10,
                     "attribution_days": 14},
                    {"id": "streak-3", "name": "连续3个月购买", "active": False,
                     "trigger": {"type": "purchase_streak", "months": 3}, "coupon_template_id": None, "points": 300,
                     "notice_template_id": "n-streak", "holdout_pct": 0, "attribution_days": 30}],
    "points_redemption": {"enabled": True, "points_per_yuan": 100, "max_pct_of_amount": 30},
}
PROGRAM = validate_program(FULL)


def test_the_default_program_is_valid_and_unchanged_by_validation() -> None:
    assert default_program() == validate_program(DEFAULT_PROGRAM)
    assert default_program().document() == DEFAULT_PROGRAM


@pytest.mark.parametrize("doc", [DEFAULT_PROGRAM, FULL], ids=["default", "full"])
def test_the_document_round_trips_key_for_key(doc: dict[str, Any]) -> None:
    rendered = validate_program(copy.deepcopy(doc)).document()
    assert rendered == doc
    assert json.dumps(rendered, ensure_ascii=False) == json.dumps(doc, ensure_ascii=False)  # same key order
    assert Program.from_document(json.loads(json.dumps(rendered))) == validate_program(doc)


def test_validation_normalises_order_and_an_absent_makeup() -> None:
    doc = copy.deepcopy(FULL)
    doc["checkin"]["streak_bonuses"].reverse()
    doc["member_days"]["days_of_month"] = [15, 1]
    doc["checkin"]["makeup"] = None
    program = validate_program(doc)
    assert program.checkin.makeup is None and "makeup" not in program.document()["checkin"]
    assert program.document()["checkin"]["streak_bonuses"] == FULL["checkin"]["streak_bonuses"]
    assert program.member_days.days_of_month == (1, 15)


def test_the_program_is_typed_and_frozen() -> None:
    assert PROGRAM.tiers[1] == Tier("vip_1", "VIP 会员", 300, 150)
    assert PROGRAM.checkin == CheckinRules(3, (StreakBonus(3, 5), StreakBonus(7, 30)), Makeup(20, 2))
    assert PROGRAM.signup_gift.coupon_template_ids == ("t-welcome", "t-free-ship")
    assert PROGRAM.keep_years == 1 and PROGRAM.order_points_pending_days == 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROGRAM.points_per_yuan = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROGRAM.tiers[0].min_growth = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROGRAM.checkin.makeup.points_cost = 0  # type: ignore[misc, union-attr]
    with pytest.raises(TypeError):
        PROGRAM.tiers[0] = PROGRAM.tiers[1]  # type: ignore[index]
    assert hash(PROGRAM) == hash(validate_program(FULL))
    PROGRAM.document()["tiers"].clear()
    assert len(PROGRAM.tiers) == 3 and PROGRAM.document() == FULL


def test_tiers_by_growth_and_by_code() -> None:
    assert PROGRAM.base_tier.code == "normal"
    assert [PROGRAM.tier_for(g).code for g in (0, 299, 300, 1999, 2000, 10**6)] == \
        ["normal", "normal", "vip_1", "vip_1", "svip", "svip"]
    assert [PROGRAM.next_tier(g) for g in (0, 300, 2000)] == [PROGRAM.tiers[1], PROGRAM.tiers[2], None]
    assert PROGRAM.tier("svip") == Tier("svip", "超级 VIP", 2000, 300)
    assert PROGRAM.tier("gold") is None and PROGRAM.tier(None) is None
    assert PROGRAM.tier_name("vip_1") == "VIP 会员"
    assert PROGRAM.tier_name("gold") == "gold"  # a tier since removed from the program


def test_member_days_and_the_campaign_multiplier() -> None:
    assert PROGRAM.is_member_day(date(2026, 11, 15)) and not PROGRAM.is_member_day(date(2026, 11, 16))
    assert PROGRAM.campaign_pct(date(2026, 11, 16), None) == 100
    assert PROGRAM.campaign_pct(date(2026, 11, 16), "1990-10-16") == 100
    assert PROGRAM.campaign_pct(date(2026, 11, 15), None) == 150
    assert PROGRAM.campaign_pct(date(2026, 11, 16), "1990-11-30") == 300
    assert PROGRAM.campaign_pct(date(2026, 11, 1), "1990-11-30") == 300  # the larger of both
    low_birthday = validate_program({**FULL, "birthday": {"multiplier_pct": 120, "coupon_template_id": None}})
    assert low_birthday.campaign_pct(date(2026, 11, 1), "1990-11-30") == 150


def test_order_points_follow_the_earn_formula() -> None:
    assert PROGRAM.order_points(12_345, 150, 300) == 12_345 * 2 * 150 * 300 // 1_000_000
    assert default_program().order_points(12_345, 100, 100) == 123
    assert default_program().order_points(99, 200, 200) == 3


def test_notice_templates_by_kind() -> None:
    assert [PROGRAM.notice_template(k) for k in ("member_day", "points_expiring", "coupon_expiring",
                                                 "tier_changed")] == ["n-md", "n-pe", None, "n-tc"]
    assert default_program().notice_template("tier_changed") is None
    with pytest.raises(ValueError):
        PROGRAM.notice_template("birthday")


def test_interactions_and_streak_bonuses() -> None:
    assert PROGRAM.interaction("review") == Interaction("review", 10, 3)
    assert PROGRAM.interaction("share") is None
    assert default_program().interaction("share") == Interaction("share", 2, 5)
    assert [PROGRAM.checkin.bonus_for(streak) for streak in (1, 3, 4, 7, 14)] == [0, 5, 0, 30, 0]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return edit


@pytest.mark.parametrize("edit, field", [
    (_set("points_per_yuan", 1.5), "points_per_yuan"),
    (_set("points_per_yuan", True), "points_per_yuan"),
    (_set("points_per_yuan", KeyError), "points_per_yuan"),
    (_set("tiers", []), "tiers"),
    (_set("tiers.0.min_growth", 5), "tiers[0].min_growth"),
    (_set("tiers.2.min_growth", 500), "tiers[2].min_growth"),
    (_set("tiers.1.code", "normal"), "tiers[1].code"),
    (_set("tiers.1.points_multiplier_pct", "100"), "tiers[1].points_multiplier_pct"),
    (_set("tiers.1.name", "x" * 65), "tiers[1].name"),
    (_set("checkin.points", -1), "checkin.points"),
    (_set("checkin.streak_bonuses.0.day", 0), "checkin.streak_bonuses[0].day"),
    (_set("signup_gift.coupon_template_ids", "t1"), "signup_gift.coupon_template_ids"),
    (_set("member_days.days_of_month", [8, 32]), "member_days.days_of_month[1]"),
    (_set("member_days.days_of_month", [8, 8]), "member_days.days_of_month[1]"),
    (_set("birthday.multiplier_pct", 50), "birthday.multiplier_pct"),
    (_set("points_expiry.keep_years", -1), "points_expiry.keep_years"),
    (_set("order_points_pending_days", 91), "order_points_pending_days"),
    (_set("interactions.0.daily_cap", None), "interactions[0].daily_cap"),
    (_set("notifications.templates.member_day", 7), "notifications.templates.member_day"),
    (_set("notifications.templates.unknown", None), "notifications.templates.unknown"),
    (_set("surprise", 1), "surprise"),
    (_set("tiers.1.code", "Silver"), "tiers[1].code"),
    (_set("tiers.3", "black"), "tiers[3]"),
    (_set("checkin.makeup", {"points_cost": 5, "monthly_limit": 0}), "checkin.makeup.monthly_limit"),
    (_set("checkin.makeup", {"points_cost": 5}), "checkin.makeup.monthly_limit"),
    (_set("checkin.makeup", 3), "checkin.makeup"),
    (_set("checkin.streak_bonuses", [{"day": 7, "points": 1}, {"day": 7, "points": 2}]), "checkin.streak_bonuses[1].day"),
    (_set("signup_gift.coupon_template_ids", ["t1", ""]), "signup_gift.coupon_template_ids[1]"),
    (_set("interactions.1.type", "review"), "interactions[1].type"),
    (_set("interactions.0.type", "晒单"), "interactions[0].type"),
    (_set("notifications", KeyError), "notifications"),
    (_set("notifications.weekly_cap", -1), "notifications.weekly_cap"),
    (_set("notifications.points_expiring_days", [1, 1]), "notifications.points_expiring_days[1]"),
    (_set("rfm", {"window_days": 30, "recent_days": 90, "frequent_orders": 2, "high_spend_fen": 1}),
     "rfm.recent_days"),
    (_set("points_redemption", {"enabled": "yes", "points_per_yuan": 100, "max_pct_of_amount": 50}),
     "points_redemption.enabled"),
    (_set("automations", [{"id": "A", "name": "x", "active": True, "trigger": {"type": "lapsed", "days": 9},
                           "coupon_template_id": None, "points": 5, "notice_template_id": None, "holdout_pct": 0}]),
     "automations[0].id"),
    (_set("automations", [{"id": "a", "name": "x", "active": True, "trigger": {"type": "idle", "days": 9},
                           "coupon_template_id": None, "points": 5, "notice_template_id": None, "holdout_pct": 0}]),
     "automations[0].trigger.type"),
    (_set("automations", [{"id": "a", "name": "x", "active": True, "trigger": {"type": "lapsed", "days": 9},
                           "coupon_template_id": None, "points": 0, "notice_template_id": None, "holdout_pct": 0}]),
     "automations[0].points"),
    (_set("automations", [{"id": "a", "name": "x", "active": True, "trigger": {"type": "lapsed", "days": 9},
                           "coupon_template_id": None, "points": 1, "notice_template_id": None, "holdout_pct": 51}]),
     "automations[0].holdout_pct"),
])
def test_each_defect_is_a_validation_error_naming_the_field(edit, field: str) -> None:
    doc = copy.deepcopy(DEFAULT_PROGRAM)
    edit(doc)
    with pytest.raises(ValidationError) as raised:
        validate_program(doc)
    assert raised.value.field == field


def test_a_non_object_is_refused() -> None:
    with pytest.raises(ValidationError):
        validate_program([1, 2])


def test_sections_added_since_the_first_release_read_as_their_defaults() -> None:
    first_release = {k: v for k, v in copy.deepcopy(FULL).items() if k not in ("rfm", "automations", "points_redemption")}
    first_release["notifications"] = {"templates": FULL["notifications"]["templates"]}
    first_release["automations"] = [{k: v for k, v in FULL["automations"][0].items() if k != "attribution_days"}]
    document = validate_program(first_release).document()
    assert document["rfm"] == DEFAULT_PROGRAM["rfm"]
    assert document["points_redemption"] == DEFAULT_PROGRAM["points_redemption"]
    assert document["notifications"]["weekly_cap"] == 3 and document["notifications"]["points_expiring_days"] == [1, 20]
    assert document["automations"][0]["attribution_days"] == 30
