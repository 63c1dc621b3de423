"""Builders for the service unit tests: a shop over one `InMemoryUnitOfWork` that signs members up,
records orders and refunds, adjusts points, creates templates and rewards, and reads the books back.

Everything goes through the services (never around them), so a builder's effects are exactly what
the use case writes. Times are Shanghai wall-clock instants (`at(...)`).
"""
from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from chalicelib import clock
from chalicelib.clock import SHANGHAI
from chalicelib.domain.member import LedgerEntry, Member
from chalicelib.domain.tokens import Principal
from chalicelib.services import coupons, members, orders, points, program, rewards
from chalicelib.services.members import Profile
from chalicelib.store import ledger as ledger_store
from chalicelib.store import members as member_store
from chalicelib.store.memory import InMemoryUnitOfWork
from chalicelib.store.parts import every
from chalicelib.wechat.miniprogram import WeChatGateway

T = TypeVar("T")
ADMIN = "test-admin"

AMOUNT_OFF: dict[str, Any] = {"name": "满100减20", "kind": "amount_off", "amount_off_fen": 2000,
                              "min_spend_fen": 10000, "validity": {"type": "relative", "days": 30},
                              "claimable": True}


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A Shanghai wall-clock instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def set_now(instant: datetime) -> None:
    """Move the test clock (the fixture `now` clears it after the test)."""
    clock.set_test_clock(instant)


def new_id(prefix: str) -> str:
    """A fresh id for orders, refunds and requests."""
    return f"{prefix}-{secrets.token_hex(6)}"


def round_trips(uow: InMemoryUnitOfWork, action: Callable[[], T]) -> tuple[T, int]:
    """What `action` answers, and how many round trips it took."""
    before = uow.calls
    result = action()
    return result, uow.calls - before


def snapshot(uow: InMemoryUnitOfWork) -> dict[str, Any]:
    """Every stored item (tables that only a read created, still empty, left out)."""
    return {name: copy.deepcopy(items) for name, items in uow.tables.items() if items}


class RacingUnitOfWork(InMemoryUnitOfWork):
    """An in-memory store where a rival's change lands just before the next write: the race a
    second Lambda instance would win between our read and our write."""

    def __init__(self) -> None:
        super().__init__()
        self._rivals: list[Callable[[], Any]] = []

    def before_next_write(self, rival: Callable[[], Any]) -> None:
        """Run `rival` (through this store) just before the next write."""
        self._rivals.append(rival)

    def write(self, *parts: Any) -> None:
        if parts and self._rivals:
            self._rivals.pop(0)()
        super().write(*parts)


class Shop:
    """A merchant's store over one unit of work."""

    def __init__(self, uow: InMemoryUnitOfWork, wechat: WeChatGateway) -> None:
        self.uow = uow
        self.wechat = wechat

    # ---- the program -----------------------------------------------------------------------------

    def set_program(self, **sections: Any) -> dict[str, Any]:
        """Store the current program with some top-level sections replaced."""
        document = {**program.get_program(self.uow), **copy.deepcopy(sections)}
        return program.replace_program(self.uow, document)

    # ---- members ---------------------------------------------------------------------------------

    def member(self, *, referral_code: str | None = None, **profile: Any) -> Principal:
        """A signed-up member (with the program's signup gift), as its token's principal."""
        openid = "o" + secrets.token_hex(12)
        view = members.signup(self.uow, self.wechat, Principal(openid, None), Profile(**profile), referral_code)
        return Principal(openid, view["member_id"])

    def view(self, who: Principal) -> dict[str, Any]:
        """The member as `GET /v1/members/me` shows it."""
        return members.get_me(self.uow, who)

    def stored(self, member_id: str) -> Member | None:
        """The member as stored (None once closed)."""
        found: Member | None = self.uow.read(m=member_store.member(member_id))["m"]
        return found

    def ledger(self, member_id: str) -> list[LedgerEntry]:
        """Every ledger entry of a member, newest first."""
        return every(self.uow, lambda cursor: ledger_store.page(member_id, 99, cursor))

    def balance(self, who: Principal) -> int:
        """The spendable balance now."""
        value: int = self.view(who)["points"]["balance"]
        return value

    # ---- the merchant's calls --------------------------------------------------------------------

    def order(self, member_id: str, amount_fen: int, *, order_id: str | None = None, subtotal_fen: int | None = None,
              coupon_id: str | None = None, paid_at: datetime | None = None) -> tuple[int, Any]:
        """Record a paid order."""
        request = orders.OrderRequest(order_id or new_id("o"), member_id, amount_fen,
                                      subtotal_fen, paid_at, coupon_id,
                                      None, None)
        return orders.record_order(self.uow, request)

    def refund(self, order_id: str, amount_fen: int, *, refund_id: str | None = None) -> tuple[int, Any]:
        """Record a refund of an order."""
        return orders.record_refund(self.uow, order_id, refund_id or new_id("f"), amount_fen)

    def adjust(self, member_id: str, delta: int, *, request_id: str | None = None,
               reason: str = "补偿") -> tuple[int, Any]:
        """A manual points adjustment."""
        return points.adjust_points(self.uow, member_id, request_id=request_id or new_id("r"), delta=delta,
                                    reason=reason, actor=ADMIN)

    def template(self, **fields: Any) -> dict[str, Any]:
        """A new coupon template (a claimable 满100减20 unless told otherwise)."""
        return coupons.create_template(self.uow, {**AMOUNT_OFF, **fields})

    def reward(self, **fields: Any) -> dict[str, Any]:
        """A new reward (an unlimited 100-point gift unless told otherwise)."""
        return rewards.create_reward(self.uow, {"name": "帆布袋", "points_cost": 100, "kind": "gift", **fields})

    def claim(self, who: Principal, template_id: str, *, request_id: str | None = None) -> tuple[int, Any]:
        """Claim a coupon from the coupon center."""
        return coupons.claim(self.uow, who, template_id, request_id or new_id("r"))

    def redeem(self, who: Principal, reward_id: str, *, request_id: str | None = None) -> tuple[int, Any]:
        """Redeem a reward."""
        return rewards.redeem(self.uow, who, reward_id, request_id or new_id("r"))

    def wallet(self, who: Principal, status: str = "unused") -> list[dict[str, Any]]:
        """The member's coupons of a status (first page of 100)."""
        items: list[dict[str, Any]] = coupons.wallet(self.uow, who, status, limit=100, cursor=None)["items"]
        return items

    def coupon(self, who: Principal, template_id: str | None = None) -> str:
        """A coupon id in the member's wallet: claimed now (from a new template when none is named)."""
        template_id = template_id or self.template()["template_id"]
        status, body = self.claim(who, template_id)
        assert status == 201, body
        coupon_id: str = body["coupon_id"]
        return coupon_id
