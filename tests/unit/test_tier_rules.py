"""Growth over this and last Shanghai year, and the tier it reaches."""
from __future__ import annotations

from datetime import date

from chalicelib.domain.program import default_program
from chalicelib.domain.tiers import growth_value, growth_view, tier_for

TIERS = default_program()["tiers"]


def test_growth_counts_this_and_last_year_only() -> None:
    growth = {2024: 9000, 2025: 600, 2026: 500}
    assert growth_value(growth, date(2026, 11, 23)) == 1100
    assert growth_value(growth, date(2027, 1, 1)) == 500


def test_tier_is_the_highest_reached() -> None:
    assert tier_for(TIERS, 0)["code"] == "normal"
    assert tier_for(TIERS, 999)["code"] == "normal"
    assert tier_for(TIERS, 1000)["code"] == "silver"
    assert tier_for(TIERS, 10000)["code"] == "black"


def test_growth_view_names_the_next_tier_and_the_gap() -> None:
    assert growth_view(TIERS, 1200) == {"value": 1200, "next_tier": "gold", "to_next": 3800}
    assert growth_view(TIERS, 20000) == {"value": 20000, "next_tier": None, "to_next": None}
