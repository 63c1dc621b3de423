"""The `rfm-segments` job over the in-memory unit of work, and the snapshot it leaves: the counts and
migrations, a second run of a date replacing the first, only changed members written, a dry run, an
earlier date, a page counted once, a member closing mid-page."""
from __future__ import annotations

from collections import Counter
from typing import Any

from builders import Shop, at, round_trips, set_now, snapshot

from chalicelib import clock
from chalicelib.domain.tokens import Principal
from chalicelib.jobs import rfm_segments
from chalicelib.jobs.sharded import run_segment, start
from chalicelib.services import members, segments
from chalicelib.store import segments as segment_store
from chalicelib.store.base import shard_of
from chalicelib.store.members import MemberRecord
from chalicelib.store.memory import InMemoryUnitOfWork
from chalicelib.store.parts import Update

BIG = 60_000  # two of them make a high spender (the default high_spend_fen is 100,000)


def _run(shop: Shop, *, dry_run: bool = False) -> Counter[str]:
    return start(rfm_segments.JOB, shop.uow, shop.wechat, clock.now(), dry_run=dry_run)


def _segments(shop: Shop) -> dict[str, int]:
    return {s["segment"]: s["members"] for s in segments.snapshot(shop.uow)["segments"] if s["members"]}


def _tags(shop: Shop) -> dict[str, tuple[Any, ...]]:
    table = shop.uow.tables[MemberRecord.Meta.table_name]
    return {key[0]: tuple(raw.get(name, {}).get("S") for name in ("rfm_segment", "rfm_changed", "rfm_former"))
            for key, raw in table.items()}


def _members_table(shop: Shop) -> dict[Any, Any]:
    return snapshot(shop.uow)[MemberRecord.Meta.table_name]


def _shop_of_four(shop: Shop) -> dict[str, Principal]:
    """On 2026-03-10: a prospect, a general_develop, an important_value and a lost member."""
    who = {name: shop.member() for name in ("prospect", "develop", "value", "lost")}
    shop.order(who["develop"].member_id, 5_000, paid_at=at(2026, 3, 1))
    shop.order(who["value"].member_id, BIG, paid_at=at(2026, 2, 1))
    shop.order(who["value"].member_id, BIG, paid_at=at(2026, 3, 9))
    shop.order(who["lost"].member_id, 5_000, paid_at=at(2025, 2, 1))
    return who


def test_a_first_run_counts_every_member_and_tags_them_all(shop: Shop) -> None:
    who = _shop_of_four(shop)
    set_now(at(2026, 3, 11, 1))
    counts, calls = round_trips(shop.uow, lambda: _run(shop))
    assert counts == Counter(members=4, members_moved=3, members_tagged=4)
    # the program, the latest run and the run's record; per shard the program and a page, and one
    # transaction per page holding members
    assert calls == 3 + 16 * 2 + len({shard_of(w.member_id) for w in who.values()})
    view = segments.snapshot(shop.uow)
    assert view["as_of"] == "2026-03-11T01:00:00+08:00" and view["previous_as_of"] is None
    assert view["migrations"] == []  # nothing to compare with yet
    assert _segments(shop) == {"prospect": 1, "general_develop": 1, "important_value": 1, "lost": 1}
    figures = {s["segment"]: s["monetary_fen"] for s in view["segments"]}
    assert figures["important_value"] == 2 * BIG and figures["general_develop"] == 5_000 and figures["lost"] == 0
    assert _tags(shop)[who["value"].member_id] == ("important_value", "2026-03-11", "prospect")


def test_the_next_day_writes_only_the_members_whose_segment_changed(shop: Shop) -> None:
    who = _shop_of_four(shop)
    set_now(at(2026, 3, 11, 1))
    _run(shop)
    shop.order(who["prospect"].member_id, 3_000, paid_at=at(2026, 3, 11, 0, 30))
    newcomer, idle = shop.member(), shop.member()
    shop.order(newcomer.member_id, 2 * BIG, paid_at=at(2026, 3, 11, 0, 40))
    set_now(at(2026, 3, 12, 1))
    before = _members_table(shop)
    assert _run(shop) == Counter(members=6, members_moved=2, members_tagged=3)
    after = _members_table(shop)
    changed = {key[0] for key in after if after[key] != before.get(key)}
    assert changed == {who["prospect"].member_id, newcomer.member_id, idle.member_id}
    view = segments.snapshot(shop.uow)
    assert (view["as_of"], view["previous_as_of"]) == ("2026-03-12T01:00:00+08:00", "2026-03-11T01:00:00+08:00")
    assert view["migrations"] == [{"from": "prospect", "to": "important_develop", "members": 1},
                                  {"from": "prospect", "to": "general_develop", "members": 1}]
    assert _segments(shop) == {"prospect": 1, "general_develop": 2, "important_value": 1, "important_develop": 1,
                               "lost": 1}


