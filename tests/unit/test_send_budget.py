"""The weekly subscribe-message budget as a pure rule: at most `weekly_cap` sends in any 7
consecutive business dates."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from chalicelib.domain.send_budget import SendBudget

DAY = date(2026, 12, 1)


def _after(*days: int) -> SendBudget:
    """A budget after sends on DAY + each offset, in that order."""
    budget = SendBudget()
    for number, offset in enumerate(days):
        budget = budget.spending(f"k{number}", DAY + timedelta(days=offset))
    return budget


def test_sends_count_within_seven_dates_across_templates_and_jobs() -> None:
    budget = _after(0, 3)
    assert budget.allows(DAY + timedelta(days=6), 3)
    assert not _after(0, 3, 6).allows(DAY + timedelta(days=6), 3)
    assert not _after(0, 3, 6).allows(DAY + timedelta(days=5), 3)


def test_the_eighth_date_frees_a_slot() -> None:
    budget = _after(0)
    assert not budget.allows(DAY + timedelta(days=6), 1)
    assert budget.allows(DAY + timedelta(days=7), 1)


def test_a_cap_of_zero_allows_nothing() -> None:
    assert not SendBudget().allows(DAY, 0)


def test_every_window_holding_the_date_counts_even_later_sends() -> None:
    """Sends recorded on later dates (a test clock moved back) still count in the windows they share."""
    budget = _after(6)
    assert not budget.allows(DAY, 1)
    assert budget.allows(DAY - timedelta(days=1), 1)


def test_spending_drops_sends_that_no_longer_count_and_bumps_the_version() -> None:
    budget = _after(0, 1)
    later = budget.spending("late", DAY + timedelta(days=7))
    assert dict(later.sends) == {"k1": DAY + timedelta(days=1), "late": DAY + timedelta(days=7)}
    assert later.version == budget.version + 1 == 3
    assert later.counts_until() == DAY + timedelta(days=14)


@pytest.mark.parametrize("key, left", [("k0", {"k1"}), ("unknown", {"k0", "k1"})])
def test_giving_back_takes_out_exactly_that_send(key: str, left: set[str]) -> None:
    budget = _after(0, 0)
    assert not budget.allows(DAY, 2)
    after = budget.giving_back(key)
    assert set(after.sends) == left and after.version == budget.version + 1
    assert after.allows(DAY, 2) == (key == "k0")
    assert SendBudget().counts_until() is None
