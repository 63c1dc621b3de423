"""Reading the RFM snapshot's members over the in-memory unit of work: a segment's members page by
page across the shards, and the targeted issue to a segment (exactly its members, once, even when a
retry finds the segment changed; limits and stock apply)."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from builders import Shop, at, set_now

from chalicelib import clock
from chalicelib.errors import StoreUnavailable
from chalicelib.jobs import rfm_segments
from chalicelib.jobs.sharded import start
from chalicelib.services import members, segments
from chalicelib.store.base import shard_of
from chalicelib.store.parts import Put

BIG = 60_000


def _run(shop: Shop) -> Counter[str]:
    return start(rfm_segments.JOB, shop.uow, shop.wechat, clock.now(), dry_run=False)


def test_the_members_of_a_segment_page_by_page_across_shards(shop: Shop) -> None:
    develop = [shop.member() for _ in range(5)]
    for who in develop:
        shop.order(who.member_id, 5_000, paid_at=at(2026, 3, 1))
    shop.member()
    assert segments.segment_members(shop.uow, "general_develop", limit=2, cursor=None) == \
        {"items": [], "next_cursor": None}
    set_now(at(2026, 3, 11, 1))
    _run(shop)
    set_now(at(2026, 3, 12, 10))
    shop.order(develop[0].member_id, 5_000, paid_at=at(2026, 3, 12, 9))  # after the snapshot's date: not in its rfm
    seen, cursor, pages = [], None, 0
    while True:
        page = segments.segment_members(shop.uow, "general_develop", limit=2, cursor=cursor)
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(m["member_id"] for m in seen) == sorted(w.member_id for w in develop)
    assert 3 <= pages <= 4
    first = next(m for m in seen if m["member_id"] == develop[0].member_id)
    assert first["rfm"] == {"recency_days": 10, "frequency": 1, "monetary_fen": 5_000, "segment": "general_develop"}
    assert segments.segment_members(shop.uow, "lost", limit=20, cursor=None) == {"items": [], "next_cursor": None}


def test_an_issue_to_a_segment_reaches_exactly_its_members_once(shop: Shop, monkeypatch: Any) -> None:
    monkeypatch.setattr(segments, "ISSUE_BATCH", 1)  # a batch a member, two members a page
    monkeypatch.setattr(segments, "ISSUE_PAGE", 2)
    value = [shop.member() for _ in range(13)]
    for who in value:
        shop.order(who.member_id, 2 * BIG, paid_at=at(2026, 3, 5))
    others = [shop.member() for _ in range(3)]
    template = shop.template()["template_id"]  # no per-member limit: a second coupon would show
    set_now(at(2026, 3, 11, 1))
    _run(shop)
    issued_first: list[str] = []
    real_write = shop.uow.write

    def flaky(*parts: Any) -> None:  # the store fails after 6 batches
        if len(issued_first) == 6:
            raise StoreUnavailable()
        real_write(*parts)
        issued_first.extend(p.record.member_id for p in parts if isinstance(p, Put) and hasattr(p.record, "coupon_id"))

    monkeypatch.setattr(shop.uow, "write", flaky)
    with pytest.raises(StoreUnavailable):
        segments.issue_to_segment(shop.uow, template, "important_develop", "r1", "admin")
    monkeypatch.setattr(shop.uow, "write", real_write)
    # before the retry the segment changes: members already issued to close, one alone in its shard
    # and one first of several (when the shards fall so)
    per_shard = Counter(shard_of(w.member_id) for w in value)
    gone = [w for w in value if w.member_id in ([m for m in issued_first if per_shard[shard_of(m)] == 1][:1] +
                                                [m for m in issued_first if per_shard[shard_of(m)] > 1][:1])]
    for who in gone:
        members.delete_me(shop.uow, who)
    status, answer = segments.issue_to_segment(shop.uow, template, "important_develop", "r1", "admin")
    assert (status, answer) == (202, {"issued": 13, "skipped": 0})
    assert [len(shop.wallet(who)) for who in value if who not in gone] == [1] * (13 - len(gone))
    assert all(not shop.wallet(w) for w in others)
    assert segments.issue_to_segment(shop.uow, template, "important_develop", "r1", "admin") == (202, answer)
    assert segments.issue_to_segment(shop.uow, template, "lost", "r3", "admin") == (202, {"issued": 0, "skipped": 0})


def test_an_issue_to_a_segment_applies_the_templates_limits(shop: Shop) -> None:
    value = [shop.member() for _ in range(3)]
    for who in value:
        shop.order(who.member_id, 2 * BIG, paid_at=at(2026, 3, 5))
    template = shop.template(per_member_limit=1, total_stock=2)["template_id"]
    set_now(at(2026, 3, 11, 1))
    _run(shop)
    assert segments.issue_to_segment(shop.uow, template, "important_develop", "r1", "admin") == \
        (202, {"issued": 2, "skipped": 1})
    assert segments.issue_to_segment(shop.uow, template, "important_develop", "r2", "admin") == \
        (202, {"issued": 0, "skipped": 3})
