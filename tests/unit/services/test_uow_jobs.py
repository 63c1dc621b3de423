"""Jobs run inline against the in-memory unit of work: `yearly-points-reset` writes each member's
expire entry once (a second run and a dry run change nothing), `tier-review` records fallen tiers
once, `coupon-expiry` marks ended coupons once."""
from __future__ import annotations

from collections import Counter

from builders import Shop, at, set_now, snapshot

from chalicelib import clock
from chalicelib.jobs import birthday_gifts, coupon_expiry, member_day, points_reset, tier_review
from chalicelib.jobs.sharded import ShardedJob, start

NEW_YEAR_2027 = at(2027, 1, 1, 0, 0, 0)


def _run(shop: Shop, job: ShardedJob, *, dry_run: bool = False) -> Counter[str]:
    return start(job, shop.uow, shop.wechat, clock.now(), dry_run=dry_run)


def _holders(shop: Shop) -> list:
    """Three members: 100 + 40 points, 100 points, and none left."""
    first, second, spent = shop.member(), shop.member(), shop.member()
    shop.adjust(first.member_id, 40)
    shop.adjust(spent.member_id, -100)
    return [first, second, spent]


def test_the_reset_writes_each_expire_entry_once(shop: Shop) -> None:
    first, second, spent = _holders(shop)
    set_now(NEW_YEAR_2027)
    assert _run(shop, points_reset.JOB) == Counter(members_expired=2, points_expired=240)
    for who, expired in ((first, 140), (second, 100)):
        entries = shop.ledger(who.member_id)
        assert [(e.reason, e.delta, e.balance_after, e.ref) for e in entries[:1]] == \
            [("expire", -expired, 0, "2026")]
        assert sum(e.delta for e in entries) == 0 == shop.stored(who.member_id).points.balance
    assert [e.reason for e in shop.ledger(spent.member_id)] == ["admin_adjust", "signup_gift"]


def test_a_second_run_changes_nothing(shop: Shop) -> None:
    _holders(shop)
    set_now(NEW_YEAR_2027)
    _run(shop, points_reset.JOB)
    before = snapshot(shop.uow)
    assert _run(shop, points_reset.JOB) == Counter(members_expired=0, points_expired=0)
    assert snapshot(shop.uow) == before


def test_a_dry_run_counts_and_writes_nothing(shop: Shop) -> None:
    _holders(shop)
    set_now(NEW_YEAR_2027)
    before = snapshot(shop.uow)
    assert _run(shop, points_reset.JOB, dry_run=True) == Counter(members_expired=2, points_expired=240)
    assert snapshot(shop.uow) == before


def test_a_second_before_the_new_year_nothing_expires(shop: Shop) -> None:
    _holders(shop)
    set_now(at(2026, 12, 31, 23, 59, 59))
    before = snapshot(shop.uow)
    assert _run(shop, points_reset.JOB) == Counter(members_expired=0, points_expired=0)
    assert snapshot(shop.uow) == before


def test_with_keep_years_1_last_years_points_survive_one_more_year(shop: Shop) -> None:
    shop.set_program(points_expiry={"keep_years": 1})
    who = shop.member()  # 100 of 2026
    set_now(at(2027, 5, 1))
    shop.adjust(who.member_id, 30)  # 30 of 2027
    set_now(NEW_YEAR_2027.replace(year=2028))
    assert _run(shop, points_reset.JOB) == Counter(members_expired=1, points_expired=100)
    assert shop.balance(who) == 30 == sum(e.delta for e in shop.ledger(who.member_id))


def test_a_member_settled_by_a_write_before_the_job_is_not_expired_twice(shop: Shop) -> None:
    who = shop.member()
    set_now(NEW_YEAR_2027)
    shop.adjust(who.member_id, 5)  # writes the expire entry first
    assert _run(shop, points_reset.JOB) == Counter(members_expired=0, points_expired=0)
    assert [e.reason for e in shop.ledger(who.member_id)] == ["admin_adjust", "expire", "signup_gift"]


