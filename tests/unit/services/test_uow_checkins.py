"""Daily check-ins against the in-memory unit of work: once per Shanghai date, streaks and their
bonuses, make-up check-ins at a points cost (nothing written when refused), the calendar, races."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from builders import RacingUnitOfWork, Shop, at, round_trips, set_now, snapshot

from chalicelib.errors import AlreadyCheckedIn, InsufficientPoints, LimitReached, ValidationError
from chalicelib.services import checkins
from chalicelib.store.parts import StaleRead

MAKEUP = {"points": 5, "streak_bonuses": [{"day": 7, "points": 20}], "makeup": {"points_cost": 30, "monthly_limit": 2}}


def _check_in(shop: Shop, who, makeup_day: date | None = None) -> dict:
    return checkins.check_in_now(shop.uow, who, makeup_day)


def test_a_check_in_is_one_read_and_one_write(shop: Shop, uow) -> None:
    who = shop.member()
    answer, trips = round_trips(uow, lambda: _check_in(shop, who))
    assert trips == 2
    assert answer == {"date": "2026-03-10", "streak": 1, "points_awarded": 5, "bonus_points": 0, "balance": 105}
    assert [(e.reason, e.delta, e.ref) for e in shop.ledger(who.member_id)][0] == ("checkin", 5, "2026-03-10")


def test_once_per_shanghai_date(shop: Shop, uow) -> None:
    who = shop.member()
    _check_in(shop, who)
    set_now(at(2026, 3, 10, 23, 59, 59))
    before = snapshot(uow)
    with pytest.raises(AlreadyCheckedIn):
        _check_in(shop, who)
    assert snapshot(uow) == before
    set_now(at(2026, 3, 11, 0, 0, 0))
    assert _check_in(shop, who)["streak"] == 2


def test_the_streak_bonus_comes_on_the_day_the_streak_reaches_it(shop: Shop) -> None:
    who = shop.member()
    answers = []
    for day in range(7):
        set_now(at(2026, 3, 10 + day, 8, 0))
        answers.append(_check_in(shop, who))
    assert [a["streak"] for a in answers] == [1, 2, 3, 4, 5, 6, 7]
    assert [a["bonus_points"] for a in answers] == [0, 0, 0, 0, 0, 0, 20]
    assert answers[-1]["balance"] == 100 + 7 * 5 + 20
    assert [(e.reason, e.delta) for e in shop.ledger(who.member_id)[:2]] == \
        [("checkin_streak_bonus", 20), ("checkin", 5)]


def test_a_missed_day_starts_the_streak_again(shop: Shop) -> None:
    who = shop.member()
    _check_in(shop, who)
    set_now(at(2026, 3, 12))
    assert (_check_in(shop, who)["streak"], shop.view(who)["checkin"]) == \
        (1, {"streak": 1, "last_date": "2026-03-12"})


def test_the_calendar_of_a_month_is_one_round_trip(shop: Shop, uow) -> None:
    who = shop.member()
    for day in (10, 11):
        set_now(at(2026, 3, day))
        _check_in(shop, who)
    set_now(at(2026, 3, 12))
    view, trips = round_trips(uow, lambda: checkins.calendar(uow, who, None))
    assert trips == 1
    assert view == {"month": "2026-03", "dates": ["2026-03-10", "2026-03-11"], "streak": 2,
                    "checked_in_today": False}
    assert checkins.calendar(uow, who, "2026-02")["dates"] == []


# ---- make-up check-ins (补签) ----------------------------------------------------------------------

def _streaky_member(shop: Shop):
    """Checked in on 1-3 and 5-9 March, and it is now the 10th."""
    shop.set_program(checkin=MAKEUP)
    set_now(at(2026, 3, 1, 9, 0))
    who = shop.member()
    for day in (1, 2, 3, 5, 6, 7, 8, 9):
        set_now(at(2026, 3, day, 9, 0))
        _check_in(shop, who)
    set_now(at(2026, 3, 10, 9, 0))
    return who


def test_a_make_up_costs_points_earns_the_days_points_and_repairs_the_streak(shop: Shop) -> None:
    who = _streaky_member(shop)
    balance = shop.balance(who)
    answer = _check_in(shop, who, date(2026, 3, 4))
    assert answer == {"date": "2026-03-04", "streak": 9, "points_awarded": 5, "bonus_points": 0,
                      "balance": balance - 30 + 5}
    assert [(e.reason, e.delta, e.ref) for e in shop.ledger(who.member_id)[:2]] == \
        [("checkin", 5, "2026-03-04"), ("checkin_makeup", -30, "2026-03-04")]
    assert _check_in(shop, who)["streak"] == 10


def test_a_make_up_without_the_points_writes_nothing(shop: Shop, uow) -> None:
    who = _streaky_member(shop)
    shop.adjust(who.member_id, 29 - shop.balance(who))
    before = snapshot(uow)
    with pytest.raises(InsufficientPoints):
        _check_in(shop, who, date(2026, 3, 4))
    assert snapshot(uow) == before
    assert 4 not in [int(d[-2:]) for d in checkins.calendar(uow, who, None)["dates"]]


def test_make_ups_are_limited_per_month(shop: Shop, uow) -> None:
    shop.set_program(checkin=MAKEUP)
    set_now(at(2026, 3, 20))
    who = shop.member()
    shop.adjust(who.member_id, 500)
    _check_in(shop, who, date(2026, 3, 2))
    _check_in(shop, who, date(2026, 3, 4))
    before = snapshot(uow)
    with pytest.raises(LimitReached):
        _check_in(shop, who, date(2026, 3, 6))
    with pytest.raises(AlreadyCheckedIn):
        _check_in(shop, who, date(2026, 3, 4))
    assert snapshot(uow) == before


@pytest.mark.parametrize("day", [date(2026, 2, 27), date(2026, 3, 10), date(2026, 3, 11)])
def test_a_make_up_is_for_an_earlier_day_of_this_month_only(shop: Shop, uow, day: date) -> None:
    shop.set_program(checkin=MAKEUP)
    who = shop.member()
    before = snapshot(uow)
    with pytest.raises(ValidationError):
        _check_in(shop, who, day)
    assert snapshot(uow) == before


def test_no_make_up_unless_the_program_offers_it(shop: Shop) -> None:
    who = shop.member()
    with pytest.raises(ValidationError):
        _check_in(shop, who, date(2026, 3, 9))


# ---- races ---------------------------------------------------------------------------------------

def test_a_check_in_that_lost_a_race_is_counted_once(shop: Shop, uow) -> None:
    who = shop.member()
    uow.fail_next_write(StaleRead())
    assert _check_in(shop, who)["balance"] == 105
    assert [e.reason for e in shop.ledger(who.member_id)] == ["checkin", "signup_gift"]


def test_of_two_parallel_check_ins_only_one_wins(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    who = shop.member()
    racing.before_next_write(lambda: _check_in(shop, who))
    with pytest.raises(AlreadyCheckedIn):
        _check_in(shop, who)
    assert shop.balance(who) == 105


def test_the_streak_survives_a_shanghai_midnight_that_is_utc_afternoon(shop: Shop) -> None:
    who = shop.member()
    first = at(2026, 3, 10, 23, 59, 59)
    set_now(first)
    _check_in(shop, who)
    set_now(first + timedelta(seconds=1))
    assert _check_in(shop, who) == {"date": "2026-03-11", "streak": 2, "points_awarded": 5, "bonus_points": 0,
                                    "balance": 110}
