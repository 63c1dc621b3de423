"""The shop that `test_uow_analytics_properties.py` drives: random scenarios (a seed gives the
program and the steps) played through the services over one in-memory unit of work. The checkout
steps (§9) are in `analytics_checkouts`; what the steps share (`World`) in `analytics_world`.

A step is a tuple `(kind, *arguments)`; its arguments pick among the members, orders and requests
the shop has at that moment (by index, modulo), so a scenario stays playable when steps are
removed from it (which is how a failing scenario is shrunk).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import analytics_checkouts as checkout_steps
from analytics_world import World, attempt, close_account, pick, refund_order
from builders import ADMIN, Shop, at, new_id, set_now

from chalicelib import clock
from chalicelib.clock import SHANGHAI
from chalicelib.domain.tokens import Principal
from chalicelib.jobs import checkout_expiry, coupon_expiry, member_day, points_reset, tier_review
from chalicelib.jobs.sharded import start as start_job
from chalicelib.services import checkins, coupons, members, orders, points, rewards
from chalicelib.services.members import Profile
from chalicelib.store import orders as order_store
from chalicelib.store.memory import InMemoryUnitOfWork

STARTS = [at(2025, 11, 20, 10), at(2025, 12, 30, 21), at(2026, 6, 14, 9)]
# a few minutes before a month or year ends, its last second, the first two seconds after
MOMENTS = [(23, 57, 0), (23, 59, 59), (0, 0, 0), (0, 0, 1)]
CHECKIN = {"points": 5, "streak_bonuses": [{"day": 3, "points": 20}], "makeup": {"points_cost": 30, "monthly_limit": 2}}
INTERACTIONS = [{"type": "review", "points": 10, "daily_cap": 2}, {"type": "share", "points": 2, "daily_cap": 5},
                {"type": "like", "points": 1, "daily_cap": 0}]  # a `like` is always over the cap: no entry
JOBS = {job.name: job for job in (points_reset.JOB, tier_review.JOB, member_day.JOB, coupon_expiry.JOB,
                                   checkout_expiry.JOB)}
# minutes between payment and recording (an order recorded late); -4: paid four minutes ahead (allowed)
LATE_MINUTES = [0, 0, 0, 0, 0, 0, -4, 3, 90, 60 * 20, 60 * 24 * 3, 60 * 24 * 12, 60 * 24 * 40]


@dataclass
class Scenario:
    """A program and the steps played against it; `final` picks the ranges of the last check."""

    seed: int
    keep_years: int
    pending_days: int
    start: datetime
    gift_coupon: bool
    steps: list[tuple[Any, ...]]
    final: tuple[int, int]


def draw(rng: random.Random) -> dict[str, Callable[[], tuple[Any, ...]]]:
    """Each step kind with the arguments it draws."""
    def who() -> int:
        return rng.randrange(10)

    return {
        "order": lambda: (who(), rng.choice([rng.randint(1, 30_000), rng.randint(30_000, 400_000)]),
                          rng.choice(LATE_MINUTES), rng.random() < 0.5),
        "reuse": lambda: (rng.randint(8_000, 50_000),),
        "refund": lambda: (rng.randrange(8), rng.choice([1, 30, 50, 100, 100]),
                           rng.choices(["", "coupon", "checkout", "holding"], [50, 25, 15, 10])[0]),
        "checkin": lambda: (who(),), "makeup": lambda: (who(), rng.randint(1, 30)),
        "signup": lambda: (rng.random() < 0.5,), "resignup": lambda: (who(),),
        "redeem": lambda: (who(), rng.random() < 0.4), "claim": lambda: (who(),), "issue": lambda: (who(),),
        "event": lambda: (who(), rng.choice([rule["type"] for rule in INTERACTIONS])),
        "adjust": lambda: (who(), rng.choice([rng.randint(-300, -1), rng.randint(1, 300)])),
        "close": lambda: (who(), rng.choice(["any", "debt", "debt", "hold"])), "replay": lambda: (rng.randrange(50),),
        "wait": lambda: (rng.choice([30, 600, 3600]),), "later": lambda: (rng.randint(1, 20),),
        "days": lambda: (rng.randint(1, 45),), "month_end": lambda: (rng.choice(MOMENTS),),
        "year_end": lambda: (rng.choice(MOMENTS), rng.random() < 0.5), "job": lambda: (rng.choice(list(JOBS)),),
        "check": lambda: (rng.randrange(10**6), rng.randrange(10**6)),
        **checkout_steps.draw(rng),
    }


WEIGHTS = {"order": 14, "reuse": 2, "refund": 7, "checkin": 6, "makeup": 3, "signup": 3, "resignup": 1, "redeem": 5, "claim": 4,
           "issue": 2, "event": 5, "adjust": 5, "close": 2, "replay": 3, "wait": 4, "later": 4, "days": 5,
           "month_end": 2, "year_end": 3, "job": 2, "check": 1.5, "hold": 5, "new_year_hold": 2, "confirm": 3,
           "cancel": 2}


def scenario(seed: int, length: tuple[int, int] = (30, 50)) -> Scenario:
    """The scenario of a seed: every combination of `keep_years` (0, 1), `order_points_pending_days`
    (0, 3, 15) and start comes round every 18 seeds."""
    rng = random.Random(seed)
    kinds = rng.choices(list(WEIGHTS), list(WEIGHTS.values()), k=rng.randint(*length))
    arguments = draw(rng)
    return Scenario(seed, seed % 2, [0, 3, 15][seed // 2 % 3], STARTS[seed // 6 % 3], rng.random() < 0.5,
                    [(kind, *arguments[kind]()) for kind in kinds], (rng.randrange(10**6), rng.randrange(10**6)))


def play(plan: Scenario, check: Callable[[World, int, int], None]) -> World:
    """Open the shop, play the steps (a second apart at least: two tier changes of a member at one
    instant collide), `check` at each check step and at the end."""
    world = open_shop(plan)
    for kind, *arguments in plan.steps:
        if kind == "check":
            check(world, *arguments)
            continue
        if kind not in CLOCK_STEPS:
            set_now(clock.now() + timedelta(seconds=1))
        STEPS[kind](world, *arguments)
    check(world, *plan.final)
    return world


def open_shop(plan: Scenario) -> World:
    set_now(plan.start)
    world = World(Shop(InMemoryUnitOfWork(), None), plan.keep_years, plan.pending_days,  # type: ignore[arg-type]
                  clock.business_date())
    shop = world.shop
    world.template_id = shop.template(per_member_limit=4)["template_id"]
    world.gift_id = shop.reward(points_cost=40)["reward_id"]
    world.coupon_reward_id = shop.reward(points_cost=60, kind="coupon",
                                         coupon_template_id=world.template_id)["reward_id"]
    gift = [world.template_id] if plan.gift_coupon else []
    shop.set_program(points_expiry={"keep_years": plan.keep_years}, order_points_pending_days=plan.pending_days,
                     checkin=CHECKIN, interactions=INTERACTIONS, signup_gift={"points": 100, "coupon_template_ids": gift},
                     member_days={"days_of_month": [1, 8, 18, 28], "multiplier_pct": 200,
                                  "coupon_template_id": gift[0] if gift else None},
                     points_redemption=checkout_steps.POINTS_REDEMPTION)
    world.members.append(shop.member())
    signup(world, True)
    signup(world, True)
    return world


# ---- the steps -------------------------------------------------------------------------------------

def signup(world: World, invited: bool) -> None:
    code = world.shop.view(world.members[0])["referral_code"] if invited and world.members else None
    world.members.append(world.shop.member(referral_code=code))


def resignup(world: World, index: int) -> None:
    """A closed account's openid signs up again (a new member)."""
    if world.closed:
        openid = world.closed.pop(index % len(world.closed)).openid
        view = members.signup(world.uow, None, Principal(openid, None), Profile(), None)  # type: ignore[arg-type]
        world.members.append(Principal(openid, view["member_id"]))


