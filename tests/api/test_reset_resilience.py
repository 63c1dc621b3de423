"""The yearly reset across instances: killed half-way and run again, or run on two instances at
once, it writes each member's `expire` entry exactly once."""
from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import threading
import time
from datetime import datetime, timezone

import requests
import storage
from helpers import ADMIN

from chalicelib.domain.ledger import LedgerPlan
from chalicelib.domain.member import Member
from chalicelib.store import ledger, members
from chalicelib.store.parts import every

MEMBERS = 200
NEW_YEAR = "2027-01-01T00:00:00+08:00"
JOB = "/v1/admin/jobs/yearly-points-reset/run"


def members_holding_2026_points(count: int) -> list[str]:
    """Members with 50 points earned in 2026, each with its ledger entry, written straight to the store."""
    earned = datetime(2026, 6, 1, 4, 0, tzinfo=timezone.utc)
    ids = []
    for _ in range(count):
        member = Member("m" + secrets.token_hex(10), "o" + secrets.token_hex(12), earned,
                        referral_code=secrets.token_hex(5).upper())
        plan = LedgerPlan(member, now=earned, keep_years=0)
        plan.add(50, "signup_gift")
        storage.uow().write(*members.create(plan.settled(member), plan.entries, "normal"))
        ids.append(member.member_id)
    return ids


def settled(member_id: str) -> bool:
    member = storage.member(member_id)
    return member is not None and not member.points.lots


def expire_entries(member_id: str) -> list[int]:
    entries = every(storage.uow(), lambda cursor: ledger.page(member_id, 100, cursor))
    return [e.delta for e in entries if e.reason == "expire"]


def set_clock(base: str) -> None:
    assert requests.put(f"{base}/v1/admin/clock", json={"now": NEW_YEAR}, headers=ADMIN, timeout=10).status_code == 200


def test_a_reset_killed_half_way_and_run_again_expires_each_member_once(live_server) -> None:
    ids = members_holding_2026_points(MEMBERS)
    first = live_server()
    set_clock(first)
    threading.Thread(target=lambda: _quietly_post(f"{first}{JOB}"), daemon=True).start()
    deadline = time.monotonic() + 60
    while not any(settled(m) for m in random.sample(ids, 20)):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.02)
    os.killpg(live_server.processes[first].pid, signal.SIGKILL)  # a crash, not a shutdown
    done_before_crash = sum(settled(m) for m in ids)
    assert 0 < done_before_crash < MEMBERS

    second = live_server()
    set_clock(second)
    answer = requests.post(f"{second}{JOB}", json={}, headers=ADMIN, timeout=300)
    assert answer.status_code == 200 and answer.json()["members_expired"] >= MEMBERS - done_before_crash
    assert all(expire_entries(m) == [-50] for m in ids)
    assert requests.post(f"{second}{JOB}", json={}, headers=ADMIN, timeout=300).json()["members_expired"] == 0


def test_a_reset_run_on_two_instances_at_once_expires_each_member_once(live_server) -> None:
    ids = members_holding_2026_points(100)
    servers = [live_server(), live_server()]
    for base in servers:
        set_clock(base)
    threads = [threading.Thread(target=_quietly_post, args=(f"{base}{JOB}",)) for base in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert all(expire_entries(m) == [-50] for m in ids)


def _quietly_post(url: str) -> None:
    with contextlib.suppress(requests.RequestException):  # the server may be killed under us: that is the point
        requests.post(url, json={}, headers=ADMIN, timeout=300)
