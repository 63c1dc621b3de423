"""Two server processes on one store behave like two Lambda instances: races are decided by
DynamoDB conditions, never by luck. (The embedded store serialises requests as DynamoDB does.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import storage
from helpers import ADMIN, new_user

# Twenty writers racing through the store must all get through within the runner's 4 s budget:
# that holds with the CPU to this test, not with another worker's tests beside it.
pytestmark = pytest.mark.alone

ROUNDS = 5
PARALLEL = 8


def post(url: str, body: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(url, json=body, headers=headers or {}, timeout=30)


def login(base: str, code: str) -> str:
    response = post(f"{base}/v1/auth/login", {"code": code})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_one_openid_signing_up_on_two_instances_at_once_is_one_member_with_one_gift(two_instances) -> None:
    servers = two_instances
    for _ in range(ROUNDS):
        name = new_user()
        tokens = [login(servers[i % 2], f"{name}.{i}") for i in range(PARALLEL)]
        with ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(
                lambda i: post(f"{servers[i % 2]}/v1/members", {"nickname": "并发"},
                               {"Authorization": f"Bearer {tokens[i]}"}), range(PARALLEL)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * (PARALLEL - 1), [a.text for a in answers]
        assert all(a.json()["error"]["code"] == "ALREADY_MEMBER" for a in answers if a.status_code == 409)
        member_id = next(a.json()["member_id"] for a in answers if a.status_code == 201)
        for token, base in zip(tokens, servers * PARALLEL, strict=False):
            me = requests.get(f"{base}/v1/members/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert me.json()["member_id"] == member_id and me.json()["points"]["balance"] == 100
        ledger = requests.get(f"{servers[0]}/v1/points/ledger",
                              headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30).json()
        assert [e["reason"] for e in ledger["items"]] == ["signup_gift"]


def test_one_request_id_sent_to_two_instances_at_once_changes_points_once(two_instances) -> None:
    servers = two_instances
    token = login(servers[0], f"{new_user()}.1")
    member = post(f"{servers[0]}/v1/members", {}, {"Authorization": f"Bearer {token}"}).json()
    url = "/v1/admin/members/{}/points".format(member["member_id"])
    body = {"request_id": "race-1", "delta": 25, "reason": "并发补偿"}
    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(lambda i: post(servers[i % 2] + url, body, ADMIN), range(PARALLEL)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    distinct = [{"request_id": f"race-{i + 2}", "delta": 10, "reason": "并发"} for i in range(PARALLEL)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        more = list(pool.map(lambda i: post(servers[i % 2] + url, distinct[i], ADMIN), range(PARALLEL)))
    assert {a.status_code for a in more} == {201}
    me = requests.get(f"{servers[1]}/v1/members/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.json()["points"]["balance"] == 100 + 25 + 10 * PARALLEL
    ledger = requests.get(f"{servers[1]}/v1/points/ledger?limit=100",
                          headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["items"]
    assert sum(e["delta"] for e in ledger) == me.json()["points"]["balance"]
    assert sorted(e["balance_after"] for e in ledger) == [100, 125] + [125 + 10 * (i + 1) for i in range(PARALLEL)]


def test_one_order_posted_ten_times_across_two_instances_awards_points_once(two_instances) -> None:
    servers = two_instances
    token = login(servers[0], f"{new_user()}.1")
    member = post(f"{servers[0]}/v1/members", {}, {"Authorization": f"Bearer {token}"}).json()
    body = {"order_id": f"race-{new_user()}", "member_id": member["member_id"], "amount_fen": 88_800}
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: post(f"{servers[i % 2]}/v1/admin/orders", body, ADMIN), range(10)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1 and answers[0].json()["points_awarded"] == 888
    ledger = requests.get(f"{servers[1]}/v1/points/ledger", headers={"Authorization": f"Bearer {token}"},
                          timeout=30).json()["items"]
    assert [e["reason"] for e in ledger] == ["order", "signup_gift"]
    assert ledger[0]["balance_after"] == 988


def test_twenty_parallel_check_ins_across_two_instances_check_in_once(two_instances) -> None:
    servers = two_instances
    token = login(servers[0], f"{new_user()}.1")
    auth = {"Authorization": f"Bearer {token}"}
    post(f"{servers[0]}/v1/members", {}, auth)
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: post(f"{servers[i % 2]}/v1/checkins", {}, auth), range(20)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 19, [a.text for a in answers]
    ledger = requests.get(f"{servers[1]}/v1/points/ledger", headers=auth, timeout=30).json()["items"]
    assert [e["reason"] for e in ledger] == ["checkin", "signup_gift"]


def new_member_on(base: str) -> tuple[dict, dict]:
    token = login(base, f"{new_user()}.1")
    auth = {"Authorization": f"Bearer {token}"}
    return auth, post(f"{base}/v1/members", {}, auth).json()


def test_one_coupon_on_five_parallel_orders_across_two_instances_is_used_once(two_instances) -> None:
    servers = two_instances
    template = post(f"{servers[0]}/v1/admin/coupon-templates",
                    {"name": "立减10元", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 0,
                     "validity": {"type": "relative", "days": 7}, "claimable": True}, ADMIN).json()
    auth, member = new_member_on(servers[0])
    coupon = post(f"{servers[1]}/v1/coupon-center/{template['template_id']}/claim", {"request_id": "c1"}, auth).json()
    orders = [{"order_id": f"co-{new_user()}", "member_id": member["member_id"], "amount_fen": 9_000,
               "subtotal_fen": 10_000, "coupon_id": coupon["coupon_id"]} for _ in range(5)]
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda i: post(f"{servers[i % 2]}/v1/admin/orders", orders[i], ADMIN), range(5)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 4, [a.text for a in answers]
    assert all(a.json()["error"]["code"] == "COUPON_NOT_USABLE" for a in answers if a.status_code == 409)
    used = requests.get(f"{servers[0]}/v1/coupons?status=used", headers=auth, timeout=30).json()["items"]
    assert [c["coupon_id"] for c in used] == [coupon["coupon_id"]]


def test_twenty_members_claiming_a_stock_of_five_at_once_get_exactly_five(two_instances) -> None:
    servers = two_instances
    template = post(f"{servers[0]}/v1/admin/coupon-templates",
                    {"name": "限量券", "kind": "gift", "min_spend_fen": 0, "total_stock": 5,
                     "validity": {"type": "relative", "days": 7}, "claimable": True}, ADMIN).json()
    members = [new_member_on(servers[i % 2])[0] for i in range(20)]
    url = f"/v1/coupon-center/{template['template_id']}/claim"
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: post(servers[i % 2] + url, {"request_id": f"r{i}"}, members[i]), range(20)))
    assert sorted(a.status_code for a in answers) == [201] * 5 + [409] * 15, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"OUT_OF_STOCK"}


def test_parallel_redemptions_by_a_member_who_can_afford_one_succeed_once(two_instances) -> None:
    servers = two_instances
    gift = post(f"{servers[0]}/v1/admin/rewards", {"name": "保温杯", "points_cost": 80, "kind": "gift"}, ADMIN).json()
    auth, _ = new_member_on(servers[0])
    url = f"/v1/rewards/{gift['reward_id']}/redeem"
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: post(servers[i % 2] + url, {"request_id": f"x{i}"}, auth), range(20)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 19, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"INSUFFICIENT_POINTS"}


def test_twenty_members_redeeming_a_stock_of_five_at_once_get_exactly_five(two_instances) -> None:
    servers = two_instances
    gift = post(f"{servers[0]}/v1/admin/rewards",
                {"name": "限量T恤", "points_cost": 10, "kind": "gift", "stock": 5}, ADMIN).json()
    members = [new_member_on(servers[i % 2])[0] for i in range(20)]
    url = f"/v1/rewards/{gift['reward_id']}/redeem"
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: post(servers[i % 2] + url, {"request_id": "same"}, members[i]), range(20)))
    assert sorted(a.status_code for a in answers) == [201] * 5 + [409] * 15, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"OUT_OF_STOCK"}


CONCURRENT_WRITES = 20


def test_twenty_concurrent_adjustments_of_one_member_on_two_instances_all_succeed(two_instances) -> None:
    """Up to 20 concurrent writes to one member all succeed (the runner's retries absorb the
    conflicts), and the ledger adds up to the balance."""
    servers = two_instances
    token = login(servers[0], f"{new_user()}.1")
    member = post(f"{servers[0]}/v1/members", {}, {"Authorization": f"Bearer {token}"}).json()
    url = "/v1/admin/members/{}/points".format(member["member_id"])
    bodies = [{"request_id": f"many-{i}", "delta": i + 1, "reason": "并发"} for i in range(CONCURRENT_WRITES)]
    with ThreadPoolExecutor(CONCURRENT_WRITES) as pool:
        answers = list(pool.map(lambda i: post(servers[i % 2] + url, bodies[i], ADMIN), range(CONCURRENT_WRITES)))
    assert [a.status_code for a in answers] == [201] * CONCURRENT_WRITES, [a.text for a in answers if a.status_code != 201]
    auth = {"Authorization": f"Bearer {token}"}
    balance = requests.get(f"{servers[1]}/v1/members/me", headers=auth, timeout=30).json()["points"]["balance"]
    ledger = requests.get(f"{servers[0]}/v1/points/ledger?limit=100", headers=auth, timeout=30).json()["items"]
    assert balance == 100 + sum(range(1, CONCURRENT_WRITES + 1)) == sum(e["delta"] for e in ledger)
    assert len(ledger) == CONCURRENT_WRITES + 1


def test_member_day_on_two_instances_and_another_job_at_once_double_nothing_and_keep_the_cap(
        two_instances, fake_wechat) -> None:
    """Two instances run `member-day` while one runs `points-expiring`, on a member day with a
    weekly cap of 1: every member gets one coupon, the granted member one message of the two."""
    servers = two_instances
    original = requests.get(f"{servers[0]}/v1/admin/program", headers=ADMIN, timeout=30).json()
    try:
        for base in servers:
            clock = requests.put(f"{base}/v1/admin/clock", json={"now": "2026-12-01T10:00:00+08:00"}, headers=ADMIN,
                                 timeout=30)
            assert clock.status_code == 200
        template = post(f"{servers[0]}/v1/admin/coupon-templates",
                        {"name": "会员日券", "kind": "amount_off", "amount_off_fen": 500, "min_spend_fen": 0,
                         "validity": {"type": "relative", "days": 7}}, ADMIN).json()
        member_day, points = (f"tpl-{new_user()}" for _ in range(2))
        program = {**original, "member_days": {**original["member_days"], "days_of_month": [1],
                                               "coupon_template_id": template["template_id"]},
                   "points_expiry": {"keep_years": 0},
                   "notifications": {"templates": {**original["notifications"]["templates"], "member_day": member_day,
                                                   "points_expiring": points},
                                     "weekly_cap": 1, "points_expiring_days": [1]}}
        assert requests.put(f"{servers[0]}/v1/admin/program", json=program, headers=ADMIN, timeout=30).ok
        name = new_user()
        auth = {"Authorization": f"Bearer {login(servers[0], f'{name}.1')}"}
        post(f"{servers[0]}/v1/members", {}, auth)
        openid = fake_wechat.openid_for(name)
        for template_id in (member_day, points):
            storage.grant(openid, template_id)
        fake_wechat.reset()
        runs = [(servers[0], "member-day"), (servers[1], "member-day"), (servers[1], "points-expiring")]
        with ThreadPoolExecutor(len(runs)) as pool:
            first, second, reminders = [a.json() for a in pool.map(
                lambda run: post(f"{run[0]}/v1/admin/jobs/{run[1]}/run", {}, ADMIN), runs)]
        assert first["members"] == second["members"] == first["coupons_issued"] + second["coupons_issued"]
        assert first["notices_sent"] + second["notices_sent"] + reminders["reminders_sent"] == 1
        assert len([m for m in fake_wechat.sent_messages if m["touser"] == openid]) == 1
        assert sorted(storage.grants(openid).values()) == [0, 1]
        wallet = requests.get(f"{servers[1]}/v1/coupons", headers=auth, timeout=30).json()["items"]
        assert [c["template_id"] for c in wallet] == [template["template_id"]]
    finally:
        requests.put(f"{servers[0]}/v1/admin/program", json=original, headers=ADMIN, timeout=30)
        for base in servers:
            requests.delete(f"{base}/v1/admin/clock", headers=ADMIN, timeout=30)
        fake_wechat.reset()


def test_checkout_holds_racing_across_two_instances(two_instances) -> None:
    """Two holds of one coupon: exactly one wins; holds whose points together exceed the balance
    never hold more than it; a confirm racing a cancel: one of them wins and the ledger sums to
    the balance (§9)."""
    servers = two_instances
    original = requests.get(f"{servers[0]}/v1/admin/program", headers=ADMIN, timeout=30).json()
    cash = {**original, "points_redemption": {"enabled": True, "points_per_yuan": 100, "max_pct_of_amount": 100}}
    assert requests.put(f"{servers[0]}/v1/admin/program", json=cash, headers=ADMIN, timeout=30).ok
    try:
        template = post(f"{servers[0]}/v1/admin/coupon-templates",
                        {"name": "立减10元", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 0,
                         "validity": {"type": "relative", "days": 7}, "claimable": True}, ADMIN).json()
        auth, member = new_member_on(servers[0])
        member_id = member["member_id"]
        coupon = post(f"{servers[1]}/v1/coupon-center/{template['template_id']}/claim", {"request_id": "c1"},
                      auth).json()
        holds = [{"checkout_id": f"hc-{new_user()}", "member_id": member_id, "subtotal_fen": 10_000,
                  "coupon_id": coupon["coupon_id"]} for _ in range(PARALLEL)]
        with ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(lambda i: post(f"{servers[i % 2]}/v1/admin/checkouts", holds[i], ADMIN),
                                    range(PARALLEL)))
        assert sorted(a.status_code for a in answers) == [201] + [409] * (PARALLEL - 1), [a.text for a in answers]
        assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"COUPON_NOT_USABLE"}

        post(f"{servers[0]}/v1/admin/members/{member_id}/points", {"request_id": "r1", "delta": 900, "reason": "测"},
             ADMIN)  # 1,000 points
        points = [{"checkout_id": f"hp-{new_user()}", "member_id": member_id, "subtotal_fen": 100_000,
                   "points_to_use": 300} for _ in range(PARALLEL)]
        with ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(lambda i: post(f"{servers[i % 2]}/v1/admin/checkouts", points[i], ADMIN),
                                    range(PARALLEL)))
        assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * (PARALLEL - 3), [a.text for a in answers]
        me = requests.get(f"{servers[1]}/v1/members/me", headers=auth, timeout=30).json()["points"]
        assert (me["balance"], me["held"]) == (100, 900)

        won = []
        for held in [a.json() for a in answers if a.status_code == 201]:
            path = f"/v1/admin/checkouts/{held['checkout_id']}"
            payment = {"order_id": f"ho-{new_user()}", "amount_fen": held["amount_due_fen"]}
            with ThreadPoolExecutor(2) as pool:
                confirmed, cancelled = pool.map(
                    lambda call: post(f"{servers[call[0]]}{path}/{call[1]}", call[2], ADMIN),
                    [(0, "confirm", payment), (1, "cancel", {})])
            assert sorted([confirmed.status_code, cancelled.status_code]) in ([200, 409], [201, 409]), \
                (confirmed.text, cancelled.text)
            loser = confirmed if confirmed.status_code == 409 else cancelled
            assert loser.json()["error"]["code"] == "HOLD_CLOSED"
            won.append("confirm" if confirmed.status_code == 201 else "cancel")
        me = requests.get(f"{servers[1]}/v1/members/me", headers=auth, timeout=30).json()["points"]
        ledger = requests.get(f"{servers[0]}/v1/points/ledger?limit=100", headers=auth, timeout=30).json()["items"]
        assert me["held"] == 0 and sum(e["delta"] for e in ledger) == me["balance"]
        assert me["balance"] == 1_000 + (997 - 300) * won.count("confirm")  # 997 yuan paid: 997 points each
    finally:
        requests.put(f"{servers[0]}/v1/admin/program", json=original, headers=ADMIN, timeout=30)
