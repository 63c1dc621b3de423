"""Points use cases against the in-memory unit of work: manual adjustments and interaction events
(idempotent, audited, one read and one write), the ledger pages, the yearly expiry exact at 00:00
Shanghai on 1 January, and what lost races and outages do to a command."""
from __future__ import annotations

import pytest
from builders import ADMIN, RacingUnitOfWork, Shop, at, round_trips, set_now, snapshot

from chalicelib.errors import IdempotencyKeyReused, NegativeBalance, NotFound, StoreUnavailable, ValidationError
from chalicelib.services import points
from chalicelib.store.parts import StaleRead

# ---- manual adjustments --------------------------------------------------------------------------


def test_an_adjustment_is_one_read_and_one_write_audited_as_admin_adjust(shop: Shop, uow) -> None:
    who = shop.member()
    (status, body), trips = round_trips(uow, lambda: shop.adjust(who.member_id, 40, reason="门店补偿"))
    assert (status, trips) == (201, 2)
    assert body["balance"] == 140
    entry = body["entry"]
    assert (entry["delta"], entry["balance_after"], entry["reason"], entry["note"]) == \
        (40, 140, "admin_adjust", "门店补偿")
    assert entry["created_at"] == "2026-03-10T10:00:00+08:00"
    stored = shop.ledger(who.member_id)[0]
    assert (stored.reason, stored.note, stored.actor) == ("admin_adjust", "门店补偿", ADMIN)


def test_an_adjustment_replayed_answers_the_same_and_changes_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    first = shop.adjust(who.member_id, 25, request_id="adj-1")
    before = snapshot(uow)
    assert shop.adjust(who.member_id, 25, request_id="adj-1") == first
    assert snapshot(uow) == before
    with pytest.raises(IdempotencyKeyReused):
        shop.adjust(who.member_id, 26, request_id="adj-1")
    with pytest.raises(IdempotencyKeyReused):
        shop.adjust(who.member_id, 25, request_id="adj-1", reason="另一个原因")
    assert snapshot(uow) == before
    assert shop.balance(who) == 125


def test_a_debit_below_zero_is_negative_balance_and_writes_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    before = snapshot(uow)
    with pytest.raises(NegativeBalance):
        shop.adjust(who.member_id, -101)
    assert snapshot(uow) == before
    assert shop.adjust(who.member_id, -100)[1]["balance"] == 0


def test_an_unknown_member_is_not_found(shop: Shop, uow) -> None:
    with pytest.raises(NotFound):
        shop.adjust("m-nobody", 5)
    assert snapshot(uow) == {}


# ---- interaction events --------------------------------------------------------------------------

def _event(shop: Shop, member_id: str, kind: str = "review", request_id: str | None = None) -> tuple[int, dict]:
    from builders import new_id

    return points.record_event(shop.uow, member_id, request_id=request_id or new_id("e"), kind=kind, ref="post-1",
                               actor=ADMIN)


def test_events_earn_within_the_daily_cap_and_are_counted_beyond_it(shop: Shop) -> None:
    who = shop.member()
    awarded = [_event(shop, who.member_id)[1]["points_awarded"] for _ in range(4)]
    assert awarded == [10, 10, 10, 0]
    assert shop.balance(who) == 130
    set_now(at(2026, 3, 11, 0, 0, 1))  # a new Shanghai date: a new cap
    assert _event(shop, who.member_id)[1] == {"points_awarded": 10, "balance": 140}
    assert [e.reason for e in shop.ledger(who.member_id)].count("interaction") == 4


def test_an_event_replays_and_an_unknown_type_is_refused(shop: Shop, uow) -> None:
    who = shop.member()
    first = _event(shop, who.member_id, request_id="ev-1")
    before = snapshot(uow)
    assert _event(shop, who.member_id, request_id="ev-1") == first
    with pytest.raises(IdempotencyKeyReused):
        _event(shop, who.member_id, kind="share", request_id="ev-1")
    with pytest.raises(ValidationError):
        _event(shop, who.member_id, kind="dance")
    assert snapshot(uow) == before


# ---- the ledger ----------------------------------------------------------------------------------

def test_the_ledger_is_newest_first_its_first_page_one_round_trip_the_next_two(shop: Shop, uow) -> None:
    who = shop.member()
    for delta in (1, 2, 3, 4):
        shop.adjust(who.member_id, delta)
    page, trips = round_trips(uow, lambda: points.ledger_page(uow, who, limit=3, cursor=None))
    assert trips == 1  # the page, whose newest entry would show a closed account
    assert [e["delta"] for e in page["items"]] == [4, 3, 2]
    assert [e["balance_after"] for e in page["items"]] == [110, 106, 103]
    rest, trips = round_trips(uow, lambda: points.ledger_page(uow, who, limit=3, cursor=page["next_cursor"]))
    assert trips == 2  # the member (live, the token's), then the page
    assert ([e["delta"] for e in rest["items"]], rest["next_cursor"]) == ([1, 100], None)
    assert len({e["entry_id"] for e in page["items"] + rest["items"]}) == 5


