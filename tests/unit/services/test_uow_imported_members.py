"""Members imported by the admin CLI (`admin.importer`), on the in-memory unit of work: the jobs
reach them like any other member, but they have no openid until they are on WeChat, so a notice is
not sent to them and nothing is read for one (an empty key, which DynamoDB refuses). And a batch
written but whose answer was lost counts as imported by the run that wrote it. A WeChat user who
signs up with an imported member's phone gets that member (once, however many sign up)."""
from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import RacingUnitOfWork, Shop, at, set_now, snapshot

from admin.importer import ImportSummary, import_file
from chalicelib import clock
from chalicelib.domain.subscriptions import GrantChange
from chalicelib.domain.tokens import Principal
from chalicelib.errors import AlreadyMember
from chalicelib.jobs import member_day, tier_review
from chalicelib.jobs.sharded import start
from chalicelib.services import analytics, members
from chalicelib.services.members import Profile
from chalicelib.store import messaging
from chalicelib.store.memory import InMemoryUnitOfWork
from chalicelib.store.parts import Write

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


class AnswerLostOnce(InMemoryUnitOfWork):
    """A store whose first transaction is applied but whose answer is lost, so the driver sends it
    again, and the second attempt is refused (what moto does when it answers after botocore's read
    timeout; DynamoDB would answer the retry as the first, by its client request token)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def write(self, *parts: Write) -> None:
        if len(parts) > 1 and not self.lost:
            self.lost = True
            super().write(*parts)
        super().write(*parts)


def test_a_batch_written_whose_answer_was_lost_counts_as_imported_by_this_run(tmp_path: Path) -> None:
    shop = Shop(AnswerLostOnce(), None)  # type: ignore[arg-type]
    done = _import(shop, tmp_path, "13800000004,2026:7,", "13800000004,,", "13800000005,2026:8,")
    assert (done.imported, done.already_imported, done.rejected, done.points) == (2, 0, 1, 15)
    written = snapshot(shop.uow)
    again = _import(shop, tmp_path, "13800000004,2026:7,", "13800000005,2026:8,")
    assert (again.imported, again.already_imported) == (0, 2) and snapshot(shop.uow) == written


def _signup(shop: Shop, phone: str, **profile: Any) -> tuple[Principal, dict[str, Any]]:
    """A WeChat user signing up with the phone WeChat gives for their phone code."""
    openid = "o" + secrets.token_hex(12)
    view = members.signup(shop.uow, shop.wechat, Principal(openid, None),
                          Profile(phone_code=f"phone-{phone}-{secrets.token_hex(4)}", **profile), None)
    return Principal(openid, view["member_id"]), view


def test_signing_up_with_an_imported_phone_makes_the_imported_member_the_openids(shop: Shop, tmp_path: Path) -> None:
    shop.set_program(signup_gift={"points": 100, "coupon_template_ids": []})
    assert _import(shop, tmp_path, "13800000006,2026:300,2025:8000").imported == 1
    [imported] = members.find_by_phone(shop.uow, "13800000006")["items"]
    today = clock.business_date(clock.now())
    figures_before = analytics.summary(shop.uow, today, today)
    who, view = _signup(shop, "13800000006", nickname="小林", birthday="1990-05-01")
    assert view["member_id"] == imported["member_id"] and view["nickname"] == "小林"
    assert view["points"]["balance"] == 300 and view["tier"]["code"] == imported["tier"]["code"]
    assert [e.reason for e in shop.ledger(imported["member_id"])] == ["import"]  # no signup gift
    assert shop.view(who)["member_id"] == imported["member_id"]
    found = members.get_member_for_admin(shop.uow, imported["member_id"])
    assert found["openid"] == who.openid and found["phone"] == "13800000006" and found["birthday"] == "1990-05-01"
    assert analytics.summary(shop.uow, today, today)["members"] == figures_before["members"]
    with pytest.raises(AlreadyMember):
        members.signup(shop.uow, shop.wechat, Principal(who.openid, None), Profile(phone_code="phone-13800000006"), None)
    other, later = _signup(shop, "13800000006")  # a second WeChat account with the same phone
    assert later["member_id"] != imported["member_id"] and shop.balance(other) == 100


def test_an_imported_birthday_is_kept_and_a_phone_without_an_import_signs_up_anew(shop: Shop, tmp_path: Path) -> None:
    source = tmp_path / "members.csv"
    source.write_text("phone,birthday\n13800000007,1988-02-03\n", encoding="utf-8")
    assert import_file(shop.uow, source, tmp_path / "rejects.csv", clock.now()).imported == 1
    _, view = _signup(shop, "13800000007", birthday="1999-09-09")
    assert view["birthday"] == "1988-02-03"
    _, fresh = _signup(shop, "13800000008")
    assert fresh["member_id"] != view["member_id"] and fresh["phone"] == "138****0008"


@pytest.mark.parametrize("rival_before", ["the check", "the claim"])
def test_two_wechat_accounts_racing_for_one_imported_member_get_it_once(tmp_path: Path, wechat: Any,
                                                                        rival_before: str) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    assert _import(shop, tmp_path, "13800000009,2026:50,").imported == 1
    [imported] = members.find_by_phone(shop.uow, "13800000009")["items"]
    rival: list[dict[str, Any]] = []
    if rival_before == "the claim":  # my signup's first transaction (new member + check) fails, then
        racing.before_next_write(lambda: None)  # the rival claims just before my claim is written
    racing.before_next_write(lambda: rival.append(_signup(shop, "13800000009")[1]))
    _, mine = _signup(shop, "13800000009")
    assert rival[0]["member_id"] == imported["member_id"] and mine["member_id"] != imported["member_id"]
    assert rival[0]["points"]["balance"] == 50 and [e.reason for e in shop.ledger(imported["member_id"])] == ["import"]
    assert [e.reason for e in shop.ledger(mine["member_id"])] == ["signup_gift"]  # a new member, with the gift
