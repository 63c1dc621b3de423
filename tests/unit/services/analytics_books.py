"""The §7 summary recomputed by brute force from the raw stored records, for
`test_uow_analytics_properties.py`: members (joined, closed), ledger entries, orders and refunds,
coupons, redemptions, checkouts, plus the interaction events the test sent (the store keeps only
today's counts of them). Nothing here calls the analytics code under test (`domain/analytics.py`,
`domain/summary.py`, `services/figures.py`): every figure follows the contract's definition.

- A figure dated by an instant counts on that instant's Shanghai date; order points (and an order's
  coupon) on the order's paid date.
- Pending order points: an order's points are *pending* when `paid_at + order_points_pending_days`
  is after the instant it was recorded. They are issued on the paid date and pending until the
  maturity date; a refund before maturity cancels (claws back) the refund's share, by the §6
  formula, from the pending points; a closure before maturity forfeits what is left. The `order`
  entry written when pending points mature is a settlement, not an issue.
- Expired points come from a replay of each member's lots and checkout holds (`analytics_lots`:
  earning year of the entry's instant, or of the maturity instant for matured points; oldest first;
  credits pay debt first; held points expire with their year), every 1 January 00:00 Shanghai up
  to now, whether or not an `expire` entry was written.
- Checkouts (§9): a hold writes no entry, so its points stay in the stock (`outstanding`) until its
  confirm's `checkout` entry spends them (`spent`, on the confirm's date); the points a full refund
  gives back are a `refund` credit (`issued`); the order a confirm records counts as any order.
- Outstanding at the end of a date is every spendable-balance change dated up to it (matured points
  on their maturity date) less what expired up to it; pending is the pending points not yet matured,
  cancelled or forfeited at the end of that date. Now, the stocks are what the members see: their
  balances plus their held points, and their pending points.
"""
from __future__ import annotations

import copy
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import analytics_lots as lots_

from chalicelib.store.checkouts import CheckoutRecord
from chalicelib.store.coupons import CouponRecord
from chalicelib.store.ledger import LedgerRecord
from chalicelib.store.members import MemberRecord
from chalicelib.store.orders import OrderRecord, RefundRecord
from chalicelib.store.rewards import RedemptionRecord

SPENDING = ("redeem", "checkin_makeup", "checkout")
DAILY = ("new_members", "orders", "revenue_fen", "points_issued", "points_spent", "checkins", "coupons_used")
Tables = dict[str, dict[Any, Any]]


day_of = lots_.day_of


def rows(tables: Tables, model: Any, extra: list[dict[str, Any]] | None = None) -> list[Any]:
    """Every stored item of a model's table (and `extra` raw items), deserialized."""
    raw = [*tables.get(model.Meta.table_name, {}).values(), *(extra or [])]
    return [model.from_raw_data(copy.deepcopy(item)) for item in raw]


@dataclass
class PendingOrder:
    """An order's pending points: issued on `paid`, maturing at `matures`; `left` after cancellations
    and forfeits (what matures)."""

    member_id: str
    points: int
    paid: date
    matures: datetime
    left: int


@dataclass
class Books:
    """Everything the figures need, by date."""

    flows: Counter[tuple[date, str]] = field(default_factory=Counter)
    active: dict[str, set[date]] = field(default_factory=lambda: defaultdict(set))
    bought: dict[str, Counter[date]] = field(default_factory=lambda: defaultdict(Counter))
    joined: dict[str, date] = field(default_factory=dict)
    closed: dict[str, datetime] = field(default_factory=dict)
    stock: Counter[date] = field(default_factory=Counter)  # spendable-balance changes
    pending: list[tuple[date, date, int]] = field(default_factory=list)  # [from, until) += points
    expired: Counter[date] = field(default_factory=Counter)
    balances: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # replayed (balance, pending, held) now
    pending_orders: list[PendingOrder] = field(default_factory=list)
    ahead: Counter[str] = field(default_factory=Counter)  # points of orders paid after today (a few minutes)
    notes: Counter[str] = field(default_factory=Counter)  # situations the records show (test statistics)

    def now_totals(self, now: datetime) -> tuple[int, int]:
        """What the members' balances (with their held points) and pending points must sum to now, by
        the stocks at the end of today: less the pending points that mature later today, plus those
        of orders paid after today."""
        later = sum(h.left for h in self.pending_orders if h.matures > now and day_of(h.matures) == day_of(now))
        _, outstanding, pending = stocks(self, day_of(now))
        return outstanding - later + self.ahead["outstanding"], pending + later + self.ahead["pending"]


