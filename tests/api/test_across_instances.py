"""Two server processes on one store behave like two Lambda instances: races are decided by
DynamoDB conditions, never by luck. (The embedded store serialises requests as DynamoDB does.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from helpers import ADMIN, new_user

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