def check_in(world: World, index: int) -> None:
    if (member := pick(world, index)) is not None:
        attempt(world, "checkin", lambda: checkins.check_in_now(world.uow, member, None))


def make_up(world: World, index: int, days_ago: int) -> None:
    """A make-up of a day earlier this month (on the 1st, of last month: refused)."""
    if (member := pick(world, index)) is not None:
        today = clock.business_date()
        day = today - timedelta(days=1 + days_ago % (today.day - 1) if today.day > 1 else days_ago)
        attempt(world, "makeup", lambda: checkins.check_in_now(world.uow, member, day))


def order(world: World, index: int, amount: int, late_minutes: int, with_coupon: bool) -> None:
    """An order paid now or `late_minutes` ago, with the member's first unused coupon if asked."""
    if (member := pick(world, index)) is None:
        return
    if late_minutes < 0:  # paid a few minutes ahead, just before midnight: paid tomorrow
        set_now(max(clock.now(), clock.shanghai_start_of(clock.business_date()) + timedelta(hours=23, minutes=58)))
    paid_at = clock.now() - timedelta(minutes=late_minutes) if late_minutes else None
    coupon_id = subtotal = None
    if with_coupon:  # a coupon given back by a full refund if there is one, else the soonest to expire (not held)
        wallet = [c["coupon_id"] for c in coupons.wallet(world.uow, member, "unused", limit=100, cursor=None)["items"]
                  if not c["held"]]
        if wallet:
            given_back = [world.uow.read(o=order_store.order(o))["o"].coupon_id for o in reversed(world.given_back)]
            coupon_id = next((c for c in given_back if c in wallet), wallet[0])
            subtotal = max(amount, 8_000) + 2_000
    request = orders.OrderRequest(new_id("o"), member.member_id or "", amount, subtotal, paid_at, coupon_id, None, None)
    name = "order" + (" with a coupon" if coupon_id else "") + (" paid at another time" if late_minutes else "")
    if attempt(world, name, lambda: orders.record_order(world.uow, request)):
        world.orders.append(request.order_id)
        world.replays.append(lambda: orders.record_order(world.uow, request))


