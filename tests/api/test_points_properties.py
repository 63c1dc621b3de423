"""Property test: random sequences of orders, refunds, adjustments (redemptions included) and
clock moves across Shanghai year ends keep the books exact:

- balance = sum of the live lots held = sum of the member's ledger deltas (after every write, and
  after the yearly reset for moves without writes);
- growth = net spend (paid minus refunded, whole yuan per order) of this and last Shanghai year;
- no points outlive their expiry.

Over HTTP against the embedded store, a few examples end to end; the same property runs with 200+
examples against the in-memory unit of work (`tests/unit/services/`).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import storage
from helpers import Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.clock import SHANGHAI

START = datetime(2025, 12, 20, 12, 0, tzinfo=SHANGHAI)

steps = st.lists(st.one_of(
    st.tuples(st.just("order"), st.integers(0, 300_000)),
    st.tuples(st.just("refund"), st.integers(0, 9), st.integers(1, 200_000)),
    st.tuples(st.just("adjust"), st.integers(-400, 400).filter(bool)),
    st.tuples(st.just("days"), st.integers(1, 200), st.booleans()),
    st.tuples(st.just("new_year"), st.sampled_from(["23:59:59", "00:00:00", "00:00:01"]), st.booleans()),
), min_size=1, max_size=12)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_the_books_always_balance(client, steps) -> None:
    api = Api(client)
    now = START
    set_clock(api, now)
    try:
        _, member = api.new_member()
        mid = member["member_id"]
        orders: list[dict] = []  # order_id, amount, refunded, paid (Shanghai datetime)
        settled = True  # False after a clock move until a write or the reset job settles expiry
        for step in steps:
            if step[0] == "order":
                oid = "p-" + uuid.uuid4().hex[:12]
                status, _ = api.call("POST", "/v1/admin/orders",
                                     {"order_id": oid, "member_id": mid, "amount_fen": step[1]}, admin=True)
                assert status == 201
                orders.append({"id": oid, "amount": step[1], "refunded": 0, "paid": now})
                settled = True
            elif step[0] == "refund" and orders:
                target = orders[step[1] % len(orders)]
                status, body = api.call("POST", f"/v1/admin/orders/{target['id']}/refunds",
                                        {"refund_id": uuid.uuid4().hex[:12], "amount_fen": step[2]}, admin=True)
                if target["refunded"] + step[2] <= target["amount"]:
                    assert status == 201, body
                    target["refunded"] += step[2]
                    settled = True
                else:
                    assert (status, body["error"]["code"]) == (409, "REFUND_EXCEEDS_ORDER")
            elif step[0] == "adjust":
                status, body = api.call("POST", f"/v1/admin/members/{mid}/points",
                                        {"request_id": uuid.uuid4().hex, "delta": step[1], "reason": "兑换"},
                                        admin=True)
                assert status == 201 or body["error"]["code"] == "NEGATIVE_BALANCE"
                settled = settled or status == 201
            elif step[0] == "days":
                now += timedelta(days=step[1])
                set_clock(api, now)
                settled = run_reset(api) if step[2] else False
            elif step[0] == "new_year":
                year = now.year + 1 if step[1] != "23:59:59" else now.year
                hour, minute, second = map(int, step[1].split(":"))
                moved = datetime(year, 12, 31, hour, minute, second, tzinfo=SHANGHAI) if step[1] == "23:59:59" \
                    else datetime(year, 1, 1, hour, minute, second, tzinfo=SHANGHAI)
                if moved > now:
                    now = moved
                    set_clock(api, now)
                    settled = run_reset(api) if step[2] else False
            check_books(api, mid, orders, now, settled)
    finally:
        api.call("DELETE", "/v1/admin/clock", admin=True)


def set_clock(api: Api, instant: datetime) -> None:
    assert api.call("PUT", "/v1/admin/clock", {"now": instant.isoformat()}, admin=True)[0] == 200


def run_reset(api: Api) -> bool:
    assert api.call("POST", "/v1/admin/jobs/yearly-points-reset/run", {}, admin=True)[0] == 200
    return True


def check_books(api: Api, member_id: str, orders: list[dict], now: datetime, settled: bool) -> None:
    view = api.call("GET", f"/v1/admin/members/{member_id}", admin=True)[1]
    balance = view["points"]["balance"]
    if settled:
        ledger = api.ledger(api.token_for(member_id))
        stored = storage.member(member_id)
        assert stored is not None
        assert balance == sum(e["delta"] for e in ledger) == stored.points.balance
        assert not ledger or ledger[0]["balance_after"] == balance
    year = now.astimezone(SHANGHAI).year
    window = [o for o in orders if o["paid"].astimezone(SHANGHAI).year in (year, year - 1)]
    assert view["growth"]["value"] == sum((o["amount"] - o["refunded"]) // 100 for o in window)
    for lot in view["points"]["expiring"]:
        assert datetime.fromisoformat(lot["expires_at"]) > now.astimezone(timezone.utc)
    if balance > 0:
        assert sum(lot["points"] for lot in view["points"]["expiring"]) == balance
