"""Schema-driven fuzzing (§10, issue 9): schemathesis generates valid and invalid requests for every
operation of `GET /v1/openapi.json` and sends them to a live server started as `make run` starts it,
authenticated as a member (member routes) or the merchant (admin routes). Every answer must be
documented, conform to its schema, never be a 5xx, and every error must be exactly the envelope.

The operations are those of the document the app generates from its declarations, loaded when the
module is collected (one test per operation); `test_the_live_server_serves_the_fuzzed_document`
checks that the live server serves exactly that document. (`schemathesis.pytest.from_fixture`,
which would load it from the live server at run time, fails under pytest 9.2 with schemathesis
4.32.5: it sets `request.node._nodeid`, which pytest 9 no longer has.)

Budget: a few examples per operation (positive and negative), derandomized (the same requests every
run), no shrinking, so the whole module stays well under two minutes on two slow cores (about 40 s
measured). `FUZZ_COVERAGE=1` adds schemathesis' coverage phase (boundary values of every field; about
2.5 minutes, so not in `make test`).

What is steered rather than left to chance:
- `DELETE /v1/members/me` and `POST /v1/members` get a fresh member / visitor of their own for each
  example (deleting the shared member would turn every later member route into `403`).
- `PUT /v1/admin/clock` is always followed by `DELETE /v1/admin/clock`; `PUT /v1/admin/program` by
  putting the original program back; so no later example runs at a fuzzed instant or program.
- Path ids of valid (positive) examples are real (the fuzz member, its order, a template, a reward,
  a coupon) so the 200 answers are fuzzed against their schemas too, not only `404`s; invalid
  (negative) examples keep the ids generated.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from helpers import Api, LiveClient, assert_error_body, new_user
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from servers import ADMIN_KEY

MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
PUBLIC_PATHS = ("/v1/health", "/v1/auth/login", "/v1/wechat/push", "/v1/openapi.json")


class World:
    """The fuzz member and the real objects whose ids the fuzzer is steered to."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.live = LiveClient(base_url)
        self.api = Api(self.live)
        self.token, member = self.api.new_member(nickname="模糊测试", birthday="1990-01-01")
        self.member_id = member["member_id"]
        self.program = self.call_ok("GET", "/v1/admin/program", None, 200)
        self.order_id = "fz-" + new_user()
        self.call_ok("POST", "/v1/admin/orders", {"order_id": self.order_id, "member_id": self.member_id,
                                                  "amount_fen": 50_000}, 201)
        template = self.call_ok("POST", "/v1/admin/coupon-templates", {
            "name": "模糊券", "kind": "amount_off", "amount_off_fen": 500, "min_spend_fen": 1000,
            "validity": {"type": "relative", "days": 30}, "claimable": True}, 201)
        self.template_id = template["template_id"]
        reward = self.call_ok("POST", "/v1/admin/rewards", {"name": "模糊礼", "points_cost": 1, "kind": "gift",
                                                            "stock": 1000}, 201)
        self.reward_id = reward["reward_id"]
        coupon = self.call_ok("POST", f"/v1/coupon-center/{self.template_id}/claim", {"request_id": "fz-claim"},
                              201, token=self.token)
        self.coupon_id = coupon["coupon_id"]

    def call_ok(self, method: str, path: str, body: Any, expected: int, *, token: str | None = None) -> Any:
        status, answer = self.api.call(method, path, body, token=token, admin=token is None)
        assert status == expected, (method, path, status, answer)
        return answer

    def path_ids(self) -> dict[str, str]:
        return {"member_id": self.member_id, "order_id": self.order_id, "template_id": self.template_id,
                "reward_id": self.reward_id, "coupon_id": self.coupon_id,
                "redemption_id": "fz-none"}

    def headers_for(self, case: schemathesis.Case) -> dict[str, str]:
        """The credentials of the operation's security: the admin key, a member token, or none."""
        path, method = case.operation.path, case.method.upper()
        if path.startswith("/v1/admin/"):
            return {"X-Admin-Key": ADMIN_KEY}
        if path in PUBLIC_PATHS:
            return {}
        if (method, path) == ("POST", "/v1/members"):
            return {"Authorization": "Bearer " + self.api.login(new_user())["token"]}
        if (method, path) == ("DELETE", "/v1/members/me"):
            return {"Authorization": "Bearer " + self.api.new_member()[0]}
        return {"Authorization": f"Bearer {self.token}"}

    def restore(self, case: schemathesis.Case) -> None:
        """Undo what an example may have changed for every later one: the test clock, the program."""
        path = case.operation.path
        if path == "/v1/admin/clock":
            assert self.api.call("DELETE", "/v1/admin/clock", admin=True)[0] == 204
        elif path == "/v1/admin/program" and case.method.upper() == "PUT":
            assert self.api.call("PUT", "/v1/admin/program", self.program, admin=True)[0] == 200


@pytest.fixture(scope="module")
def world(attack_server: str) -> Iterator[World]:
    world = World(attack_server)
    yield world
    world.api.call("DELETE", "/v1/admin/clock", admin=True)
    world.api.call("PUT", "/v1/admin/program", world.program, admin=True)


def generated_document() -> dict[str, Any]:
    """The document of every route the app registers (importing `app` declares them all)."""
    import app  # noqa: F401
    from chalicelib.api.openapi import document

    return document()


CONFIG = schemathesis.Config.from_dict({
    "generation": {"mode": "all", "deterministic": True, "no-shrink": True, "max-examples": MAX_EXAMPLES},
    "phases": {"coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1", "unexpected-methods": []},
               "stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(generated_document(), config=CONFIG)


def test_the_live_server_serves_the_fuzzed_document(world: World) -> None:
    served = world.live.session.get(f"{world.base_url}/v1/openapi.json", timeout=30)
    assert served.status_code == 200 and served.json() == generated_document()


def assert_envelope(response: Any) -> None:
    """A non-2xx answer is exactly the contract's envelope: `field` (a string) on VALIDATION_ERROR only."""
    if response.status_code < 400:
        return
    assert_error_body(json.loads(response.content))
    if response.status_code == 503:
        assert response.headers.get("Retry-After", "").isdigit(), dict(response.headers)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
def test_fuzzed_requests_get_documented_answers_and_errors_in_the_envelope(case: schemathesis.Case,
                                                                          world: World) -> None:
    if case.meta is not None and case.meta.generation.mode == schemathesis.GenerationMode.POSITIVE:
        ids = world.path_ids()
        case.path_parameters = {name: ids.get(name, value) for name, value in (case.path_parameters or {}).items()}
    headers = world.headers_for(case)
    started = time.monotonic()
    try:
        response = case.call_and_validate(base_url=world.base_url, session=world.live.session, headers=headers,
                                          checks=CHECKS, timeout=30)
    finally:
        world.restore(case)
    assert_envelope(response)
    assert time.monotonic() - started < 10, f"{case.method} {case.formatted_path} took too long"
