"""The repository against DynamoDB over the wire: each refused condition becomes the named error
its caller acts on (pynamodb reorders transaction items, so this is checked, not assumed)."""
from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from chalicelib import clock
from chalicelib.domain.ledger import plan_change
from chalicelib.domain.member import Member
from chalicelib.errors import AlreadyMember
from chalicelib.store.base import IdempotencyRecordExists, ReferralCodeTaken, VersionConflict
from chalicelib.store.repository import AnswerToStore, MemberUpdate, store


def new_member(**fields) -> Member:
    member = Member("m" + secrets.token_hex(8), "o" + secrets.token_hex(8), clock.now(),
                    referral_code=secrets.token_hex(4).upper(), **fields)
    store().create_member(member, [], "normal")
    return member


def test_a_second_member_for_one_openid_is_already_member() -> None:
    first = new_member()
    with pytest.raises(AlreadyMember):
        store().create_member(replace(first, member_id="m" + secrets.token_hex(8),
                                      referral_code=secrets.token_hex(4).upper()), [], "normal")


def test_a_referral_code_clash_is_reported_as_such() -> None:
    first = new_member()
    other = Member("m" + secrets.token_hex(8), "o" + secrets.token_hex(8), clock.now(),
                   referral_code=first.referral_code)
    with pytest.raises(ReferralCodeTaken):
        store().create_member(other, [], "normal")


def test_a_stale_seq_is_a_version_conflict_and_writes_nothing() -> None:
    member = new_member()
    change = plan_change(member, delta=10, reason="admin_adjust", now=clock.now(), keep_years=0)
    store().commit(MemberUpdate(member, change), now=change.now)
    with pytest.raises(VersionConflict):
        store().commit(MemberUpdate(member, plan_change(member, delta=5, reason="admin_adjust",
                                                        now=clock.now(), keep_years=0)), now=clock.now())
    stored, _ = store().member_with_program(member.member_id)
    assert stored.seq == 1 and stored.points.balance == 10


def test_an_answered_request_id_is_reported_and_the_change_not_written() -> None:
    member = new_member()
    key = "test:" + secrets.token_hex(6)
    change = plan_change(member, delta=10, reason="admin_adjust", now=clock.now(), keep_years=0)
    store().commit(MemberUpdate(member, change), now=change.now, answer=AnswerToStore(key, "f1", 201, {"ok": 1}))
    fresh, _ = store().member_with_program(member.member_id)
    again = plan_change(fresh, delta=10, reason="admin_adjust", now=clock.now(), keep_years=0)
    with pytest.raises(IdempotencyRecordExists):
        store().commit(MemberUpdate(fresh, again), now=again.now, answer=AnswerToStore(key, "f1", 201, {"ok": 1}))
    assert store().member_with_answer(member.member_id, key)[2].body == {"ok": 1}
    assert store().member_with_program(member.member_id)[0].points.balance == 10
