"""The subscribe-message budget (§6 `notifications.weekly_cap`): no openid receives more than
`weekly_cap` messages from jobs and automations (all templates together) in any 7 consecutive
Shanghai business dates.

A `SendBudget` is what the store keeps per openid: the recent sends, each under its notice key
(so a send that fails can be given back exactly) with its business date, and a version that every
change bumps (each change is conditioned on the version it was decided from).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

WINDOW_DAYS = 7


@dataclass(frozen=True)
class SendBudget:
    """An openid's recent sends (notice key → business date); version 0: never written."""

    sends: Mapping[str, date] = field(default_factory=dict)
    version: int = 0

    def allows(self, day: date, weekly_cap: int) -> bool:
        """Whether one more send on `day` keeps every 7-date window holding `day` within the cap."""
        if weekly_cap <= 0:
            return False
        for first in (day - timedelta(days=back) for back in range(WINDOW_DAYS)):
            last = first + timedelta(days=WINDOW_DAYS - 1)
            if sum(1 for sent in self.sends.values() if first <= sent <= last) >= weekly_cap:
                return False
        return True

    def spending(self, key: str, day: date) -> SendBudget:
        """The budget after a send on `day` (sends no window holding `day` or later can count are dropped)."""
        oldest = day - timedelta(days=WINDOW_DAYS - 1)
        kept = {k: sent for k, sent in self.sends.items() if sent >= oldest}
        return SendBudget({**kept, key: day}, self.version + 1)

    def giving_back(self, key: str) -> SendBudget:
        """The budget after the send under `key` turned out not to go out."""
        return SendBudget({k: sent for k, sent in self.sends.items() if k != key}, self.version + 1)

    def counts_until(self) -> date | None:
        """The first date on which none of its sends counts any more (None when it holds none)."""
        return max(self.sends.values()) + timedelta(days=WINDOW_DAYS) if self.sends else None