# ---- expiry (年度清零) -----------------------------------------------------------------------------

@pytest.mark.parametrize("keep_years, lasts_until", [(0, 2027), (1, 2028)])
def test_points_expire_exactly_at_00_00_shanghai_on_1_january(shop: Shop, keep_years: int, lasts_until: int) -> None:
    shop.set_program(points_expiry={"keep_years": keep_years})
    who = shop.member()  # 100 points earned in 2026
    assert shop.view(who)["points"]["expiring"] == \
        [{"points": 100, "expires_at": f"{lasts_until}-01-01T00:00:00+08:00"}]
    set_now(at(lasts_until - 1, 12, 31, 23, 59, 59))
    assert shop.balance(who) == 100
    set_now(at(lasts_until, 1, 1, 0, 0, 0))
    assert shop.view(who)["points"] == {"balance": 0, "pending": 0, "held": 0, "expiring": []}


def test_the_first_write_after_expiry_writes_the_expire_entry_first(shop: Shop) -> None:
    who = shop.member()
    set_now(at(2027, 1, 1, 0, 0, 1))
    status, body = shop.adjust(who.member_id, 7)
    assert body["balance"] == 7
    entries = shop.ledger(who.member_id)
    assert [(e.delta, e.balance_after, e.reason, e.ref) for e in entries[:2]] == \
        [(7, 7, "admin_adjust", None), (-100, 0, "expire", "2026")]
    assert sum(e.delta for e in entries) == 7


def test_spending_takes_the_oldest_points_first(shop: Shop) -> None:
    shop.set_program(points_expiry={"keep_years": 1})
    who = shop.member()  # 100 of 2026
    set_now(at(2027, 6, 1))
    shop.adjust(who.member_id, 50)  # 50 of 2027
    shop.adjust(who.member_id, -120)  # all of 2026, 20 of 2027
    assert shop.view(who)["points"]["expiring"] == [{"points": 30, "expires_at": "2029-01-01T00:00:00+08:00"}]
    set_now(at(2028, 1, 1, 0, 0))
    assert shop.balance(who) == 30


# ---- races and outages ---------------------------------------------------------------------------

def test_a_lost_race_is_read_and_decided_again_and_counted_once(shop: Shop, uow) -> None:
    who = shop.member()
    uow.fail_next_write(StaleRead())
    (status, body), trips = round_trips(uow, lambda: shop.adjust(who.member_id, 30, request_id="race-1"))
    assert (status, body["balance"], trips) == (201, 130, 4)
    assert [e.delta for e in shop.ledger(who.member_id)] == [30, 100]


def test_a_rival_write_between_read_and_write_is_seen_by_the_retry(wechat) -> None:
    racing = RacingUnitOfWork()
    shop = Shop(racing, wechat)
    who = shop.member()
    racing.before_next_write(lambda: shop.adjust(who.member_id, -60))
    with pytest.raises(NegativeBalance):  # decided again on the 40 left after the rival's debit
        shop.adjust(who.member_id, -50)
    assert shop.balance(who) == 40
    assert [e.delta for e in shop.ledger(who.member_id)] == [-60, 100]


def test_an_outage_surfaces_as_store_unavailable_and_writes_nothing(shop: Shop, uow) -> None:
    who = shop.member()
    before = snapshot(uow)
    uow.fail_next_write(StoreUnavailable())
    with pytest.raises(StoreUnavailable):
        shop.adjust(who.member_id, 30, request_id="down-1")
    assert snapshot(uow) == before
    assert shop.adjust(who.member_id, 30, request_id="down-1")[1]["balance"] == 130  # the retry goes through


def test_races_lost_beyond_the_time_budget_are_store_unavailable(shop: Shop, uow) -> None:
    who = shop.member()
    before = snapshot(uow)
    for _ in range(1_000):
        uow.fail_next_write(StaleRead())
    with pytest.raises(StoreUnavailable):
        shop.adjust(who.member_id, 30)
    assert snapshot(uow) == before


def test_a_replay_answers_the_first_answer_even_after_later_changes(shop: Shop) -> None:
    who = shop.member()
    first = shop.adjust(who.member_id, 10, request_id="adj-old")
    shop.adjust(who.member_id, 500)
    assert shop.adjust(who.member_id, 10, request_id="adj-old") == first
    assert first[1]["balance"] == 110 and shop.balance(who) == 610


def test_request_ids_belong_to_their_caller(shop: Shop, uow) -> None:
    who = shop.member()
    for actor in ("admin-a", "admin-b"):
        status, _ = points.adjust_points(uow, who.member_id, request_id="shared", delta=5, reason="x", actor=actor)
        assert status == 201
    assert shop.balance(who) == 110
