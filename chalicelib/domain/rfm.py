"""RFM (§7): a member's recency, frequency and monetary value at a Shanghai business date, the ten
segments, and the daily snapshot's counts (members and spend by segment, migrations since the
previous snapshot) as the `rfm-segments` job adds them up and `GET /v1/admin/analytics/rfm` shows
them.

For a member at date `D`, the window is `(D - window_days, D]`; orders count when not fully
refunded (`OrderDay.live`), their spend net of refunds (`OrderDay.net_fen`: a fully refunded order
nets 0); dates after `D` are ignored (a store whose test clock moved back may hold them)."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.clock import render
from chalicelib.domain.member import Member
from chalicelib.domain.orders import OrderDay
from chalicelib.domain.program import RfmRules

LOST, PROSPECT = "lost", "prospect"
# The contract's table, in its order: (segment, name).
SEGMENTS: tuple[tuple[str, str], ...] = (
    ("important_value", "重要价值客户"),
    ("important_develop", "重要发展客户"),
    ("important_keep", "重要保持客户"),
    ("important_winback", "重要挽留客户"),
    ("general_value", "一般价值客户"),
    ("general_develop", "一般发展客户"),
    ("general_keep", "一般保持客户"),
    ("general_winback", "一般挽留客户"),
    (LOST, "流失客户"),
    (PROSPECT, "潜在客户"),
)
CODES: tuple[str, ...] = tuple(code for code, _ in SEGMENTS)
# (R high, F high, M high) -> segment, for members with an order in the window.
_BY_SCORE: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value", (True, False, True): "important_develop",
    (False, True, True): "important_keep", (False, False, True): "important_winback",
    (True, True, False): "general_value", (True, False, False): "general_develop",
    (False, True, False): "general_keep", (False, False, False): "general_winback",
}


@dataclass(frozen=True)
class Rfm:
    """A member's RFM at a date (`recency_days` is None without an order in the window)."""

    recency_days: int | None
    frequency: int
    monetary_fen: int
    segment: str

    def view(self) -> dict[str, Any]:
        """The contract's RFM shape."""
        return asdict(self)


def rfm_at(order_days: dict[date, OrderDay], rules: RfmRules, day: date) -> Rfm:
    """The member's RFM at `day`, from their orders by paid date."""
    start = day - timedelta(days=rules.window_days)  # excluded
    frequency = monetary = 0
    latest: date | None = None
    ordered_before = False
    for paid_on, orders in order_days.items():
        if paid_on > day:
            continue
        if paid_on <= start:
            ordered_before = ordered_before or orders.live > 0
            continue
        frequency += orders.live
        monetary += orders.net_fen
        if orders.live > 0 and (latest is None or paid_on > latest):
            latest = paid_on
    if latest is None:
        return Rfm(None, 0, monetary, LOST if ordered_before else PROSPECT)
    recency = (day - latest).days
    score = (recency <= rules.recent_days, frequency >= rules.frequent_orders, monetary >= rules.high_spend_fen)
    return Rfm(recency, frequency, monetary, _BY_SCORE[score])


# ---- the job's view of a member: the segment tags of the snapshots --------------------------------

@dataclass(frozen=True)
class Tagged:
    """A member with the tags the `rfm-segments` job keeps on it: `segment`, the member's segment in
    the latest run that reached it; `changed`, the business date of the run that last changed it;
    `former`, the segment before that change. All None until a run tags the member."""

    member: Member
    segment: str | None = None
    changed: date | None = None
    former: str | None = None

    def before(self, day: date) -> str:
        """The member's segment in the snapshot before a run of `day`: a second run of the same day
        compares with what the first one replaced; a member never tagged was a prospect."""
        if self.changed == day:
            return self.former or PROSPECT
        return self.segment or PROSPECT


# ---- a snapshot's counts ----------------------------------------------------------------------------
# A run adds, per shard: `n_<segment>` members, `m_<segment>` their monetary_fen, and
# `x_<from>__<to>` the members whose segment changed from the snapshot before (segment codes hold
# single underscores only).

def members_counter(segment: str) -> str:
    """The counter of a segment's members."""
    return f"n_{segment}"


def monetary_counter(segment: str) -> str:
    """The counter of a segment's summed monetary_fen."""
    return f"m_{segment}"


def migration_counter(before: str, after: str) -> str:
    """The counter of the members who moved from `before` to `after`."""
    return f"x_{before}__{after}"


@dataclass(frozen=True)
class SnapshotRun:
    """One run of the job: its business date, instant and id (what its counts are stored under)."""

    day: date
    as_of: datetime
    run_id: str


def snapshot_view(counts: Counter[str], latest: SnapshotRun | None, previous: SnapshotRun | None) -> dict[str, Any]:
    """The contract's RFM snapshot: every segment in the table's order, and the non-zero migrations
    (none without a previous snapshot to compare with)."""
    segments = [{"segment": code, "name": name, "members": counts[members_counter(code)],
                 "monetary_fen": counts[monetary_counter(code)]} for code, name in SEGMENTS]
    migrations = [{"from": before, "to": after, "members": counts[migration_counter(before, after)]}
                  for before in CODES for after in CODES
                  if before != after and counts[migration_counter(before, after)]] if previous else []
    return {"as_of": render(latest.as_of) if latest else None,
            "previous_as_of": render(previous.as_of) if previous else None,
            "segments": segments, "migrations": migrations}