def build(tables: Tables, *, pending_days: int, keep_years: int, now: datetime,
          archived_coupons: list[dict[str, Any]], events: list[tuple[str, datetime]]) -> Books:
    """The books of the store as it is now."""
    books = Books()
    for member in rows(tables, MemberRecord):
        books.joined[member.member_id] = day_of(member.joined_at)
        books.flows[(day_of(member.joined_at), "new_members")] += 1
        if member.status != "active":
            books.closed[member.member_id] = member.deleted_at
            books.flows[(day_of(member.deleted_at), "closed_members")] += 1
    orders = {o.order_id: o for o in rows(tables, OrderRecord)}
    refunds: dict[str, list[Any]] = defaultdict(list)
    for refund in sorted(rows(tables, RefundRecord), key=lambda r: (r.order_id, r.seq)):
        refunds[refund.order_id].append(refund)
        books.flows[(day_of(refund.created_at), "refunded_fen")] += int(refund.amount_fen)
    _orders(books, orders.values())
    _coupons(books, rows(tables, CouponRecord, archived_coupons))
    for redemption in rows(tables, RedemptionRecord):
        books.active[redemption.member_id].add(day_of(redemption.created_at))
    for member_id, at in events:
        books.active[member_id].add(day_of(at))
    pending = {o.order_id: _pending_order(books, o, refunds[o.order_id], pending_days)
               for o in orders.values() if _is_pending(o, pending_days)}
    books.pending_orders = list(pending.values())
    books.ahead["pending"] = sum(h.points for h in books.pending_orders if h.paid > day_of(now))  # cancellations: dated
    entries: dict[str, list[Any]] = defaultdict(list)
    for entry in sorted(rows(tables, LedgerRecord), key=lambda e: (e.member_id, e.seq)):
        if entry.reason == "order" and entry.ref in pending:
            continue  # pending points maturing: counted when issued
        entries[entry.member_id].append(entry)
        if entry.reason != "expire":
            _entry(books, entry, orders)
        if entry.reason == "order" and day_of(orders[entry.ref].paid_at) > day_of(now):
            books.ahead["outstanding"] += int(entry.delta)
    spent_at = {e.ref: e.created_at for mine in entries.values() for e in mine if e.reason == "checkout"}
    reserved = lots_.reservations(rows(tables, CheckoutRecord), spent_at, books.closed, books.notes)
    for member_id in books.joined:
        mine = [h for h in pending.values() if h.member_id == member_id]
        matured = [(h.matures, h.left) for h in mine if h.left]
        replayed = lots_.replay(lots_.Lots(keep_years, books.expired, books.notes), entries[member_id], matured,
                                [r for r in reserved if r.member_id == member_id], now)
        books.balances[member_id] = (replayed.balance, sum(h.left for h in mine if h.matures > now),
                                     replayed.held_total)
    return books


def _orders(books: Books, orders: Any) -> None:
    coupons = Counter(order.coupon_id for order in orders if order.coupon_id)
    books.notes["a coupon used again after a full refund"] += any(n > 1 for n in coupons.values())
    for order in orders:
        paid = day_of(order.paid_at)
        books.notes["an order paid after today"] += paid > day_of(order.created_at)
        books.notes["an order paid in a later year than recorded"] += paid.year > day_of(order.created_at).year
        books.flows[(paid, "orders")] += 1
        books.flows[(paid, "revenue_fen")] += int(order.amount_fen)
        if order.coupon_id:
            books.flows[(paid, "coupons_used")] += 1
            books.flows[(paid, "discount_fen")] += int(order.discount_fen or 0)
        books.bought[order.member_id][paid] += 1
        books.active[order.member_id].add(paid)


def _coupons(books: Books, coupons: list[Any]) -> None:
    seen = set()
    for coupon in coupons:
        if (coupon.member_id, coupon.coupon_id) in seen:
            continue
        seen.add((coupon.member_id, coupon.coupon_id))
        books.flows[(day_of(coupon.obtained_at), "coupons_issued")] += 1
        if coupon.source == "claim":
            books.active[coupon.member_id].add(day_of(coupon.obtained_at))


def _is_pending(order: Any, pending_days: int) -> bool:
    return int(order.points_awarded) > 0 and order.paid_at + timedelta(days=pending_days) > order.created_at


def _pending_order(books: Books, order: Any, refunds: list[Any], pending_days: int) -> PendingOrder:
    """A pending order's points: issued and pending from the paid date; each refund before maturity
    cancels its share (clawed back); a closure before maturity forfeits the rest."""
    points, amount = int(order.points_awarded), int(order.amount_fen)
    due = PendingOrder(order.member_id, points, day_of(order.paid_at), order.paid_at + timedelta(days=pending_days), points)
    matures_on = day_of(due.matures)
    books.flows[(due.paid, "points_issued")] += points
    books.pending.append((due.paid, matures_on, points))
    refunded = taken = 0
    for refund in refunds:
        refunded += int(refund.amount_fen)
        share = points * refunded // amount - taken
        taken += share
        if refund.created_at < due.matures:
            _drop(books, due, share, refund.created_at, "points_clawed_back")
            books.notes["pending cancelled"] += 1
    closed = books.closed.get(order.member_id)
    if closed is not None and closed < due.matures:
        _drop(books, due, due.left, closed, "points_forfeited")
        books.notes["pending forfeited"] += 1
    books.stock[matures_on] += due.left
    return due