def reuse(world: World, amount: int) -> None:
    """An order by the owner of the coupon a full refund gave back last, paying with coupon."""
    owners = {m.member_id: who for who, m in enumerate(world.members)}
    if world.given_back and (found := world.uow.read(o=order_store.order(world.given_back[-1]))["o"]).member_id in owners:
        order(world, owners[found.member_id], amount, 0, True)


def refund(world: World, index: int, pct: int, prefer: str) -> None:
    """Refund a share of what is left of a recent order (100: all of it); or, if asked, all of the
    latest order that used a coupon (`coupon`: its full refund gives the coupon back for another
    order), or a share of the latest confirmed checkout that used points (`checkout`: a full refund
    gives them back) or of a recent order of a member holding points now (`holding`)."""
    if not world.orders:
        return
    order_id = world.orders[-1 - index % len(world.orders)]
    for other in reversed(world.orders) if prefer == "coupon" else []:
        if world.uow.read(o=order_store.order(other))["o"].coupon_id:
            order_id, pct = other, 100
            break
    if prefer in ("checkout", "holding"):
        order_id = checkout_steps.preferred_order(world, prefer) or order_id
    refund_order(world, order_id, pct)


def redeem(world: World, index: int, coupon: bool) -> None:
    if (member := pick(world, index)) is not None:
        reward_id, request_id = (world.coupon_reward_id if coupon else world.gift_id), new_id("r")
        if attempt(world, "redeem", lambda: rewards.redeem(world.uow, member, reward_id, request_id)):
            world.replays.append(lambda: rewards.redeem(world.uow, member, reward_id, request_id))


def claim(world: World, index: int) -> None:
    if (member := pick(world, index)) is not None:
        request_id = new_id("r")
        if attempt(world, "claim", lambda: coupons.claim(world.uow, member, world.template_id, request_id)):
            world.replays.append(lambda: coupons.claim(world.uow, member, world.template_id, request_id))


