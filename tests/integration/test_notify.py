"""Sending subscribe messages against the fake WeChat over HTTP, grants in the real store."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import storage
from helpers import new_user

from chalicelib import clock, wiring
from chalicelib.services import notify

SEND_PATH = "/cgi-bin/message/subscribe/send"
TODAY = date(2026, 12, 8)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch) -> None:
    monkeypatch.setattr(notify, "SEND_BACKOFF_SECONDS", (0.0, 0.0))


@pytest.fixture
def template_id(fake_wechat):
    fake_wechat.reset()
    yield "tpl-" + uuid.uuid4().hex[:10]
    fake_wechat.reset()


def _openid(grants: int, template_id: str) -> str:
    openid = "o" + new_user()
    if grants:
        storage.grant(openid, template_id, grants)
    return openid


def _send(openid: str, template_id: str, business_date: date = TODAY, *, job: str = "test", weekly_cap: int = 3) -> str:
    return notify.send_notice(storage.uow(), wiring.wechat(), "m-" + openid, openid, template_id,
                              {"thing1": "会员日福利已到账"}, job=job, business_date=business_date, now=clock.now(),
                              weekly_cap=weekly_cap)


def _messages(fake_wechat, template_id: str) -> list[dict]:
    return [m for m in fake_wechat.sent_messages if m["template_id"] == template_id]


def test_a_send_spends_one_grant(fake_wechat, template_id) -> None:
    openid = _openid(2, template_id)
    assert _send(openid, template_id) == notify.SENT
    [message] = _messages(fake_wechat, template_id)
    assert message["touser"] == openid and message["data"] == {"thing1": {"value": "会员日福利已到账"}}
    assert storage.grants(openid) == {template_id: 1}


def test_without_a_grant_nothing_is_sent(fake_wechat, template_id) -> None:
    openid = _openid(0, template_id)
    assert _send(openid, template_id) == notify.NO_GRANT
    spent = _openid(1, template_id)
    assert _send(spent, template_id) == notify.SENT
    assert _send(spent, template_id, TODAY + timedelta(days=1)) == notify.NO_GRANT
    assert len(_messages(fake_wechat, template_id)) == 1
    assert storage.grants(openid) == {} and storage.grants(spent) == {template_id: 0}


def test_passing_failures_are_retried_and_spend_one_grant(fake_wechat, template_id) -> None:
    openid = _openid(1, template_id)
    fake_wechat.inject_fault(SEND_PATH, status=503, count=2)
    assert _send(openid, template_id) == notify.SENT
    assert len(_messages(fake_wechat, template_id)) == 1
    assert storage.grants(openid) == {template_id: 0}


def test_a_send_that_keeps_failing_keeps_the_grant_for_a_later_run(fake_wechat, template_id) -> None:
    openid = _openid(1, template_id)
    fake_wechat.inject_fault(SEND_PATH, status=500, count=3)
    assert _send(openid, template_id) == notify.FAILED
    assert _messages(fake_wechat, template_id) == []
    assert storage.grants(openid) == {template_id: 1}
    assert _send(openid, template_id) == notify.SENT  # the same date again: now it goes out
    assert len(_messages(fake_wechat, template_id)) == 1
    assert storage.grants(openid) == {template_id: 0}


def test_wechat_busy_and_a_rejected_token_are_retried(fake_wechat, template_id) -> None:
    openid = _openid(1, template_id)
    fake_wechat.inject_fault(SEND_PATH, errcode=-1)
    fake_wechat.inject_fault(SEND_PATH, errcode=40001)
    assert _send(openid, template_id) == notify.SENT
    assert len(_messages(fake_wechat, template_id)) == 1


def test_no_grant_at_wechat_zeroes_the_grants(fake_wechat, template_id) -> None:
    openid = _openid(3, template_id)
    fake_wechat.inject_fault(SEND_PATH, errcode=43101)
    assert _send(openid, template_id) == notify.FAILED
    assert _messages(fake_wechat, template_id) == []
    assert storage.grants(openid) == {template_id: 0}
    assert _send(openid, template_id) == notify.NO_GRANT


def test_other_refusals_are_not_retried_and_keep_the_grant(fake_wechat, template_id) -> None:
    openid = _openid(1, template_id)
    fake_wechat.inject_fault(SEND_PATH, errcode=47003, count=2)
    assert _send(openid, template_id) == notify.FAILED
    assert storage.grants(openid) == {template_id: 1}
    assert _send(openid, template_id) == notify.FAILED  # the second fault: not used up by a retry
    assert _send(openid, template_id) == notify.SENT


def test_one_message_per_member_template_and_date(fake_wechat, template_id) -> None:
    openid = _openid(5, template_id)
    assert _send(openid, template_id) == notify.SENT
    assert _send(openid, template_id) == notify.DUPLICATE
    assert len(_messages(fake_wechat, template_id)) == 1
    assert storage.grants(openid) == {template_id: 4}
    assert _send(openid, template_id, TODAY + timedelta(days=1)) == notify.SENT
    assert storage.grants(openid) == {template_id: 3}


def test_the_weekly_cap_counts_every_template_and_job_and_keeps_the_grant(fake_wechat, template_id) -> None:
    openid = _openid(2, template_id)
    other = "tpl-" + uuid.uuid4().hex[:10]
    storage.grant(openid, other, 2)
    assert _send(openid, template_id, job="member-day", weekly_cap=2) == notify.SENT
    assert _send(openid, other, TODAY + timedelta(days=3), job="points-expiring", weekly_cap=2) == notify.SENT
    assert _send(openid, template_id, TODAY + timedelta(days=6), weekly_cap=2) == notify.CAPPED
    assert storage.grants(openid) == {template_id: 1, other: 1}
    assert _send(openid, template_id, TODAY + timedelta(days=7), weekly_cap=2) == notify.SENT
    assert _send(openid, other, TODAY + timedelta(days=7), job="automations", weekly_cap=0) == notify.CAPPED
    assert storage.grants(openid) == {template_id: 0, other: 1}


def test_a_send_that_fails_gives_its_place_in_the_budget_back(fake_wechat, template_id) -> None:
    openid = _openid(1, template_id)
    fake_wechat.inject_fault(SEND_PATH, status=500, count=3)
    assert _send(openid, template_id, weekly_cap=1) == notify.FAILED
    assert _send(openid, template_id, weekly_cap=1) == notify.SENT


def test_concurrent_sends_at_the_cap_send_exactly_one(fake_wechat, template_id) -> None:
    """Four sends of four templates to one openid with one place left in its week, at once."""
    openid = _openid(1, template_id)
    assert _send(openid, template_id, weekly_cap=2) == notify.SENT
    others = ["tpl-" + uuid.uuid4().hex[:10] for _ in range(4)]
    for other in others:
        storage.grant(openid, other)
    with ThreadPoolExecutor(len(others)) as pool:
        outcomes = list(pool.map(lambda other: _send(openid, other, job=f"job-{other}", weekly_cap=2), others))
    assert sorted(outcomes) == [notify.CAPPED] * 3 + [notify.SENT]
    assert sum(storage.grants(openid)[other] for other in others) == 3
    assert len([m for m in fake_wechat.sent_messages if m["touser"] == openid]) == 2
