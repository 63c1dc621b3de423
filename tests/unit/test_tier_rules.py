"""Growth over this and last Shanghai year, and the tier it reaches."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain.program import default_program
from chalicelib.domain.tiers import growth_value, growth_view, tier_change, tier_view

PROGRAM = default_program()


def test_growth_counts_this_and_last_year_only() -> None:
    growth = {2024: 9000, 2025: 600, 2026: 500}
    assert growth_value(growth, date(2026, 11, 23)) == 1100
    assert growth_value(growth, date(2027, 1, 1)) == 500


def test_tier_is_the_highest_reached() -> None:
    assert PROGRAM.tier_for(0).code == "normal"
    assert PROGRAM.tier_for(999).code == "normal"
    assert PROGRAM.tier_for(1000).code == "silver"
    assert PROGRAM.tier_for(10000).code == "black"


def test_growth_view_names_the_next_tier_and_the_gap() -> None:
    today = date(2026, 5, 1)
    assert growth_view(PROGRAM, {2026: 1200}, today) == \
        {"value": 1200, "next_tier": "gold", "to_next": 3800, "keep": None}
    assert growth_view(PROGRAM, {2026: 20000}, today) == \
        {"value": 20000, "next_tier": None, "to_next": None, "keep": None}


@pytest.mark.parametrize("growth, keep", [
    ({2025: 6000, 2026: 1000}, {"tier": "gold", "to_keep": 4000, "by": "2027-01-01T00:00:00+08:00"}),
    ({2025: 1000, 2026: 999}, {"tier": "silver", "to_keep": 1, "by": "2027-01-01T00:00:00+08:00"}),
    ({2025: 1000, 2026: 1000}, None),  # what 2026 alone holds keeps silver
    ({2025: 20000, 2026: 5000}, {"tier": "black", "to_keep": 5000, "by": "2027-01-01T00:00:00+08:00"}),
    ({2025: 900}, None),  # the lowest tier has nothing to keep
    ({2024: 9000, 2026: 300}, None),  # 2024 aged out already: normal
])
def test_keep_is_the_growth_still_needed_before_the_coming_new_year(growth: dict[int, int], keep: object) -> None:
    assert growth_view(PROGRAM, growth, date(2026, 12, 31))["keep"] == keep


def test_tier_view_is_the_contract_shape() -> None:
    assert tier_view(PROGRAM.tier_for(5000)) == {"code": "gold", "name": "金卡会员", "points_multiplier_pct": 200}


def test_a_tier_change_is_recorded_only_when_the_code_moves() -> None:
    at = datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert tier_change("m1", "normal", PROGRAM.tier_for(999), "order", at) is None
    assert tier_change("m1", None, PROGRAM.tier_for(1000), "order", at) is None
    change = tier_change("m1", "normal", PROGRAM.tier_for(1000), "order", at)
    assert change is not None and (change.from_tier, change.to_tier, change.cause) == ("normal", "silver", "order")