def _drop(books: Books, due: PendingOrder, points: int, at: datetime, kind: str) -> None:
    due.left -= points
    books.flows[(day_of(at), kind)] += points
    books.pending.append((day_of(at), day_of(due.matures), -points))


def _entry(books: Books, entry: Any, orders: dict[str, Any]) -> None:
    """A ledger entry that changes the spendable balance (not a settlement)."""
    on, delta, reason = day_of(entry.created_at), int(entry.delta), entry.reason
    if reason == "checkin":
        books.flows[(on, "checkins")] += 1
        books.active[entry.member_id].add(on)
    if reason == "order":
        on = day_of(orders[entry.ref].paid_at)
        books.notes["late order across a year end"] += on.year != day_of(entry.created_at).year
    books.notes["closed with debt"] += reason == "account_closed" and delta > 0
    books.notes["points used given back by a full refund"] += reason == "refund" and delta > 0
    books.stock[on] += delta
    if reason == "account_closed" or (reason == "admin_adjust" and delta < 0):
        books.flows[(on, "points_forfeited")] -= delta
    elif delta > 0:
        books.flows[(on, "points_issued")] += delta
    elif reason in SPENDING:
        books.flows[(on, "points_spent")] -= delta
    elif reason == "refund":
        books.flows[(on, "points_clawed_back")] -= delta
    else:
        assert delta == 0, f"a debit the contract does not name: {reason} {delta}"


# ---- the expected summary --------------------------------------------------------------------------

def dates(first: date, last: date) -> list[date]:
    """Every date of [first, last]."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def stocks(books: Books, day: date) -> tuple[int, int, int]:
    """Members, outstanding and pending points at the end of `day`."""
    members = sum(1 for m, joined in books.joined.items()
                  if joined <= day and (m not in books.closed or day_of(books.closed[m]) > day))
    outstanding = sum(n for d, n in books.stock.items() if d <= day) - \
        sum(n for d, n in books.expired.items() if d <= day)
    pending = sum(n for start, until, n in books.pending if start <= day < until)
    return members, outstanding, pending


def expected(books: Books, first: date, last: date, tiers: list[dict[str, Any]]) -> dict[str, Any]:
    """The Summary of [first, last] (without `as_of`), figure by figure from the definitions."""
    days = dates(first, last)
    total: Counter[str] = Counter()
    for (day, name), amount in books.flows.items():
        if first <= day <= last:
            total[name] += amount
    members, outstanding, pending = stocks(books, last)
    active = sum(1 for found in books.active.values() if any(first <= d <= last for d in found))
    counts = [sum(n for d, n in found.items() if first <= d <= last) for found in books.bought.values()]
    buyers, repeat = sum(1 for n in counts if n >= 1), sum(1 for n in counts if n >= 2)
    return {
        "from": first.isoformat(), "to": last.isoformat(),
        "members": {"total": members, "new": total["new_members"], "closed": total["closed_members"],
                    "active": active},
        "orders": {"count": total["orders"], "revenue_fen": total["revenue_fen"],
                   "refunded_fen": total["refunded_fen"],
                   "average_order_fen": total["revenue_fen"] // total["orders"] if total["orders"] else 0,
                   "buyers": buyers, "repeat_buyers": repeat,
                   "repurchase_rate_pct": repeat * 100 // buyers if buyers else 0},
        "points": {"issued": total["points_issued"], "spent": total["points_spent"],
                   "expired": sum(n for d, n in books.expired.items() if first <= d <= last),
                   "clawed_back": total["points_clawed_back"], "forfeited": total["points_forfeited"],
                   "outstanding": outstanding, "pending": pending},
        "coupons": {"issued": total["coupons_issued"], "used": total["coupons_used"],
                    "discount_fen": total["discount_fen"]},
        "checkins": total["checkins"],
        "tiers": tiers,
        "daily": [_daily(books, day) for day in days],
    }


def _daily(books: Books, day: date) -> dict[str, Any]:
    flows = {name: books.flows[(day, name)] for name in DAILY}
    return {"date": day.isoformat(), **flows,
            "active_members": sum(1 for found in books.active.values() if day in found),
            "buyers": sum(1 for found in books.bought.values() if found[day] > 0)}


def differences(got: Any, want: Any, path: str = "") -> list[str]:
    """Where two JSON-like values differ, as `path: got != want` lines."""
    if isinstance(want, dict) and isinstance(got, dict):
        return [line for key in sorted(set(got) | set(want))
                for line in differences(got.get(key), want.get(key), f"{path}.{key}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [line for i, (g, w) in enumerate(zip(got, want, strict=True))
                for line in differences(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: got {got!r}, want {want!r}"]
