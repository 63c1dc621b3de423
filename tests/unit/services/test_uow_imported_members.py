"""Members imported by the admin CLI (`admin.importer`), on the in-memory unit of work: the jobs
reach them like any other member, but they have no openid until they are on WeChat, so a notice is
not sent to them and nothing is read for one (an empty key, which DynamoDB refuses)."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from builders import Shop, at, set_now

from admin.importer import ImportSummary, import_file
from chalicelib import clock
from chalicelib.domain.subscriptions import GrantChange
from chalicelib.jobs import member_day, tier_review
from chalicelib.jobs.sharded import start
from chalicelib.store import messaging

NOTICE = "tpl-imported"
TEMPLATES = {"member_day": None, "points_expiring": None, "coupon_expiring": None, "tier_changed": None}


def _import(shop: Shop, folder: Path, *rows: str) -> ImportSummary:
    source = folder / "members.csv"
    source.write_text("\n".join(["phone,points,growth", *rows]) + "\n", encoding="utf-8")
    return import_file(shop.uow, source, folder / "rejects.csv", clock.now())


def _notices(shop: Shop, kind: str) -> None:
    shop.set_program(member_days={"days_of_month": [18], "multiplier_pct": 200, "coupon_template_id": None},
                     notifications={"templates": {**TEMPLATES, kind: NOTICE}, "weekly_cap": 3,
                                    "points_expiring_days": [1, 20]})


def _grant(shop: Shop, openid: str) -> None:
    shop.uow.write(*messaging.apply_push(openid, f"push-{openid}", "subscribe_msg_popup_event",
                                         [GrantChange(NOTICE, grants=1, choice="accept")], clock.now(),
                                         timedelta(days=2)))


@pytest.fixture
def sent(fake_wechat):
    fake_wechat.reset()
    yield lambda: [m for m in fake_wechat.sent_messages if m["template_id"] == NOTICE]
    fake_wechat.reset()


def test_member_day_gives_imported_members_its_coupon_and_no_notice(shop: Shop, tmp_path: Path, sent) -> None:
    template_id = shop.template(name="会员日券", claimable=False)["template_id"]
    granted = shop.member()
    _grant(shop, granted.openid)
    assert _import(shop, tmp_path, "13800000001,2026:10,", "13800000002,,").imported == 2
    _notices(shop, "member_day")
    shop.set_program(member_days={"days_of_month": [18], "multiplier_pct": 200, "coupon_template_id": template_id})
    set_now(at(2026, 3, 18, 0, 30))
    counts = start(member_day.JOB, shop.uow, shop.wechat, clock.now(), dry_run=False)
    assert counts == Counter(members=3, coupons_issued=3, notices_sent=1, notices_capped=0)
    assert [m["touser"] for m in sent()] == [granted.openid]


def test_tier_review_records_an_imported_members_fall_without_a_notice(shop: Shop, tmp_path: Path, sent) -> None:
    assert _import(shop, tmp_path, "13800000003,,2025:6000").imported == 1
    _notices(shop, "tier_changed")
    set_now(at(2027, 1, 1, 0, 10))
    counts = start(tier_review.JOB, shop.uow, shop.wechat, clock.now(), dry_run=False)
    assert counts == Counter(members_reviewed=1, tier_changes=1, notices_sent=0, notices_capped=0)
    assert sent() == []
