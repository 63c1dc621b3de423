"""Whole-document validation of the program: the default passes, each defect names its field."""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from chalicelib.domain.program import DEFAULT_PROGRAM, default_program, validate_program
from chalicelib.errors import ValidationError


def test_the_default_program_is_valid_and_unchanged_by_validation() -> None:
    assert validate_program(default_program()) == DEFAULT_PROGRAM


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
    (_set("tiers.1.code", "normal"), "tiers codes"),
    (_set("tiers.1.points_multiplier_pct", "100"), "tiers[1].points_multiplier_pct"),
    (_set("tiers.1.name", "x" * 65), "tiers[1].name"),
    (_set("checkin.points", -1), "checkin.points"),
    (_set("checkin.streak_bonuses.0.day", 0), "checkin.streak_bonuses[0].day"),
    (_set("signup_gift.coupon_template_ids", "t1"), "signup_gift.coupon_template_ids"),
    (_set("member_days.days_of_month", [8, 32]), "member_days.days_of_month[1]"),
    (_set("member_days.days_of_month", [8, 8]), "member_days.days_of_month"),
    (_set("birthday.multiplier_pct", 50), "birthday.multiplier_pct"),
    (_set("points_expiry.keep_years", -1), "points_expiry.keep_years"),
    (_set("order_points_pending_days", 91), "order_points_pending_days"),
    (_set("interactions.0.daily_cap", None), "interactions[0].daily_cap"),
    (_set("notifications.templates.member_day", 7), "notifications.templates.member_day"),
    (_set("notifications.templates.unknown", None), "notifications.templates.unknown"),
    (_set("surprise", 1), "surprise"),
])
def test_each_defect_is_a_validation_error_naming_the_field(edit, field: str) -> None:
    doc = copy.deepcopy(DEFAULT_PROGRAM)
    edit(doc)
    with pytest.raises(ValidationError) as raised:
        validate_program(doc)
    assert field in raised.value.message


def test_a_non_object_is_refused() -> None:
    with pytest.raises(ValidationError):
        validate_program([1, 2])
