"""Both units of work, against the same scenarios: DynamoDB over the wire (the session's embedded
store) and the in-memory twin the service unit tests use. Each refused condition becomes the
named error its part carries, a transaction is all or nothing, and pages and cursors behave alike."""
from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.coupons import Template
from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.domain.orders import Order, RefundOutcome
from chalicelib.domain.rewards import Redemption, Reward
from chalicelib.errors import AlreadyMember, ValidationError
from chalicelib.store import coupons, ledger, members, orders, rewards
from chalicelib.store.dynamo import DynamoUnitOfWork
from chalicelib.store.idempotency import RequestKey, StoredAnswer
from chalicelib.store.memory import InMemoryUnitOfWork
from chalicelib.store.parts import AlreadyAnswered, Put, StaleRead, Update, absent, add, assign, every

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["dynamodb", "memory"])
def uow(request: pytest.FixtureRequest) -> DynamoUnitOfWork | InMemoryUnitOfWork:
    return DynamoUnitOfWork() if request.param == "dynamodb" else InMemoryUnitOfWork()


def _member(**fields: object) -> Member:
    return Member("m" + secrets.token_hex(8), "o" + secrets.token_hex(8), NOW,
                  referral_code=secrets.token_hex(4).upper(), **fields)  # type: ignore[arg-type]


def _signed_up(uow: DynamoUnitOfWork | InMemoryUnitOfWork, points: int = 0) -> Member:
    member = _member()
    plan = LedgerPlan(member, now=NOW, keep_years=0)
    if points:
        plan.add(points, "signup_gift")
    member = plan.settled(member)
    uow.write(*members.create(member, plan.entries, "normal"))
    found: Member = uow.read(member=members.member(member.member_id))["member"]
    return found


def test_a_read_names_its_parts_and_converts_missing_items_to_none(uow) -> None:
    member = _signed_up(uow, points=30)
    read = uow.read(member=members.member(member.member_id), nobody=members.member("m-none"),
                    referrer=members.referrer(member.referral_code))
    assert read["member"].points.balance == 30 and read["member"].version == 1
    assert read["nobody"] is None
    assert read["referrer"] == member.member_id


def test_a_batch_read_answers_a_key_asked_twice_in_each_place(uow) -> None:
    member = _signed_up(uow, points=30)
    ask = members.member(member.member_id)
    first, missing, again = uow.read_many([ask, members.member("m-none"), ask])
    assert first.points.balance == again.points.balance == 30 and missing is None


def test_a_second_member_for_one_openid_is_already_member_and_writes_nothing(uow) -> None:
    first = _signed_up(uow)
    second = replace(_member(), openid=first.openid)
    with pytest.raises(AlreadyMember):
        uow.write(*members.create(second, [], "normal"))
    assert uow.read(m=members.member(second.member_id))["m"] is None
    assert uow.read(r=members.referrer(second.referral_code))["r"] is None


def test_a_referral_code_clash_asks_for_another_code(uow) -> None:
    first = _signed_up(uow)
    with pytest.raises(members.ReferralCodeTaken):
        uow.write(*members.create(replace(_member(), referral_code=first.referral_code), [], "normal"))


def test_a_stale_version_is_a_stale_read_and_writes_nothing(uow) -> None:
    member = _signed_up(uow)
    plan = LedgerPlan(member, now=NOW, keep_years=0)
    plan.add(10, "admin_adjust")
    uow.write(*members.save(member, plan.settled(member), plan.entries, base_tier="normal"))
    again = LedgerPlan(member, now=NOW, keep_years=0)
    again.add(5, "admin_adjust")
    with pytest.raises(StaleRead):
        uow.write(*members.save(member, again.settled(member), again.entries, base_tier="normal"))
    stored = uow.read(m=members.member(member.member_id))["m"]
    assert (stored.seq, stored.version, stored.points.balance) == (1, 2, 10)