def issue(world: World, index: int) -> None:
    """A targeted issue by the merchant (source `admin`; skipped over the member's limit)."""
    if (member := pick(world, index)) is not None:
        ids, request_id = [member.member_id or ""], new_id("r")
        attempt(world, "issue", lambda: coupons.issue_to_members(world.uow, world.template_id, ids, request_id, ADMIN))
        world.replays.append(lambda: coupons.issue_to_members(world.uow, world.template_id, ids, request_id, ADMIN))


def interaction(world: World, index: int, kind: str) -> None:
    if (member := pick(world, index)) is None:
        return
    member_id, request_id = member.member_id or "", new_id("r")

    def send() -> Any:
        return points.record_event(world.uow, member_id, request_id=request_id, kind=kind, ref=None, actor=ADMIN)

    if attempt(world, "event", send):
        world.events.append((member_id, clock.now()))
        world.replays.append(send)


def adjust(world: World, index: int, delta: int) -> None:
    if (member := pick(world, index)) is not None:
        request_id = new_id("r")
        if attempt(world, "adjust", lambda: world.shop.adjust(member.member_id or "", delta, request_id=request_id)):
            world.replays.append(lambda: world.shop.adjust(member.member_id or "", delta, request_id=request_id))


def close(world: World, index: int, mode: str) -> None:
    """Delete an account (not the last one; if asked and there is one, one owing points (`debt`) or
    one whose points an open checkout holds (`hold`)), keeping (as the test's archive) the coupons
    the deletion removes."""
    if len(world.members) < 2 or (member := pick(world, index)) is None:
        return
    if mode == "debt":
        member = next((m for m in world.members if world.shop.balance(m) < 0), member)
    if mode == "hold":
        holding = checkout_steps.holders(world)
        member = next((m for m in world.members if m.member_id in holding), member)
    close_account(world, member)


def replay(world: World, index: int) -> None:
    """Send an accepted request again, as a client retrying it would."""
    if world.replays:
        attempt(world, "replay", world.replays[index % len(world.replays)])


def wait(world: World, seconds: int) -> None:
    set_now(clock.now() + timedelta(seconds=seconds))


def later(world: World, hours: int) -> None:
    set_now(clock.now() + timedelta(hours=hours))


def days(world: World, count: int) -> None:
    set_now(clock.now() + timedelta(days=count))


def month_end(world: World, moment: tuple[int, int, int]) -> None:
    today = clock.business_date()
    first_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    move(world, first_next - timedelta(days=1) if moment[0] == 23 else first_next, moment, reset=False)


def year_end(world: World, moment: tuple[int, int, int], reset: bool) -> None:
    year = clock.business_date().year
    move(world, date(year, 12, 31) if moment[0] == 23 else date(year + 1, 1, 1), moment, reset)


def move(world: World, day: date, moment: tuple[int, int, int], reset: bool) -> None:
    target = datetime(day.year, day.month, day.day, *moment, tzinfo=SHANGHAI)
    if target > clock.now():
        set_now(target)
        world.stats["clock to a month or year end"] += 1
    if reset:
        job(world, points_reset.NAME)


def job(world: World, name: str) -> None:
    """Run a job now, as its schedule would."""
    start_job(JOBS[name], world.uow, None, clock.now(), dry_run=False)  # type: ignore[arg-type]
    world.stats[f"job {name}"] += 1


STEPS: dict[str, Callable[..., None]] = {
    "signup": signup, "resignup": resignup, "reuse": reuse, "checkin": check_in, "makeup": make_up, "order": order, "refund": refund,
    "redeem": redeem, "claim": claim, "issue": issue, "event": interaction, "adjust": adjust, "close": close,
    "replay": replay, "wait": wait, "later": later, "days": days, "month_end": month_end, "year_end": year_end,
    "job": job, **checkout_steps.STEPS,
}
CLOCK_STEPS = ("wait", "later", "days", "month_end", "year_end")
