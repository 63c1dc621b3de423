"""Checkout holds (§9) losing races against the in-memory unit of work (a rival's change lands
between our read and our write): one coupon held once, never more points held than the balance,
a confirm racing a cancel."""
from __future__ import annotations

import pytest
from builders import RacingUnitOfWork, Shop
from test_uow_checkouts import cash_shop, confirm, hold, ledger_sum, rich

from chalicelib.errors import CouponNotUsable, HoldClosed, InsufficientPoints
from chalicelib.services import checkouts


def racing(shop: Shop) -> tuple[Shop, RacingUnitOfWork]:
    racing_uow = RacingUnitOfWork()
    raced = Shop(racing_uow, shop.wechat)
    cash_shop(raced)
    return raced, racing_uow


def test_a_rival_hold_of_the_same_coupon_wins_and_ours_is_refused(shop: Shop) -> None:
    raced, racing_uow = racing(shop)
    who = rich(raced)
    coupon_id = raced.coupon(who)
    racing_uow.before_next_write(lambda: hold(raced, who, checkout_id="rival", coupon_id=coupon_id))
    with pytest.raises(CouponNotUsable):
        hold(raced, who, checkout_id="ours", coupon_id=coupon_id)


def test_rival_holds_never_hold_more_than_the_balance(shop: Shop) -> None:
    raced, racing_uow = racing(shop)
    who = rich(raced)  # 1100
    racing_uow.before_next_write(lambda: hold(raced, who, checkout_id="rival", points=800, subtotal_fen=100_000))
    with pytest.raises(InsufficientPoints):
        hold(raced, who, checkout_id="ours", points=800, subtotal_fen=100_000)
    assert raced.view(who)["points"] == {**raced.view(who)["points"], "balance": 300, "held": 800}


@pytest.mark.parametrize("first", ["cancel", "confirm"])
def test_confirm_racing_cancel_one_wins_and_the_ledger_sums_to_the_balance(shop: Shop, first) -> None:
    raced, racing_uow = racing(shop)
    who = rich(raced)
    hold(raced, who, checkout_id="c-1", points=500)
    if first == "cancel":
        racing_uow.before_next_write(lambda: checkouts.cancel(racing_uow, "c-1"))
        with pytest.raises(HoldClosed):
            confirm(raced, "c-1", 19_500)
        assert raced.view(who)["points"]["balance"] == 1_100
    else:
        racing_uow.before_next_write(lambda: confirm(raced, "c-1", 19_500))
        with pytest.raises(HoldClosed):
            checkouts.cancel(racing_uow, "c-1")
        assert raced.view(who)["points"]["balance"] == 600 + 195
    assert raced.view(who)["points"]["held"] == 0
    assert ledger_sum(raced, who.member_id) == raced.view(who)["points"]["balance"]