def test_the_first_failing_part_names_the_error(uow) -> None:
    member = _signed_up(uow)
    key = RequestKey("test:" + secrets.token_hex(6))
    answer = StoredAnswer("f1", 201, {"ok": 1})
    uow.write(key.record(answer, NOW))
    stale = members.save(replace(member, version=0), member, [], base_tier="normal")
    with pytest.raises(AlreadyAnswered):
        uow.write(key.record(answer, NOW), *stale)
    with pytest.raises(StaleRead) as refused:
        uow.write(*stale, key.record(answer, NOW))
    assert not isinstance(refused.value, AlreadyAnswered)
    assert uow.read(a=key.read)["a"] == answer


def test_a_check_writes_nothing_and_refuses_the_transaction_when_its_condition_fails(uow) -> None:
    waiting = replace(_member(), openid="")
    record = members.new_record(waiting, "normal")
    record.openid = None  # an imported member: no WeChat account yet (as admin.records writes it)
    uow.write(Put(record, absent()))
    newcomer = _member()
    with pytest.raises(StaleRead):
        uow.write(*members.create(newcomer, [], "normal"), members.no_import_waiting(waiting.member_id))
    assert uow.read(m=members.member(newcomer.member_id))["m"] is None
    uow.write(*members.claim(uow.read(m=members.member(waiting.member_id))["m"], "o-claimed", {}, NOW))
    uow.write(*members.create(newcomer, [], "normal"), members.no_import_waiting(waiting.member_id),
              members.no_import_waiting("m-never-imported"))
    read = uow.read(claimed=members.member(waiting.member_id), new=members.member(newcomer.member_id))
    assert (read["claimed"].openid, read["claimed"].version) == ("o-claimed", 2) and read["new"] is not None


def test_an_update_creates_a_missing_item_and_adds_from_zero(uow) -> None:
    member_id, template_id = "m" + secrets.token_hex(6), "t" + secrets.token_hex(6)
    claim = Update(coupons.CouponClaimRecord, (member_id, template_id), (add(coupons.CouponClaimRecord.count, 2),))
    uow.write(claim)
    uow.write(claim)
    assert uow.read(n=coupons.claimed(member_id, template_id))["n"] == 4


def test_an_update_answers_the_item_as_it_is_afterwards(uow) -> None:
    openid = "o" + secrets.token_hex(8)
    assert uow.update(members.record_login(openid, "k1", NOW), lambda r: r.member_id) is None
    member = _signed_up(uow)
    assert uow.update(members.record_login(member.openid, "k2", NOW), lambda r: r.member_id) == member.member_id


def test_a_put_replaces_the_whole_item(uow) -> None:
    member = _signed_up(uow, points=10)
    plan = LedgerPlan(member, now=NOW, keep_years=0)
    plan.add(-plan.points.balance, "account_closed")
    uow.write(*members.close(member, plan.entries, NOW))
    assert uow.read(m=members.member(member.member_id))["m"] is None
    assert uow.read(o=members.member_of_openid(member.openid))["o"] is None
    assert uow.read(r=members.referrer(member.referral_code))["r"] is None
    with pytest.raises(StaleRead):
        uow.write(Put(members.MemberRecord(member.member_id, joined_at=NOW), absent()))


def test_pages_follow_the_range_key_and_cursors_stay_in_their_partition(uow) -> None:
    member = _signed_up(uow)
    for n in range(5):
        plan = LedgerPlan(member, now=NOW + timedelta(seconds=n), keep_years=0)
        plan.add(n + 1, "admin_adjust")
        after = plan.settled(member)
        uow.write(*members.save(member, after, plan.entries, base_tier="normal"))
        member = replace(after, version=member.version + 1)
    first = uow.query(ledger.page(member.member_id, 2, None))
    assert [e.delta for e in first.items] == [5, 4, 3]
    cursor = ledger.cursor_after(first.items, 2)
    rest = uow.query(ledger.page(member.member_id, 2, cursor))
    assert [e.delta for e in rest.items] == [3, 2, 1]
    with pytest.raises(ValidationError):
        uow.query(ledger.page(member.member_id, 2, "bm90LWEtY3Vyc29y"))
    every_entry = every(uow, lambda c: ledger.tier_changes(member.member_id, c))
    assert every_entry == []