def test_a_second_run_of_a_date_replaces_its_snapshot(shop: Shop) -> None:
    who = _shop_of_four(shop)
    set_now(at(2026, 3, 11, 1))
    _run(shop)
    set_now(at(2026, 3, 12, 1))
    _run(shop)
    shop.order(who["lost"].member_id, 2 * BIG, paid_at=at(2026, 3, 12, 9))
    set_now(at(2026, 3, 12, 10))
    assert _run(shop) == Counter(members=4, members_moved=1, members_tagged=1)
    view = segments.snapshot(shop.uow)
    assert (view["as_of"], view["previous_as_of"]) == ("2026-03-12T10:00:00+08:00", "2026-03-11T01:00:00+08:00")
    assert view["migrations"] == [{"from": "lost", "to": "important_develop", "members": 1}]
    assert _segments(shop) == {"prospect": 1, "general_develop": 1, "important_value": 1, "important_develop": 1}
    # a third run of the date, the member back where it was: no migration, the tag follows
    shop.refund(_order_of(shop, who["lost"].member_id), 2 * BIG)
    set_now(at(2026, 3, 12, 11))
    assert _run(shop) == Counter(members=4, members_moved=0, members_tagged=1)
    assert segments.snapshot(shop.uow)["migrations"] == []
    assert _tags(shop)[who["lost"].member_id] == ("lost", "2026-03-12", "lost")


def _order_of(shop: Shop, member_id: str) -> str:
    from chalicelib.store.orders import OrderRecord

    orders = shop.uow.tables[OrderRecord.Meta.table_name]
    latest = max((raw for raw in orders.values() if raw["member_id"]["S"] == member_id),
                 key=lambda raw: raw["paid_at"]["S"])
    order_id: str = latest["order_id"]["S"]
    return order_id


def test_a_dry_run_counts_and_writes_nothing(shop: Shop) -> None:
    _shop_of_four(shop)
    set_now(at(2026, 3, 11, 1))
    before = snapshot(shop.uow)
    assert _run(shop, dry_run=True) == Counter(members=4, members_moved=3, members_tagged=4)
    assert snapshot(shop.uow) == before
    assert segments.snapshot(shop.uow)["as_of"] is None


def test_members_who_joined_after_the_runs_instant_are_not_in_it(shop: Shop) -> None:
    _shop_of_four(shop)
    set_now(at(2026, 3, 11, 1))
    shop.member()
    set_now(at(2026, 3, 11, 0, 59))  # a clock moved back: the newcomer joined after the run's instant
    assert _run(shop)["members"] == 4


def test_a_run_of_an_earlier_date_counts_but_leaves_the_tags(shop: Shop) -> None:
    who = _shop_of_four(shop)
    set_now(at(2026, 3, 12, 1))
    _run(shop)
    tags = _tags(shop)
    set_now(at(2026, 3, 11, 1))
    assert _run(shop) == Counter(members=4, members_moved=0, members_tagged=0)
    assert _tags(shop) == tags
    view = segments.snapshot(shop.uow)
    assert (view["as_of"], view["previous_as_of"]) == ("2026-03-12T01:00:00+08:00", "2026-03-11T01:00:00+08:00")
    assert who  # the latest date's snapshot is still the one shown


def test_a_page_handled_twice_counts_once(shop: Shop) -> None:
    _shop_of_four(shop)
    set_now(at(2026, 3, 11, 1))
    run_id = segment_store.new_run_id(clock.now())
    shop.uow.write(segment_store.record_run(segment_store.SnapshotRun(clock.business_date(), clock.now(), run_id)))
    deliveries: list[Counter[str]] = [Counter(), Counter()]
    for delivery in deliveries:  # every segment delivered twice (SQS): the second answers what the first counted
        for shard in [f"{n:02d}" for n in range(16)]:
            segment = {"job": rfm_segments.NAME, "as_of": clock.now().isoformat(), "shard": shard, "cursor": None,
                       "dry_run": False, "run": run_id, "tag": True}
            before = snapshot(shop.uow)
            delivery.update(run_segment(rfm_segments.JOB, shop.uow, shop.wechat, segment))
            if delivery is deliveries[1]:
                assert snapshot(shop.uow) == before
    assert deliveries[0] == deliveries[1] == Counter(members=4, members_moved=3, members_tagged=4)
    assert sum(_segments(shop).values()) == 4


class ClosingBeforeItsTag(InMemoryUnitOfWork):
    """A store where a member closes their account just before the write that would tag them."""

    closing: Principal | None = None

    def write(self, *parts: Any) -> None:
        who = self.closing
        if who is not None and any(isinstance(p, Update) and p.model is MemberRecord and p.key == (who.member_id,)
                                   for p in parts):
            self.closing = None
            members.delete_me(self, who)
        super().write(*parts)


def test_a_member_closing_mid_page_is_left_out(wechat: Any) -> None:
    store = ClosingBeforeItsTag()
    shop = Shop(store, wechat)
    who = _shop_of_four(shop)
    set_now(at(2026, 3, 11, 1))
    store.closing = who["develop"]
    assert _run(shop) == Counter(members=3, members_moved=2, members_tagged=3)
    assert store.closing is None and "general_develop" not in _segments(shop)
    assert _tags(shop)[who["develop"].member_id] == (None, None, None)
