"""The bench's local stack and its client: the environment, an embedded DynamoDB and a counting
fake WeChat started in this process, tables created and the program seeded, and `Bench`, which
drives the app in-process with `chalice.test.Client` and measures each request."""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chalice.test import Client, HTTPResponse

from bench import REPO_ROOT
from bench.counting import DynamoMeter, metered_dynamodb
from devstack.dynamodb import EmbeddedDynamoDB
from devstack.fake_wechat import FakeWeChat, Reply

ADMIN_KEY = "bench-admin-key"
BENCH_ENV = {
    "STAGE": "local",
    "TABLE_PREFIX": "bench-",
    "TOKEN_SECRET": "bench",
    "ADMIN_API_KEYS": ADMIN_KEY,
    "WECHAT_APPID": "wx0000000000bench",
    "WECHAT_SECRET": "bench-wechat-secret",
    "WECHAT_TOKEN": "bench-push-token",
    "WECHAT_ENCODING_AES_KEY": "BenchEncodingAESKey0123456789abcdefghijklmn",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}
UNSET_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION")


class CountingWeChat(FakeWeChat):
    """The fake WeChat, recording the path of every call it answers."""

    def __init__(self, appid: str, secret: str) -> None:
        super().__init__(appid, secret)
        self.calls: list[str] = []

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        """Record the call, then answer it as the fake does."""
        self.calls.append(path)
        return super().handle(method, path, query, body)


@dataclass(frozen=True)
class Measurement:
    """What one request cost."""

    operations: list[str]
    wechat_calls: list[str]
    body: Any

    @property
    def round_trips(self) -> int:
        """DynamoDB HTTP requests sent."""
        return len(self.operations)


@dataclass
class RouteResult:
    """A route's warm and cold (first call of its kind) cost."""

    warm: Measurement
    cold: Measurement

    def as_json(self, target: int | None, note: str | None) -> dict[str, Any]:
        """The route's entry in results.json."""
        return {
            "round_trips": self.warm.round_trips,
            "cold_round_trips": self.cold.round_trips,
            "operations": self.warm.operations,
            "cold_operations": self.cold.operations,
            "wechat_calls": self.warm.wechat_calls,
            "cold_wechat_calls": self.cold.wechat_calls,
            "target_max": target,
            "meets_target": None if target is None else self.warm.round_trips <= target,
            "note": note,
        }


@dataclass
class Bench:
    """Drives the app in-process and measures each request."""

    client: Client
    meter: DynamoMeter
    wechat: CountingWeChat
    results: dict[str, RouteResult] = field(default_factory=dict)

    def call(self, method: str, path: str, expect: int, *, token: str | None = None,
             admin: bool = False, body: dict[str, Any] | None = None) -> Measurement:
        """One request; a status other than `expect` aborts the bench."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if admin:
            headers["X-Admin-Key"] = ADMIN_KEY
        wechat_before = len(self.wechat.calls)
        with self.meter.record() as dynamodb:
            response: HTTPResponse = self.client.http.request(
                method, path, headers=headers, body=json.dumps(body).encode() if body is not None else b"")
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: expected {expect}, got {response.status_code}: "
                               f"{response.body!r}")
        return Measurement(dynamodb.operations, self.wechat.calls[wechat_before:],
                           response.json_body if response.body else None)

    def measure(self, route: str, cold: Callable[[], Measurement], warm: Callable[[], Measurement]
                ) -> tuple[Measurement, Measurement]:
        """Run the first call of a kind, then the measured one; return (cold, warm)."""
        first = cold()
        second = warm()
        self.results[route] = RouteResult(warm=second, cold=first)
        return first, second

    def login(self, code: str) -> Measurement:
        """POST /v1/auth/login with a fake wx.login code."""
        return self.call("POST", "/v1/auth/login", 200, body={"code": code})

    def signup(self, token: str, **profile: str) -> Measurement:
        """POST /v1/members with a visitor token."""
        return self.call("POST", "/v1/members", 201, token=token, body=profile)

    def adjust(self, member_id: str, request_id: str) -> Measurement:
        """POST /v1/admin/members/{id}/points: 10 points more (the same answer on a replay)."""
        return self.call("POST", f"/v1/admin/members/{member_id}/points", 201, admin=True,
                         body={"request_id": request_id, "delta": 10, "reason": "bench"})


@contextmanager
def local_stack() -> Iterator[tuple[DynamoMeter, CountingWeChat]]:
    """The bench environment, an embedded DynamoDB and a counting fake WeChat, tables created and
    the program seeded; stopped on exit."""
    for name in UNSET_ENV:
        os.environ.pop(name, None)
    os.environ.update(BENCH_ENV)
    store = EmbeddedDynamoDB()
    wechat = CountingWeChat(BENCH_ENV["WECHAT_APPID"], BENCH_ENV["WECHAT_SECRET"])
    try:
        os.environ["DYNAMODB_ENDPOINT_URL"] = store.start()
        os.environ["WECHAT_API_BASE_URL"] = wechat.start()
        with metered_dynamodb() as meter:
            from devstack.runner import prepare_store

            with meter.record() as setup:
                prepare_store()
            if not setup.operations:
                raise RuntimeError("the DynamoDB meter saw no request: its hook on the shared client is broken")
            yield meter, wechat
    finally:
        wechat.stop()
        store.stop()


@contextmanager
def in_process_app() -> Iterator[Bench]:
    """A `Bench` on the app in the `local` stage, on a fresh local stack. The app's JSON log lines
    are written (their cost is measured) to /dev/null instead of stdout."""
    with local_stack() as (meter, wechat), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        from app import app

        yield Bench(Client(app, stage_name="local", project_dir=str(REPO_ROOT)), meter, wechat)
