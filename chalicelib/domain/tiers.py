"""Growth (成长值) and tiers: growth is net spend in whole yuan over the current and previous
Shanghai calendar year; the tier is the highest whose `min_growth` is reached (`Program.tier_for`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.domain.program import Program, Tier


def growth_value(growth_by_year: dict[int, int], today: date) -> int:
    """Net spend (yuan) of this and last Shanghai calendar year."""
    return max(0, growth_by_year.get(today.year, 0) + growth_by_year.get(today.year - 1, 0))


def tier_view(tier: Tier) -> dict[str, Any]:
    """Member.tier as the contract renders it."""
    return {"code": tier.code, "name": tier.name, "points_multiplier_pct": tier.points_multiplier_pct}


def growth_view(program: Program, growth: int) -> dict[str, Any]:
    """Member.growth: value, the next tier's code and how much growth it still needs."""
    upcoming = program.next_tier(growth)
    return {
        "value": growth,
        "next_tier": upcoming.code if upcoming else None,
        "to_next": upcoming.min_growth - growth if upcoming else None,
    }


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
