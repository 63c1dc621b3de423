"""What the analytics property test's scenario steps share (`analytics_shop`, `analytics_checkouts`):
the shop under test, what the test sent it, how a step sends a request the rules may refuse, and
the refunds and account closures both kinds of step make."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from builders import Shop, new_id

from chalicelib.domain.tokens import Principal
from chalicelib.errors import Conflict, Forbidden, NotAMember, NotFound, ValidationError
from chalicelib.services import members, orders
from chalicelib.store import orders as order_store
from chalicelib.store.coupons import CouponRecord
from chalicelib.store.memory import InMemoryUnitOfWork

REFUSED = (Conflict, NotFound, NotAMember, ValidationError, Forbidden)  # business refusals: nothing written


@dataclass
class World:
    """The shop under test and what the test sent it (ids to pick from, replays, the events)."""

    shop: Shop
    keep_years: int
    pending_days: int
    start: date
    template_id: str = ""
    gift_id: str = ""
    coupon_reward_id: str = ""
    members: list[Principal] = field(default_factory=list)
    closed: list[Principal] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    given_back: list[str] = field(default_factory=list)  # orders with a coupon, refunded in full
    checkouts: list[str] = field(default_factory=list)  # holds accepted
    checkout_orders: list[str] = field(default_factory=list)  # orders recorded by a confirm
    replays: list[Callable[[], Any]] = field(default_factory=list)
    archived: list[dict[str, Any]] = field(default_factory=list)  # coupons of closed accounts, as stored
    events: list[tuple[str, datetime]] = field(default_factory=list)  # interaction events recorded
    stats: Counter[str] = field(default_factory=Counter)

    @property
    def uow(self) -> InMemoryUnitOfWork:
        return self.shop.uow


def attempt(world: World, name: str, action: Callable[[], Any]) -> bool:
    """Run a request that the rules may refuse; whether it was accepted."""
    try:
        action()
    except REFUSED as refusal:
        world.stats[f"{name} refused: {type(refusal).__name__}"] += 1
        return False
    world.stats[name] += 1
    return True


def pick(world: World, index: int) -> Principal | None:
    return world.members[index % len(world.members)] if world.members else None


def refund_order(world: World, order_id: str, pct: int) -> None:
    """Refund `pct` percent of what is left of an order (100: all of it)."""
    found = world.uow.read(o=order_store.order(order_id))["o"]
    left = found.amount_fen - found.refunded_fen
    amount, refund_id = (left if pct == 100 else max(1, left * pct // 100)), new_id("f")
    if attempt(world, "refund" + (" of the rest" if pct == 100 else ""),
               lambda: orders.record_refund(world.uow, order_id, refund_id, amount)):
        world.replays.append(lambda: orders.record_refund(world.uow, order_id, refund_id, amount))
        if found.coupon_id and amount == left:
            world.given_back.append(order_id)
        confirmed = order_id in world.checkout_orders
        world.stats.update({"refund of a confirmed checkout": confirmed,
                            "a confirmed checkout's coupon given back": confirmed and bool(found.coupon_id) and amount == left})


def close_account(world: World, member: Principal) -> None:
    """Delete a member's account, keeping (as the test's archive) the coupons the deletion removes."""
    table = world.uow.tables.get(CouponRecord.Meta.table_name, {})
    world.archived += [raw for raw in table.values() if raw["member_id"]["S"] == member.member_id]
    members.delete_me(world.uow, member)
    world.members.remove(member)
    world.closed.append(member)
    world.stats["close"] += 1
