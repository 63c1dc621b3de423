"""Growth (成长值) and tiers: growth is net spend in whole yuan over the current and previous
Shanghai calendar year; the tier is the highest whose `min_growth` is reached (`Program.tier_for`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.clock import render, shanghai_start_of
from chalicelib.domain.program import Program, Tier
from chalicelib.errors import ValidationError


def growth_value(growth_by_year: dict[int, int], today: date) -> int:
    """Net spend (yuan) of this and last Shanghai calendar year."""
    return max(0, growth_by_year.get(today.year, 0) + growth_by_year.get(today.year - 1, 0))


def tier_view(tier: Tier) -> dict[str, Any]:
    """Member.tier as the contract renders it."""
    return {"code": tier.code, "name": tier.name, "points_multiplier_pct": tier.points_multiplier_pct}


def growth_view(program: Program, growth_by_year: dict[int, int], today: date) -> dict[str, Any]:
    """Member.growth on the Shanghai date `today`: value, the next tier's code and how much growth it
    still needs, and what keeps the tier past the coming 1 January (`keep_view`)."""
    growth = growth_value(growth_by_year, today)
    upcoming = program.next_tier(growth)
    return {
        "value": growth,
        "next_tier": upcoming.code if upcoming else None,
        "to_next": upcoming.min_growth - growth if upcoming else None,
        "keep": keep_view(program, growth_by_year, today),
    }


def keep_view(program: Program, growth_by_year: dict[int, int], today: date) -> dict[str, Any] | None:
    """Member.growth.keep: at 00:00 Shanghai on the coming 1 January the oldest year ages out; if the
    growth left then is below the current tier, the growth still needed by that instant to keep it.
    None when the tier is safe or is the lowest."""
    tier = program.tier_for(growth_value(growth_by_year, today))
    if tier == program.base_tier:
        return None
    new_year = date(today.year + 1, 1, 1)
    left = growth_value(growth_by_year, new_year)
    if left >= tier.min_growth:
        return None
    return {"tier": tier.code, "to_keep": tier.min_growth - left, "by": render(shanghai_start_of(new_year))}


@dataclass(frozen=True)
class TierChange:
    """A member's tier moved from one code to another, and why (`order`, `refund`, `review`)."""

    member_id: str
    from_tier: str
    to_tier: str
    cause: str
    at: datetime


def tier_change(member_id: str, recorded: str | None, tier: Tier, cause: str,
                at: datetime) -> TierChange | None:
    """The change to record when the tier reached differs from the recorded one."""
    if recorded is None or recorded == tier.code:
        return None
    return TierChange(member_id, recorded, tier.code, cause, at)


def check_tier_codes(codes: list[str] | None, program: Program) -> None:
    """A catalog item's `tiers` must name tiers the program has (ValidationError `tiers[i]`)."""
    for i, code in enumerate(codes or []):
        if program.tier(code) is None:
            raise ValidationError(f"会员等级 {code} 不存在", f"tiers[{i}]")