def test_a_write_after_the_job_writes_no_second_expire_entry(shop: Shop) -> None:
    who = shop.member()
    set_now(NEW_YEAR_2027)
    _run(shop, points_reset.JOB)
    shop.adjust(who.member_id, 5)
    assert [e.reason for e in shop.ledger(who.member_id)] == ["admin_adjust", "expire", "signup_gift"]


# ---- tier review and coupon expiry ---------------------------------------------------------------

def test_the_tier_review_records_a_fallen_tier_once(shop: Shop) -> None:
    who = shop.member()
    shop.order(who.member_id, 600_000)  # gold in 2026 and 2027
    set_now(at(2027, 12, 31, 23, 0))
    assert _run(shop, tier_review.JOB)["tier_changes"] == 0
    set_now(NEW_YEAR_2027.replace(year=2028))
    assert _run(shop, tier_review.JOB)["tier_changes"] == 1
    assert shop.stored(who.member_id).tier_code == "normal"
    before = snapshot(shop.uow)
    assert _run(shop, tier_review.JOB)["tier_changes"] == 0
    assert snapshot(shop.uow) == before


def test_the_coupon_expiry_marks_ended_coupons_once(shop: Shop) -> None:
    who = shop.member()
    shop.coupon(who, shop.template(validity={"type": "relative", "days": 1})["template_id"])
    shop.coupon(who, shop.template(validity={"type": "relative", "days": 5})["template_id"])
    set_now(at(2026, 3, 12))
    before = snapshot(shop.uow)
    assert _run(shop, coupon_expiry.JOB, dry_run=True)["coupons_expired"] == 1
    assert snapshot(shop.uow) == before
    assert _run(shop, coupon_expiry.JOB)["coupons_expired"] == 1
    after = snapshot(shop.uow)
    assert _run(shop, coupon_expiry.JOB)["coupons_expired"] == 0
    assert snapshot(shop.uow) == after
    assert [len(shop.wallet(who, status)) for status in ("unused", "expired")] == [1, 1]


# ---- coupons by job ------------------------------------------------------------------------------

def test_birthday_gifts_go_once_a_year_to_members_born_this_month(shop: Shop) -> None:
    template_id = shop.template(name="生日券", claimable=False)["template_id"]
    shop.set_program(birthday={"multiplier_pct": 200, "coupon_template_id": template_id})
    march, april, unknown = shop.member(birthday="1990-03-21"), shop.member(birthday="1990-04-01"), shop.member()
    set_now(at(2026, 3, 1, 0, 20))
    before = snapshot(shop.uow)
    assert _run(shop, birthday_gifts.JOB, dry_run=True)["coupons_issued"] == 1
    assert snapshot(shop.uow) == before
    assert _run(shop, birthday_gifts.JOB)["coupons_issued"] == 1
    set_now(at(2026, 3, 15))
    assert _run(shop, birthday_gifts.JOB)["coupons_issued"] == 0
    assert [[c["source"] for c in shop.wallet(who)] for who in (march, april, unknown)] == [["birthday"], [], []]
    set_now(at(2027, 3, 1, 0, 20))
    assert _run(shop, birthday_gifts.JOB)["coupons_issued"] == 1


def test_member_day_coupons_go_once_per_member_day(shop: Shop) -> None:
    template_id = shop.template(name="会员日券", claimable=False)["template_id"]
    shop.set_program(member_days={"days_of_month": [18], "multiplier_pct": 200, "coupon_template_id": template_id})
    who = shop.member()
    assert _run(shop, member_day.JOB)["coupons_issued"] == 0  # the 10th is no member day
    set_now(at(2026, 3, 18, 0, 30))
    assert _run(shop, member_day.JOB)["coupons_issued"] == 1
    after = snapshot(shop.uow)
    assert _run(shop, member_day.JOB)["coupons_issued"] == 0
    assert snapshot(shop.uow) == after
    set_now(at(2026, 4, 18, 0, 30))
    assert _run(shop, member_day.JOB)["coupons_issued"] == 1
    assert [c["source"] for status in ("unused", "expired") for c in shop.wallet(who, status)] == \
        ["member_day", "member_day"]  # March's coupon ran out after 30 days
