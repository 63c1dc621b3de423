"""The checkout steps (§9) of the analytics property test's scenarios (`analytics_shop`): holds of
points (`points_redemption` on, `POINTS_PER_YUAN` points a yuan) and/or a coupon, holds made just
before a 1 January, confirms (on time, after the hold lapsed, paid a minute before), cancels.

A hold step goes on, a second apart, with what happens while the member pays (`PAYING`, and
`ACROSS_MIDNIGHT` for a `new_year_hold`): the confirm, a cancel, a full refund of the member's
latest order (its clawback may leave them owing while their points are held), a credit of 5,000
points by the merchant (it may cover held points that expired), the member closing their account,
the hold lapsing (the clock to exactly its `expires_at`), midnight (the clock to 00:00:00 of the
coming 1 January). A hold that simply lapses is one that nothing confirms or cancels before the
clock passes its `expires_at`. Like every step, each picks its checkout among those accepted so
far, by index, modulo.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from analytics_world import World, attempt, close_account, pick, refund_order
from builders import new_id, set_now

from chalicelib import clock
from chalicelib.clock import SHANGHAI, parse_instant
from chalicelib.domain.tokens import Principal
from chalicelib.services import checkouts, coupons
from chalicelib.services.checkouts import HoldRequest, Payment
from chalicelib.store import orders as order_store

POINTS_PER_YUAN = 10
POINTS_REDEMPTION = {"enabled": True, "points_per_yuan": POINTS_PER_YUAN, "max_pct_of_amount": 50}
SHARES = [0, 30, 60, 100, 100, 130]  # percent of the balance to hold (130: more than it has, refused)
EXPIRES_IN_S = [60, 300, 900, 3600]
PAYING = {(): 3, ("confirm",): 5, ("cancel",): 1, ("lapse",): 1, ("lapse", "confirm"): 1, ("refund", "confirm"): 1,
          ("refund", "cancel"): 2, ("close", "cancel"): 1, ("close", "confirm"): 1}
ACROSS_MIDNIGHT = {("midnight",): 2, ("midnight", "confirm"): 3, ("midnight", "credit", "confirm"): 5, ("confirm",): 1,
                   ("cancel",): 1, ("midnight", "cancel"): 1, ("refund", "cancel"): 3,
                   ("refund", "midnight", "confirm"): 1, ("refund", "midnight", "cancel"): 1}
RECENT = 12  # how many of the latest checkouts and orders a preference looks at


def draw(rng: random.Random) -> dict[str, Callable[[], tuple[Any, ...]]]:
    """Each checkout step kind with the arguments it draws."""
    def who() -> int:
        return rng.randrange(10)

    def then(scripts: dict[tuple[str, ...], int]) -> tuple[str, ...]:
        return rng.choices(list(scripts), list(scripts.values()))[0]

    return {
        "hold": lambda: (who(), rng.choice(SHARES), rng.random() < 0.4, rng.choice(EXPIRES_IN_S),
                         rng.randint(5_000, 300_000), then(PAYING)),
        "new_year_hold": lambda: (who(), rng.choice(SHARES[1:]), rng.random() < 0.3, rng.choice([1, 4, 20, 45]),
                                  rng.choice([900, 3600]), rng.randint(20_000, 300_000),
                                  then(ACROSS_MIDNIGHT)),
        "confirm": lambda: (rng.randrange(4), rng.choice([0, 0, 0, 1, 600]), rng.choice([0, 0, 1])),
        "cancel": lambda: (rng.randrange(4),),
    }


def hold(world: World, index: int, share: int, with_coupon: bool, expires_in_s: int, subtotal: int,
         then: tuple[str, ...]) -> None:
    """Hold `share` percent of the member's balance (whole yuan of points) and/or their first coupon
    not held yet, on a subtotal that allows the points; then the follow-ups, a second apart."""
    if (member := pick(world, index)) is None:
        return
    points = max(0, world.shop.balance(member)) * share // 100 // POINTS_PER_YUAN * POINTS_PER_YUAN
    points = points or (POINTS_PER_YUAN if share else 0)
    coupon_id = None
    if with_coupon:
        wallet = coupons.wallet(world.uow, member, "unused", limit=100, cursor=None)["items"]
        coupon_id = next((c["coupon_id"] for c in wallet if not c["held"]), None)
    subtotal = max(subtotal, 2 * points * 100 // POINTS_PER_YUAN + 2_000)
    request = HoldRequest(new_id("c"), member.member_id or "", subtotal, coupon_id, points, expires_in_s)
    if not attempt(world, "hold", lambda: checkouts.hold(world.uow, request)):
        return
    world.checkouts.append(request.checkout_id)
    world.replays.append(lambda: checkouts.hold(world.uow, request))
    world.stats.update({"hold of points": bool(points), "hold of a coupon": bool(coupon_id)})
    for action in then:
        set_now(clock.now() + timedelta(seconds=1))
        follow_up(world, member, action)


def follow_up(world: World, member: Principal, action: str) -> None:
    """What happens to the latest hold while the member pays."""
    if action == "confirm":
        confirm(world, 0, 0, 0)
    elif action == "cancel":
        cancel(world, 0)
    elif action == "refund":
        owned = (o for o in reversed(world.orders[-RECENT:])
                 if world.uow.read(o=order_store.order(o))["o"].member_id == member.member_id)
        if (order_id := next(owned, None)) is not None:
            refund_order(world, order_id, 100)
    elif action == "credit" and member in world.members:
        attempt(world, "adjust", lambda: world.shop.adjust(member.member_id or "", 5_000))
    elif action == "close" and member in world.members and len(world.members) > 1:
        close_account(world, member)
    elif action == "lapse":
        set_now(max(clock.now(), parse_instant(checkouts.get(world.uow, world.checkouts[-1])["expires_at"])))
    elif action == "midnight":
        set_now(max(clock.now(), clock.shanghai_start_of(date(clock.business_date().year + 1, 1, 1))))


def new_year_hold(world: World, index: int, share: int, with_coupon: bool, minutes_before: int, expires_in_s: int,
                  subtotal: int, then: tuple[str, ...]) -> None:
    """A hold made `minutes_before` the coming 1 January (when that is still to come), open across it."""
    year = clock.business_date().year
    target = datetime(year, 12, 31, 23, 59, 59, tzinfo=SHANGHAI) - timedelta(minutes=minutes_before) + \
        timedelta(seconds=1)
    if target > clock.now():
        set_now(target)
    before, made = len(world.checkouts), clock.now()
    hold(world, index, share, with_coupon, expires_in_s, subtotal, then)
    new_year = clock.shanghai_start_of(date(year + 1, 1, 1))
    world.stats["hold across a 1 January"] += len(world.checkouts) > before and \
        made < new_year < made + timedelta(seconds=expires_in_s)


def confirm(world: World, index: int, lapse_s: int, paid_minutes_ago: int) -> None:
    """Confirm a recent checkout for its amount due (after the clock passed `expires_at` by `lapse_s`
    if not 0), paid now or a minute ago."""
    if not world.checkouts:
        return
    checkout_id = world.checkouts[-1 - index % len(world.checkouts)]
    view = checkouts.get(world.uow, checkout_id)
    expires_at = parse_instant(view["expires_at"])
    if lapse_s:
        set_now(max(clock.now(), expires_at + timedelta(seconds=lapse_s)))
    paid_at = clock.now() - timedelta(minutes=paid_minutes_ago) if paid_minutes_ago else None
    payment = Payment(new_id("o"), view["amount_due_fen"], paid_at, None, None)
    lapsed = clock.now() >= expires_at

    def send() -> Any:
        return checkouts.confirm(world.uow, checkout_id, payment)

    if attempt(world, "confirm", send):
        world.orders.append(payment.order_id)
        world.checkout_orders.append(payment.order_id)
        world.replays.append(send)
        world.stats["confirm after the hold lapsed"] += lapsed
    elif lapsed:
        world.stats["confirm refused after the hold lapsed"] += 1


def cancel(world: World, index: int) -> None:
    if world.checkouts:
        checkout_id = world.checkouts[-1 - index % len(world.checkouts)]
        if attempt(world, "cancel", lambda: checkouts.cancel(world.uow, checkout_id)):
            world.replays.append(lambda: checkouts.cancel(world.uow, checkout_id))


def holders(world: World) -> list[str]:
    """The members of the latest checkouts still holding points, latest first."""
    views = [checkouts.get(world.uow, c) for c in reversed(world.checkouts[-RECENT:])]
    return [v["member_id"] for v in views if v["status"] == "held" and v["points_used"]]


def preferred_order(world: World, prefer: str) -> str | None:
    """The latest order confirmed from a checkout that used points (`checkout`), or of a member whose
    points are held by an open checkout now (`holding`: its clawback may leave them owing)."""
    if prefer == "checkout":
        return next((o for o in reversed(world.checkout_orders)
                     if world.uow.read(o=order_store.order(o))["o"].points_used), None)
    owners = set(holders(world))
    return next((o for o in reversed(world.orders[-RECENT:])
                 if world.uow.read(o=order_store.order(o))["o"].member_id in owners), None)


STEPS: dict[str, Callable[..., None]] = {"hold": hold, "new_year_hold": new_year_hold, "confirm": confirm,
                                         "cancel": cancel}
