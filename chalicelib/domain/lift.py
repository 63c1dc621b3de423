"""What an automation brought (§8): its treated and control groups' entries, conversions and revenue,
the lift of the treated conversion rate over the control's, and whether the difference is
significant (a two-sided pooled two-proportion z-test at 95%)."""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

from chalicelib.domain.automations import CONVERTED, ENTERED, REVENUE, counter

Z_95 = 1.959963984540054  # the two-sided 95% critical value of the standard normal


def lift_pct(treated: int, treated_converted: int, control: int, control_converted: int) -> int | None:
    """floor(100 × treated rate / control rate) − 100, exactly in integers; None without a control
    rate (no control entry, or none converted) or without a treated entry."""
    if not treated or not control or not control_converted:
        return None
    return 100 * treated_converted * control // (treated * control_converted) - 100


def significant(treated: int, treated_converted: int, control: int, control_converted: int) -> bool:
    """Whether the two conversion rates differ at 95% (pooled two-proportion z-test, two-sided);
    False when either group is empty or the pooled rate is 0 or 1 (no variance)."""
    if not treated or not control:
        return False
    pooled = (treated_converted + control_converted) / (treated + control)
    variance = pooled * (1 - pooled) * (1 / treated + 1 / control)
    if variance <= 0:
        return False
    z = (treated_converted / treated - control_converted / control) / math.sqrt(variance)
    return abs(z) > Z_95


def result_view(automation_id: str, name: str, counters: Counter[str]) -> dict[str, Any]:
    """The contract's AutomationResult from an automation's summed counters."""
    def count(control: bool, kind: str) -> int:
        return max(0, counters[counter(automation_id, control, kind)])

    treated, control = count(False, ENTERED), count(True, ENTERED)
    treated_converted, control_converted = count(False, CONVERTED), count(True, CONVERTED)
    return {"id": automation_id, "name": name, "treated": treated, "control": control,
            "treated_converted": treated_converted, "control_converted": control_converted,
            "treated_revenue_fen": count(False, REVENUE), "control_revenue_fen": count(True, REVENUE),
            "lift_pct": lift_pct(treated, treated_converted, control, control_converted),
            "significant": significant(treated, treated_converted, control, control_converted)}
