"""An attacker's table over HTTP against a live server (issue 9): every route, member, admin, push and
public, with the patterns of the defects an attack once found. Each case must answer its 4xx (never a
5xx; a 503 only with `Retry-After`) with exactly the envelope, `field` (a string) on VALIDATION_ERROR
and nowhere else, and for a sample of state-changing cases nothing may change: the member's admin
view and the head of its ledger are read after the case and compared with the last state seen (no
case may change them, so one read per case is enough), and the program with the world's own.

The table: attack_table.py generates most cases from the app's OpenAPI document (a new route or
field is attacked as soon as it is declared); attack_named.py adds the attacks issue 9 names one by
one and the signed pushes. This module holds the world they run against, sending and the checks.

Every request goes out on a fresh connection (`FreshConnections`): `chalice local` writes a response's
headers and body in two sends, so on a kept-alive connection each answer waits ~40 ms for the
client's delayed ACK (Nagle), ten times the cost of a new local connection.
"""
from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from attack_named import event, named_attacks, signed_push
from attack_table import VALID, Attack, generated_attacks, generated_document, operations
from helpers import Api, LiveClient, assert_error_body, new_user
from servers import ADMIN_KEY

ATTACKS = generated_attacks() + named_attacks()
MIN_CASES = 450  # the table was cut from ~820 to ~480 cases by dealing values round-robin; never below 300


class World:
    """A member with points, an order, a template, a reward and a coupon; a visitor; a deleted member."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.live = LiveClient(base_url)
        self.api = Api(self.live)
        self.token, member = self.api.new_member(nickname="不变", birthday="1990-01-01")
        self.member_id = member["member_id"]
        self.visitor = self.api.login(new_user())["token"]
        self.deleted, _ = self.api.new_member()
        assert self.api.call("DELETE", "/v1/members/me", token=self.deleted)[0] == 204
        self.order_id = "atk-" + new_user()
        self.ok("POST", "/v1/admin/orders", {"order_id": self.order_id, "member_id": self.member_id,
                                             "amount_fen": 10_000}, 201)
        self.template_id = self.ok("POST", "/v1/admin/coupon-templates", {
            "name": "攻击目标券", "kind": "amount_off", "amount_off_fen": 500, "min_spend_fen": 1000,
            "validity": {"type": "relative", "days": 30}, "claimable": True}, 201)["template_id"]
        self.reward_id = self.ok("POST", "/v1/admin/rewards", {"name": "攻击目标礼", "points_cost": 10_000_000,
                                                               "kind": "gift", "stock": 5}, 201)["reward_id"]
        self.coupon_id = self.ok("POST", f"/v1/coupon-center/{self.template_id}/claim", {"request_id": "atk-claim"},
                                 201, token=self.token)["coupon_id"]
        self.checkout_id = self.ok("POST", "/v1/admin/checkouts", {"checkout_id": "atk-" + new_user(),
                                                                    "member_id": self.member_id, "subtotal_fen": 100,
                                                                    "expires_in_s": 3600}, 201)["checkout_id"]
        self.openid = self.ok("GET", f"/v1/admin/members/{self.member_id}", None, 200)["openid"]
        self.program = self.ok("GET", "/v1/admin/program", None, 200)
        self.ids = {"{member_id}": self.member_id, "{order_id}": self.order_id, "{template_id}": self.template_id,
                    "{reward_id}": self.reward_id, "{coupon_id}": self.coupon_id, "{redemption_id}": "rd-nope", "{checkout_id}": self.checkout_id,
                    "{job}": "coupon-expiry", "@MEMBER_ID@": self.member_id, "@TEMPLATE_ID@": self.template_id}
        self.headers: dict[str, dict[str, str | bytes]] = {
            "member": {"Authorization": f"Bearer {self.token}"},
            "visitor": {"Authorization": f"Bearer {self.visitor}"},
            "deleted": {"Authorization": f"Bearer {self.deleted}"},
            "admin": {"X-Admin-Key": ADMIN_KEY},
        }
        self.seen = self.state()

    def ok(self, method: str, path: str, body: Any, expected: int, *, token: str | None = None) -> Any:
        status, answer = self.api.call(method, path, body, token=token, admin=token is None)
        assert status == expected, (method, path, status, answer)
        return answer

    def fill(self, text: str) -> str:
        for name, value in self.ids.items():
            if name in text:
                text = text.replace(name, value)
        return text.replace("@UNIQ@", uuid.uuid4().hex[:16]) if "@UNIQ@" in text else text

    def state(self) -> Any:
        """The member as the merchant sees it (balance and grants included) and the head of its
        ledger (newest first: any new entry shows there)."""
        return (self.api.call("GET", f"/v1/admin/members/{self.member_id}", admin=True),
                self.api.call("GET", "/v1/points/ledger?limit=5", token=self.token))

    def assert_unchanged(self, program: bool) -> None:
        """The member and its ledger head are as last seen; the program, if asked, is the world's."""
        state = self.state()
        seen, self.seen = self.seen, state  # one failure, not one per later case
        assert state == seen
        if program:
            assert self.api.call("GET", "/v1/admin/program", admin=True) == (200, self.program)