def test_an_index_is_sparse_and_a_cursor_of_another_partition_is_refused(uow) -> None:
    shard = "zz" + secrets.token_hex(3)
    holders = []
    for n in range(3):
        member = _signed_up(uow, points=10 * (n + 1))
        uow.write(Update(members.MemberRecord, (member.member_id,),
                         (assign(members.MemberRecord.expiry_shard, shard),
                          assign(members.MemberRecord.expiry_year, 2020 + n))))
        holders.append(member.member_id)
    uow.write(Update(members.MemberRecord, (holders[1],), (assign(members.MemberRecord.expiry_year, None),)))
    page = uow.query(members.with_points_to_expire(shard, 2030, None))
    assert [m.member_id for m in page.items] == [holders[0], holders[2]]
    narrow = uow.query(members.with_points_to_expire(shard, 2020, None))
    assert [m.member_id for m in narrow.items] == [holders[0]]
    limited = uow.query(replace(members.with_points_to_expire(shard, 2030, None), limit=1))
    assert limited.cursor is not None
    after = uow.query(members.with_points_to_expire(shard, 2030, limited.cursor))
    assert [m.member_id for m in after.items] == [holders[2]]
    with pytest.raises(ValidationError):
        uow.query(members.with_points_to_expire("other", 2030, limited.cursor))


def test_an_orders_refunds_read_oldest_first_in_one_query(uow) -> None:
    order = Order("o" + secrets.token_hex(6), "m-x", 10_000, NOW, 100, 2026, "f", subtotal_fen=10_000)
    uow.write(orders.new(order, store_id=None, items=None, answer={}, now=NOW))
    for n, refund_id in enumerate(("f-b", "f-a", "f-c")):
        recorded = replace(order, version=n, refunded_fen=1_000 * n)
        uow.write(*orders.refund(recorded, RefundOutcome(1_000 * (n + 1), 10, 10), refund_id, 1_000,
                                 NOW + timedelta(minutes=n)))
    found = every(uow, lambda cursor: orders.refunds(order.order_id, cursor))
    assert [(r.seq, r.refund_id, r.created_at) for r in found] == \
        [(1, "f-b", NOW), (2, "f-a", NOW + timedelta(minutes=1)), (3, "f-c", NOW + timedelta(minutes=2))]
    stored = uow.read(o=orders.order(order.order_id))["o"]
    assert (stored.version, stored.refunded_fen, stored.subtotal_fen, stored.discount_fen) == (3, 3_000, 10_000, 0)


def test_a_members_redemptions_page_newest_first_by_their_own_cursor(uow) -> None:
    member_id = "m" + secrets.token_hex(6)
    made = []
    for n in range(3):
        redemption = Redemption("d" + secrets.token_hex(6), "r-1", member_id, "帆布袋", "gift", 10,
                                NOW + timedelta(seconds=n), status="pending",
                                address={"name": "王", "phone": "13812345678", "region": "上海", "detail": "1 号"})
        uow.write(rewards.redeem(Reward("r-1", "帆布袋", 10, "gift", None, None, None, None, True), redemption)[2])
        made.append(redemption)
    first = uow.query(rewards.member_redemptions(member_id, 2, None)).items
    cursor = rewards.redemptions_cursor(first, 2)
    rest = uow.query(rewards.member_redemptions(member_id, 2, cursor)).items
    assert first[:2] + rest == made[::-1]
    assert rewards.redemptions_cursor(rest, 2) is None
    with pytest.raises(ValidationError):
        uow.query(rewards.member_redemptions("m-other", 2, cursor))


def test_the_catalog_pages_by_id(uow) -> None:
    created = sorted("t" + secrets.token_hex(6) for _ in range(3))
    for template_id in created:
        uow.write(coupons.add_template(Template(template_id, "券", "gift", None, None, None, 0,
                                                {"type": "relative", "days": 1}, None, None, False, None, True),
                                       NOW))
    seen, cursor = [], None
    while True:
        found = [t for t in uow.query(coupons.templates_page(cursor, 3)).items if t is not None]
        seen += [t.template_id for t in found[:2]]
        if len(found) <= 2:
            break
        cursor = coupons.template_cursor(found[1])
    assert seen == sorted(seen) and len(seen) == len(set(seen)) and set(created) <= set(seen)
