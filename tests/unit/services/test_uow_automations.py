"""The `automations` job on the in-memory unit of work: a page's entries in one transaction with
their points, coupons and figures, a rival instance entering a member first (nobody enters twice),
and the round trips per member reached."""
from __future__ import annotations

from collections import Counter
from typing import Any

from builders import RacingUnitOfWork, Shop, at, set_now

from chalicelib import clock
from chalicelib.jobs import automations as job
from chalicelib.jobs.sharded import start
from chalicelib.services import analytics, automations, coupons
from chalicelib.store.base import shard_of


def _program(shop: Shop, template_id: str | None, holdout_pct: int = 0) -> None:
    shop.set_program(automations=[{
        "id": "win-back", "name": "回归礼包", "active": True, "trigger": {"type": "lapsed", "days": 30},
        "coupon_template_id": template_id, "points": 20, "notice_template_id": None, "holdout_pct": holdout_pct}])


def _lapsed_members(shop: Shop, count: int) -> list[str]:
    ids = [shop.member().member_id for _ in range(count)]
    for member_id in ids:
        shop.order(member_id, 10_000)
    return ids


def _run(shop: Shop, *, dry_run: bool = False) -> Counter[str]:
    return start(job.JOB, shop.uow, shop.wechat, clock.now(), dry_run=dry_run)


def test_a_page_enters_in_one_transaction_with_points_and_coupons(shop: Shop) -> None:
    template = shop.template(name="回归券", claimable=False)
    _program(shop, template["template_id"])
    ids = _lapsed_members(shop, 5)
    set_now(at(2026, 4, 10, 9))
    assert _run(shop, dry_run=True)["entered"] == 5
    assert all(not [e for e in shop.ledger(m) if e.reason == "automation"] for m in ids)
    before = shop.uow.calls
    assert _run(shop) == Counter(members=5, entered=5, control=0, notices_sent=0)
    # the program, the automation's dates and their update; each of the 16 segments reads the program
    # and queries its shard; a shard with entries reads the template and the counts (one BatchGetItem)
    # and writes one transaction
    shards = len({shard_of(m) for m in ids})
    assert shop.uow.calls - before == 3 + 2 * 16 + 2 * shards
    for member_id in ids:
        [entry] = [e for e in shop.ledger(member_id) if e.reason == "automation"]
        assert (entry.delta, entry.ref, entry.note) == (20, "win-back", "回归礼包")
        member = shop.stored(member_id)
        assert member is not None and member.entered == {"win-back": "2026-03-10"}
    assert _run(shop)["entered"] == 0
    [result] = automations.results(shop.uow)["items"]
    assert (result["treated"], result["control"]) == (5, 0)
    day = clock.business_date()
    figures = analytics.summary(shop.uow, day, day)  # the entries' points and coupons count like any other
    assert (figures["points"]["issued"], figures["coupons"]["issued"]) == (5 * 20, 5)
    for member_id in ids:
        [coupon] = coupons.wallet_for_admin(shop.uow, member_id, "unused", limit=10, cursor=None)["items"]
        assert coupon["source"] == "automation" and coupon["name"] == "回归券"


def test_a_rival_entering_first_leaves_nobody_entered_twice(now: Any, wechat: Any) -> None:
    uow = RacingUnitOfWork()
    shop = Shop(uow, wechat)
    _program(shop, None)
    first, second = _lapsed_members(shop, 2)
    set_now(at(2026, 4, 10, 9))
    rival = Shop(uow, wechat)
    # another instance runs the whole job between this one's read of a page and its write (this
    # one's first write records the run's date): the page's transaction fails, and each member is
    # tried again from a fresh read
    uow.before_next_write(lambda: uow.before_next_write(lambda: _run(rival)))
    assert _run(shop)["entered"] == 0
    for member_id in (first, second):
        assert len([e for e in shop.ledger(member_id) if e.reason == "automation"]) == 1
    [result] = automations.results(uow)["items"]
    assert result["treated"] == 2