@pytest.fixture(scope="module")
def world(attack_server: str) -> Iterator[World]:
    world = World(attack_server)
    yield world
    world.api.call("DELETE", "/v1/admin/clock", admin=True)
    world.api.call("PUT", "/v1/admin/program", world.program, admin=True)


def send(world: World, attack: Attack) -> requests.Response:
    headers: dict[str, str | bytes] = {"Content-Type": "application/json", **world.headers.get(attack.auth, {})}
    headers.update(attack.headers)
    path, body = world.fill(attack.path), attack.body
    if attack.push is not None:
        query, body, headers["Content-Type"] = attack.push(world)
        path = f"{path}?{query}"
    elif body is not None and b"@" in body:
        body = world.fill(body.decode("latin-1")).encode("latin-1")
    return world.live.session.request(attack.method, world.base_url + path, headers=headers, data=body, timeout=60)


def assert_envelope(attack: Attack, response: requests.Response) -> None:
    assert response.status_code < 500 or (response.status_code == 503 and response.headers.get("Retry-After")), \
        (response.status_code, response.text[:500])
    expected = attack.status if isinstance(attack.status, tuple) else (attack.status,)
    assert response.status_code in expected, (response.status_code, response.text[:500])
    if response.status_code == 200 and attack.push is not None:
        assert response.text == "success"
        return
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert_error_body(body)
    error = body["error"]
    if attack.code is not None:
        assert error["code"] == attack.code, body
    if attack.field is not None and error["code"] == "VALIDATION_ERROR":
        assert error["field"] == attack.field, body


def test_the_table_covers_every_route_with_enough_cases() -> None:
    attacked = {(a.method, a.path.split("?")[0]) for a in ATTACKS}
    for method, path, _ in operations(generated_document()):
        assert (method, path) in attacked, f"{method} {path} is not attacked"
    assert len(ATTACKS) >= MIN_CASES >= 300
    assert len({a.name for a in ATTACKS}) == len(ATTACKS), "case names are unique"


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_a_4xx_envelope_and_changes_nothing(world: World, attack: Attack) -> None:
    program = attack.path == "/v1/admin/program"
    response = send(world, attack)
    if attack.path == "/v1/admin/clock" and response.status_code < 300:
        world.api.call("DELETE", "/v1/admin/clock", admin=True)
    if program and response.status_code < 300:
        world.api.call("PUT", "/v1/admin/program", world.program, admin=True)
    assert_envelope(attack, response)
    if attack.after is not None:
        attack.after(world)
    if attack.unchanged:
        world.assert_unchanged(program)


def test_admin_lists_honour_limit(world: World) -> None:
    for path in ("/v1/admin/coupon-templates", "/v1/admin/rewards"):
        assert world.api.call("POST", path, VALID[("POST", path)], admin=True)[0] == 201
        status, page = world.api.call("GET", f"{path}?limit=1", admin=True)
        assert status == 200, page
        assert len(page["items"]) == 1 and page["next_cursor"], page
        status, rest = world.api.call("GET", f"{path}?limit=1&cursor={page['next_cursor']}", admin=True)
        assert status == 200 and rest["items"] and rest["items"] != page["items"], rest


def test_a_replayed_push_timestamp_and_nonce_is_refused(world: World) -> None:
    """One signed URL accepts one body only (issue 9, defect 8)."""
    ts, nonce = str(int(time.time())), "replay" + secrets.token_hex(4)
    first = signed_push(event(items=[{"TemplateId": "T-replay1", "SubscribeStatusString": "accept"}]),
                        timestamp=ts, nonce=nonce)
    second = signed_push(event(items=[{"TemplateId": "T-replay2", "SubscribeStatusString": "accept"}]),
                         timestamp=ts, nonce=nonce)
    accepted = send(world, Attack("first", "POST", "/v1/wechat/push", push=first, status=200))
    assert (accepted.status_code, accepted.text) == (200, "success")
    world.seen = world.state()  # the first push added its grant
    replay = send(world, Attack("replay", "POST", "/v1/wechat/push", push=second, status=401))
    assert 400 <= replay.status_code < 500, replay.text
    world.assert_unchanged(program=False)
