"""The `member-day` job on the in-memory unit of work: what it costs per member, that it stops at
once with nothing to do, that a re-run changes nothing, and that a batch whose condition fails
(a rival's claim, a rival's send) is done again member by member without doubling anything."""
from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from builders import RacingUnitOfWork, Shop, at, round_trips, set_now, snapshot

from chalicelib import clock
from chalicelib.domain.subscriptions import GrantChange
from chalicelib.jobs import member_day
from chalicelib.jobs.sharded import start
from chalicelib.services import notify
from chalicelib.store import messaging
from chalicelib.store.base import shard_of

NOTICE = "tpl-md-unit"
MEMBER_DAY = at(2026, 3, 18, 0, 30)
TEMPLATES = {"member_day": None, "points_expiring": None, "coupon_expiring": None, "tier_changed": None}


def _run(shop: Shop, *, dry_run: bool = False) -> Counter[str]:
    return start(member_day.JOB, shop.uow, shop.wechat, clock.now(), dry_run=dry_run)


def _program(shop: Shop, template_id: str | None, notice: str | None, weekly_cap: int = 3) -> None:
    shop.set_program(member_days={"days_of_month": [18], "multiplier_pct": 200, "coupon_template_id": template_id},
                     notifications={"templates": {**TEMPLATES, "member_day": notice}, "weekly_cap": weekly_cap,
                                    "points_expiring_days": [1, 20]})
    set_now(MEMBER_DAY)


def _grant(shop: Shop, openid: str, template_id: str = NOTICE) -> None:
    shop.uow.write(*messaging.apply_push(openid, f"push-{secrets.token_hex(6)}", "subscribe_msg_popup_event",
                                         [GrantChange(template_id, grants=1, choice="accept")], clock.now(),
                                         timedelta(days=2)))


def _grants(shop: Shop, openid: str) -> dict[str, int]:
    return dict(shop.uow.query(messaging.grants(openid)).items)


def _held(shop: Shop, who: Any, template_id: str) -> int:
    return sum(1 for c in shop.wallet(who) if c["template_id"] == template_id)


@pytest.fixture
def sent(fake_wechat):
    fake_wechat.reset()
    yield lambda: [m for m in fake_wechat.sent_messages if m["template_id"] == NOTICE]
    fake_wechat.reset()


def test_a_coupon_and_a_notice_cost_a_few_calls_per_page_not_per_member(shop: Shop, sent) -> None:
    template_id = shop.template(name="会员日券", claimable=False)["template_id"]
    everyone = [shop.member() for _ in range(48)]
    for who in everyone[:8]:
        _grant(shop, who.openid)
    _program(shop, template_id, NOTICE)
    counts, calls = round_trips(shop.uow, lambda: _run(shop))
    assert counts == Counter(members=48, coupons_issued=48, notices_sent=8, notices_capped=0)
    # The program to start; per shard the program and a page; per shard with members one batched
    # read, one transaction and one note of the msgids: nothing per member.
    shards = len({shard_of(who.member_id) for who in everyone})
    assert calls <= 1 + 16 * 2 + shards * 3, calls
    assert len(sent()) == 8 and all(m["data"]["thing2"] == {"value": "会员日券"} for m in sent())
    assert all(_held(shop, who, template_id) == 1 for who in everyone)
    assert all(_grants(shop, who.openid) == {NOTICE: 0} for who in everyone[:8])


@pytest.mark.parametrize("template, notice, weekly_cap", [(False, None, 3), (False, NOTICE, 0)])
def test_nothing_to_do_reads_only_the_program(shop: Shop, template: bool, notice: str | None, weekly_cap: int) -> None:
    template_id = shop.template(name="会员日券", claimable=False)["template_id"] if template else None
    shop.member()
    _program(shop, template_id, notice, weekly_cap)
    assert round_trips(shop.uow, lambda: _run(shop)) == (
        Counter(members=0, coupons_issued=0, notices_sent=0, notices_capped=0), 1)


def test_a_template_that_can_give_nothing_stops_the_job_after_one_more_read(shop: Shop) -> None:
    template_id = shop.template(name="会员日券", claimable=False, total_stock=0)["template_id"]
    shop.member()
    _program(shop, template_id, None)
    assert round_trips(shop.uow, lambda: _run(shop))[1] == 2


def test_a_rerun_and_a_dry_run_change_nothing(shop: Shop, sent) -> None:
    template_id = shop.template(name="会员日券", claimable=False)["template_id"]
    granted, other = shop.member(), shop.member()
    _grant(shop, granted.openid)
    _grant(shop, granted.openid)
    _program(shop, template_id, NOTICE)
    assert _run(shop, dry_run=True) == Counter(members=2, coupons_issued=2, notices_sent=1, notices_capped=0)
    assert sent() == [] and _held(shop, other, template_id) == 0
    assert _run(shop) == Counter(members=2, coupons_issued=2, notices_sent=1, notices_capped=0)
    after = snapshot(shop.uow)
    assert _run(shop) == Counter(members=2, coupons_issued=0, notices_sent=0, notices_capped=0)
    assert snapshot(shop.uow) == after and len(sent()) == 1 and _grants(shop, granted.openid) == {NOTICE: 1}


def _first_written(everyone: list[Any]) -> list[Any]:
    """The members of the first shard the job walks (its first batch)."""
    first = min(shard_of(who.member_id) for who in everyone)
    return [who for who in everyone if shard_of(who.member_id) == first]


def test_a_rival_claim_over_the_limit_sends_that_batch_member_by_member() -> None:
    shop = Shop(RacingUnitOfWork(), _wechat())
    template_id = shop.template(name="会员日券", per_member_limit=1)["template_id"]
    everyone = [shop.member() for _ in range(6)]
    _program(shop, template_id, None)
    rival = _first_written(everyone)[0]
    shop.uow.before_next_write(lambda: shop.claim(rival, template_id))
    assert _run(shop)["coupons_issued"] == len(everyone) - 1
    assert all(_held(shop, who, template_id) == 1 for who in everyone)


def test_a_rival_claim_of_the_last_stock_leaves_the_batch_one_short() -> None:
    shop = Shop(RacingUnitOfWork(), _wechat())
    everyone = [shop.member() for _ in range(6)]
    first = _first_written(everyone)
    template_id = shop.template(name="会员日券", total_stock=len(first))["template_id"]
    _program(shop, template_id, None)
    shop.uow.before_next_write(lambda: shop.claim(everyone[0], template_id))
    assert _run(shop)["coupons_issued"] == len(first) - 1
    assert sum(_held(shop, who, template_id) for who in everyone) == len(first)


def test_a_rival_send_that_fills_the_budget_caps_the_batch_notice_and_keeps_the_grant(sent) -> None:
    shop = Shop(RacingUnitOfWork(), _wechat())
    everyone = [shop.member() for _ in range(3)]
    for who in everyone:
        _grant(shop, who.openid)
    _program(shop, None, NOTICE, weekly_cap=1)
    rival = _first_written(everyone)[0]
    _grant(shop, rival.openid, "tpl-rival")
    shop.uow.before_next_write(lambda: notify.send_notice(
        shop.uow, shop.wechat, rival.member_id, rival.openid, "tpl-rival", {"thing1": "x"}, job="automations",
        business_date=clock.business_date(), now=clock.now(), weekly_cap=1))
    counts = _run(shop)
    assert counts["notices_capped"] == 1 and counts["notices_sent"] == len(everyone) - 1
    assert _grants(shop, rival.openid) == {NOTICE: 1, "tpl-rival": 0}
    assert rival.openid not in {m["touser"] for m in sent()}


def _wechat() -> Any:
    from chalicelib.config import settings
    from chalicelib.store.memory import InMemoryUnitOfWork
    from chalicelib.store.settings import SharedTokenCache
    from chalicelib.wechat.miniprogram import WeChatGateway

    return WeChatGateway(settings(), SharedTokenCache(InMemoryUnitOfWork()))
