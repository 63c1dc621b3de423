"""`make bench`: DynamoDB round trips per route, the yearly points reset at scale, and the import
time of the app.

1. Starts the embedded DynamoDB and a fake WeChat in this process, creates the tables, seeds the
   default program and drives the app in-process with `chalice.test.Client`. Every DynamoDB HTTP
   request botocore sends (each attempt, retries included) is counted by a `before-send.dynamodb`
   handler registered on the botocore sessions pynamodb creates; WeChat calls are counted by the
   fake. Each route is measured on its second call of the same kind (warm); its first call is
   reported as `cold_round_trips`.
2. WeChat, on the same store: `WECHAT_PUSHES` encrypted XML `subscribe_msg_popup_event` pushes
   through `POST /v1/wechat/push`, each granting one send of a template to a new openid (latency
   p50/p95, round trips a push), then one `notify.send_notice` per granted openid against the
   fake WeChat (sends/s, DynamoDB and WeChat calls a send).
3. On the same store (unless `--skip-reset`): loads `--reset-members` members holding points
   (default 20,000) and a quarter as many without, straight into the tables with BatchWriteItem,
   sets the clock to 1 January 2027 00:00 Shanghai and runs `yearly-points-reset` twice through
   the admin route: wall time, calls by operation, idempotency and a sample of ledgers.
4. Times `python -X importtime -c "import app"` in fresh subprocesses (median of 5).
5. Writes `bench/results.json` and prints the Markdown tables for the README.

A missed target is reported, never an error: the exit code is non-zero only when the bench
itself cannot run.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import secrets
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from chalice.test import Client, HTTPResponse  # noqa: E402

from chalicelib.local.dynamodb import EmbeddedDynamoDB  # noqa: E402
from chalicelib.local.fake_wechat import FakeWeChat, Reply  # noqa: E402

RESULTS_PATH = REPO_ROOT / "bench" / "results.json"
ADMIN_KEY = "bench-admin-key"
IMPORT_RUNS = 5
RESET_JOB = "yearly-points-reset"
RESET_AT = "2027-01-01T00:00:00+08:00"
RESET_LOT_YEAR = 2026
RESET_LOT_POINTS = 120
RESET_MEMBERS = 20_000
IDLE_MEMBERS_PER = 4  # one member without points per this many holding points
LEDGER_SAMPLE = 200
EXTRAPOLATE_MEMBERS = 1_000_000
IMPORT_TARGET_MS = 250
TOP_MODULES = 5
WECHAT_PUSHES = 200  # pushes timed, each granting the one send made later to its openid
PUSH_EVENT = "subscribe_msg_popup_event"
NOTICE_TEMPLATE = "tpl-bench-notice"

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

# Most DynamoDB round trips a warm call may make; routes without a target are reported only.
TARGETS = {
    "POST /v1/members": 2,
    "POST /v1/members (phone_code)": 2,
    "POST /v1/members (phone_code, new instance)": 2,
    "GET /v1/members/me": 1,
    "GET /v1/points/ledger": 1,
    "GET /v1/points/ledger (cursor page)": 1,
    "POST /v1/admin/members/{id}/points": 2,
    "POST /v1/admin/orders": 2,
    "POST /v1/admin/orders (invitee's first order)": 3,
    "POST /v1/admin/orders/{order_id}/refunds": 2,
    "POST /v1/admin/members/{id}/events": 2,
    "POST /v1/checkins": 2,
    "POST /v1/coupon-center/{template_id}/claim": 2,
    "POST /v1/rewards/{reward_id}/redeem": 2,
    "POST /v1/admin/orders (with a coupon)": 2,
    "GET /v1/coupons": 1,
    "GET /v1/coupon-center (visitor)": 1,
    "GET /v1/coupon-center (member)": 1,
}
# Why a route costs what it does, printed under the table.
NOTES = {
    "POST /v1/admin/orders (invitee's first order)":
        "One more TransactGetItems than a plain order: the inviter is read to credit the referral reward.",
    "POST /v1/admin/orders/{order_id}/refunds":
        "The refund names only the order: a TransactGetItems of the order (with the refund's idempotency "
        "record) to learn its member, a TransactGetItems of member + program, then the TransactWriteItems.",
    "POST /v1/admin/orders (replay)":
        "The order's first answer is stored on the order item, so a replay is answered by the first read.",
    "GET /v1/coupon-center (member, tier-restricted templates)":
        "Some template is limited to tiers: the member's tier is read too (member + program), beside the Query.",
    "GET /v1/coupons (empty wallet)":
        "An empty first page is checked against the member (who may have closed the account).",
}


class DynamoMeter:
    """Records the operation of every DynamoDB HTTP request sent by pynamodb's botocore clients."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.items_queried = 0

    def install(self) -> None:
        """Hook every botocore session pynamodb creates from now on (before any client exists):
        a client copies its session's handlers, and `before-send` fires once per attempt."""
        from pynamodb.connection import base

        make_session = base.get_session

        def get_session() -> Any:
            session = make_session()
            session.register("before-send.dynamodb", self._on_send)
            session.register("after-call.dynamodb.Query", self._on_query)
            return session

        base.get_session = get_session

    def _on_send(self, event_name: str, **_: Any) -> None:
        self.operations.append(event_name.rsplit(".", 1)[-1])

    def _on_query(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items_queried += int(parsed.get("Count", 0))


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
        ops_before, wechat_before = len(self.meter.operations), len(self.wechat.calls)
        response: HTTPResponse = self.client.http.request(
            method, path, headers=headers, body=json.dumps(body).encode() if body is not None else b"")
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: expected {expect}, got {response.status_code}: "
                               f"{response.body!r}")
        return Measurement(self.meter.operations[ops_before:], self.wechat.calls[wechat_before:],
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


def run_routes(bench: Bench) -> None:
    """Measure every route of the brief, each on a cold and a warm call of its kind."""
    ann, bob = bench.measure("POST /v1/auth/login (visitor)", lambda: bench.login("ann.1"),
                             lambda: bench.login("bob.1"))
    visitor = {"ann": ann.body["token"], "bob": bob.body["token"]}
    for name in ("cat", "dan", "eve", "fay", "gus"):
        visitor[name] = bench.login(f"{name}.1").body["token"]

    ann_signup, _ = bench.measure("POST /v1/members", lambda: bench.signup(visitor["ann"], nickname="Ann"),
                                  lambda: bench.signup(visitor["bob"], nickname="Bob"))
    bench.measure("POST /v1/members (phone_code)",
                  lambda: bench.signup(visitor["cat"], phone_code="phone-13800000001"),
                  lambda: bench.signup(visitor["dan"], phone_code="phone-13800000002"))
    from chalicelib.wechat.miniprogram import wechat

    wechat.cache_clear()  # a new instance: the access token is only in the shared store
    eve = bench.signup(visitor["eve"], phone_code="phone-13800000003")
    bench.results["POST /v1/members (phone_code, new instance)"] = RouteResult(warm=eve, cold=eve)

    ann_login, bob_login = bench.measure("POST /v1/auth/login (member)", lambda: bench.login("ann.2"),
                                         lambda: bench.login("bob.2"))
    member = {"ann": ann_login.body["token"], "bob": bob_login.body["token"]}
    member_id = {"ann": ann_login.body["member"]["member_id"], "bob": bob_login.body["member"]["member_id"]}

    def get(path: str, name: str, tokens: dict[str, str]) -> Callable[[], Measurement]:
        return lambda: bench.call("GET", path, 200, token=tokens[name])

    bench.measure("GET /v1/members/me", get("/v1/members/me", "ann", member),
                  get("/v1/members/me", "bob", member))
    bench.measure("GET /v1/members/me (token minted before signup)", get("/v1/members/me", "ann", visitor),
                  get("/v1/members/me", "bob", visitor))

    bench.measure("POST /v1/admin/members/{id}/points", lambda: bench.adjust(member_id["ann"], "ann-1"),
                  lambda: bench.adjust(member_id["bob"], "bob-1"))
    bench.measure("POST /v1/admin/members/{id}/points (replay)", lambda: bench.adjust(member_id["ann"], "ann-1"),
                  lambda: bench.adjust(member_id["bob"], "bob-1"))
    for name in ("ann", "bob"):
        for n in range(2, 5):
            bench.adjust(member_id[name], f"{name}-{n}")

    first = bench.measure("GET /v1/points/ledger", get("/v1/points/ledger?limit=2", "ann", member),
                          get("/v1/points/ledger?limit=2", "bob", member))
    cursors = {"ann": first[0].body["next_cursor"], "bob": first[1].body["next_cursor"]}
    if not all(cursors.values()):
        raise RuntimeError("the first ledger page has no next_cursor")
    bench.measure("GET /v1/points/ledger (cursor page)",
                  get(f"/v1/points/ledger?limit=2&cursor={cursors['ann']}", "ann", member),
                  get(f"/v1/points/ledger?limit=2&cursor={cursors['bob']}", "bob", member))
    bench.measure("GET /v1/points/ledger (token minted before signup)",
                  get("/v1/points/ledger?limit=2", "ann", visitor), get("/v1/points/ledger?limit=2", "bob", visitor))

    bench.measure("PATCH /v1/members/me",
                  lambda: bench.call("PATCH", "/v1/members/me", 200, token=member["ann"], body={"nickname": "Ann B"}),
                  lambda: bench.call("PATCH", "/v1/members/me", 200, token=member["bob"], body={"nickname": "Bob B"}))
    bench.measure("GET /v1/admin/members/{id}",
                  lambda: bench.call("GET", f"/v1/admin/members/{member_id['ann']}", 200, admin=True),
                  lambda: bench.call("GET", f"/v1/admin/members/{member_id['bob']}", 200, admin=True))
    def admin_program() -> Measurement:
        return bench.call("GET", "/v1/admin/program", 200, admin=True)

    bench.measure("GET /v1/admin/program", admin_program, admin_program)

    for name in ("fay", "gus"):  # invited by Ann
        member_id[name] = bench.signup(visitor[name], nickname=name.title(),
                                       referral_code=ann_signup.body["referral_code"]).body["member_id"]
    run_merchant_routes(bench, member_id)
    run_engagement_routes(bench, member, member_id)


def run_engagement_routes(bench: Bench, token: dict[str, str], member_id: dict[str, str]) -> None:
    """Measure check-in, the coupon center and wallet, claims, coupons on orders and the mall."""
    def as_member(method: str, path: str, expect: int, name: str, body: dict[str, Any] | None = None
                  ) -> Callable[[], Measurement]:
        return lambda: bench.call(method, path, expect, token=token[name], body=body)

    bench.measure("GET /v1/coupons (empty wallet)", as_member("GET", "/v1/coupons", 200, "ann"),
                  as_member("GET", "/v1/coupons", 200, "bob"))
    bench.measure("POST /v1/checkins", as_member("POST", "/v1/checkins", 201, "ann", {}),
                  as_member("POST", "/v1/checkins", 201, "bob", {}))
    bench.measure("GET /v1/checkins", as_member("GET", "/v1/checkins", 200, "ann"),
                  as_member("GET", "/v1/checkins", 200, "bob"))
    template = bench.call("POST", "/v1/admin/coupon-templates", 201, admin=True, body={
        "name": "满100减20", "kind": "amount_off", "amount_off_fen": 2000, "min_spend_fen": 10_000,
        "validity": {"type": "relative", "days": 30}, "claimable": True, "total_stock": 1000,
        "per_member_limit": 5}).body["template_id"]
    claim = f"/v1/coupon-center/{template}/claim"
    claims = bench.measure("POST /v1/coupon-center/{template_id}/claim",
                           as_member("POST", claim, 201, "ann", {"request_id": "claim-ann"}),
                           as_member("POST", claim, 201, "bob", {"request_id": "claim-bob"}))
    coupon = {"ann": claims[0].body["coupon_id"], "bob": claims[1].body["coupon_id"]}

    def visitor_center() -> Measurement:
        return bench.call("GET", "/v1/coupon-center", 200)

    bench.measure("GET /v1/coupon-center (visitor)", visitor_center, visitor_center)
    bench.measure("GET /v1/coupon-center (member)", as_member("GET", "/v1/coupon-center", 200, "ann"),
                  as_member("GET", "/v1/coupon-center", 200, "bob"))
    bench.call("POST", "/v1/admin/coupon-templates", 201, admin=True, body={
        "name": "金卡专享", "kind": "gift", "validity": {"type": "relative", "days": 30}, "claimable": True,
        "tiers": ["gold", "black"]})
    bench.measure("GET /v1/coupon-center (member, tier-restricted templates)",
                  as_member("GET", "/v1/coupon-center", 200, "ann"), as_member("GET", "/v1/coupon-center", 200, "bob"))
    bench.measure("GET /v1/coupons", as_member("GET", "/v1/coupons?status=unused", 200, "ann"),
                  as_member("GET", "/v1/coupons?status=unused", 200, "bob"))
    bench.measure("GET /v1/coupons/usable", as_member("GET", "/v1/coupons/usable?subtotal_fen=20000", 200, "ann"),
                  as_member("GET", "/v1/coupons/usable?subtotal_fen=20000", 200, "bob"))

    def order_with_coupon(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", "/v1/admin/orders", 201, admin=True, body={
            "order_id": f"coupon-order-{name}", "member_id": member_id[name], "amount_fen": 18_000,
            "subtotal_fen": 20_000, "coupon_id": coupon[name]})

    bench.measure("POST /v1/admin/orders (with a coupon)", order_with_coupon("ann"), order_with_coupon("bob"))
    reward = bench.call("POST", "/v1/admin/rewards", 201, admin=True, body={
        "name": "帆布袋", "points_cost": 50, "kind": "gift", "stock": 100}).body["reward_id"]
    redeem = f"/v1/rewards/{reward}/redeem"
    bench.measure("POST /v1/rewards/{reward_id}/redeem",
                  as_member("POST", redeem, 201, "ann", {"request_id": "redeem-ann"}),
                  as_member("POST", redeem, 201, "bob", {"request_id": "redeem-bob"}))
    bench.measure("GET /v1/rewards", as_member("GET", "/v1/rewards", 200, "ann"),
                  as_member("GET", "/v1/rewards", 200, "bob"))


def run_merchant_routes(bench: Bench, member_id: dict[str, str]) -> None:
    """Measure orders, refunds and interaction events (Ann and Bob; Fay and Gus were invited by Ann)."""
    def order(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", "/v1/admin/orders", 201, admin=True, body={
            "order_id": f"order-{name}", "member_id": member_id[name], "amount_fen": 12_800})

    def refund(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", f"/v1/admin/orders/order-{name}/refunds", 201, admin=True,
                                  body={"refund_id": f"refund-{name}", "amount_fen": 3_200})

    def event(name: str) -> Callable[[], Measurement]:
        return lambda: bench.call("POST", f"/v1/admin/members/{member_id[name]}/events", 201, admin=True,
                                  body={"request_id": f"review-{name}", "type": "review"})

    bench.measure("POST /v1/admin/orders", order("ann"), order("bob"))
    bench.measure("POST /v1/admin/orders (replay)", order("ann"), order("bob"))
    bench.measure("POST /v1/admin/orders (invitee's first order)", order("fay"), order("gus"))
    bench.measure("POST /v1/admin/orders/{order_id}/refunds", refund("ann"), refund("bob"))
    bench.measure("POST /v1/admin/members/{id}/events", event("ann"), event("bob"))


def sealed_push(openid: str, template_id: str) -> tuple[str, str]:
    """(query string, body) of an encrypted XML `subscribe_msg_popup_event` push accepting
    `template_id` for `openid`, signed and encrypted as WeChat does with the bench's settings."""
    from wechatpy.crypto import PrpCrypto

    created = str(int(time.time()))
    message = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
               f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               f"<Event><![CDATA[{PUSH_EVENT}]]></Event><SubscribeMsgPopupEvent><List>"
               f"<TemplateId><![CDATA[{template_id}]]></TemplateId>"
               f"<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"
               f"<PopupScene><![CDATA[0]]></PopupScene></List></SubscribeMsgPopupEvent></xml>")
    key = base64.b64decode(BENCH_ENV["WECHAT_ENCODING_AES_KEY"] + "=")
    encrypt = PrpCrypto(key).encrypt(message, BENCH_ENV["WECHAT_APPID"]).decode()
    nonce = secrets.token_hex(4)

    def sign(*parts: str) -> str:
        return hashlib.sha1("".join(sorted((BENCH_ENV["WECHAT_TOKEN"], created, nonce, *parts))).encode()).hexdigest()

    query = {"signature": sign(), "timestamp": created, "nonce": nonce, "openid": openid,
             "encrypt_type": "aes", "msg_signature": sign(encrypt)}
    body = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return urlencode(query), body


def measure_wechat(bench: Bench) -> dict[str, Any]:
    """Time `WECHAT_PUSHES` pushes through the route (each grants one send to a new openid), then
    send each openid one notice through the notifier against the fake WeChat."""
    from chalicelib import clock
    from chalicelib.services import notify

    openids = ["o" + hashlib.sha256(f"bench-push-{i}".encode()).hexdigest()[:27] for i in range(WECHAT_PUSHES)]
    latencies_ms: list[float] = []
    push_ops: list[str] = []
    for openid in openids:
        query, body = sealed_push(openid, NOTICE_TEMPLATE)
        ops_before = len(bench.meter.operations)
        started = time.perf_counter()
        response = bench.client.http.post(f"/v1/wechat/push?{query}", headers={"Content-Type": "text/xml"},
                                          body=body)
        latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or response.body != b"success":
            raise RuntimeError(f"push: got {response.status_code}: {response.body!r}")
        push_ops += bench.meter.operations[ops_before:]

    now = clock.now()
    ops_before, wechat_before = len(bench.meter.operations), len(bench.wechat.calls)
    started = time.perf_counter()
    values = {"thing1": "会员日福利已到账"}
    outcomes = Counter(notify.send_notice(f"m-bench-{i}", openid, NOTICE_TEMPLATE, values, job="bench",
                                          business_date=clock.business_date(now), now=now)
                       for i, openid in enumerate(openids))
    send_s = time.perf_counter() - started
    if outcomes[notify.SENT] != len(openids):
        raise RuntimeError(f"send_notice: {dict(outcomes)}")
    send_ops = bench.meter.operations[ops_before:]
    wechat_calls = bench.wechat.calls[wechat_before:]
    percentiles = statistics.quantiles(latencies_ms, n=100)
    return {
        "push": {
            "pushes": len(openids),
            "event": f"{PUSH_EVENT} (encrypted XML, one template accepted)",
            "p50_ms": round(statistics.median(latencies_ms), 2),
            "p95_ms": round(percentiles[94], 2),
            "max_ms": round(max(latencies_ms), 2),
            "round_trips_per_push": round(len(push_ops) / len(openids), 2),
            "calls": dict(Counter(push_ops)),
        },
        "notify": {
            "sends": len(openids),
            "outcomes": dict(outcomes),
            "wall_s": round(send_s, 2),
            "sends_per_s": round(len(openids) / send_s, 1),
            "dynamodb_calls_per_send": round(len(send_ops) / len(openids), 2),
            "calls": dict(Counter(send_ops)),
            "wechat_calls_per_send": round(len(wechat_calls) / len(openids), 2),
            "wechat_calls": dict(Counter(wechat_calls)),
        },
    }


@contextmanager
def local_stack() -> Iterator[tuple[DynamoMeter, CountingWeChat]]:
    """The bench environment, an embedded DynamoDB and a counting fake WeChat, tables created and
    the program seeded; stopped on exit."""
    for name in UNSET_ENV:
        os.environ.pop(name, None)
    os.environ.update(BENCH_ENV)
    meter = DynamoMeter()
    meter.install()
    store = EmbeddedDynamoDB()
    wechat = CountingWeChat(BENCH_ENV["WECHAT_APPID"], BENCH_ENV["WECHAT_SECRET"])
    try:
        os.environ["DYNAMODB_ENDPOINT_URL"] = store.start()
        os.environ["WECHAT_API_BASE_URL"] = wechat.start()
        from chalicelib.services.program import seed_default_program
        from chalicelib.store.schema import create_missing_tables

        create_missing_tables()
        seed_default_program()
        if not meter.operations:
            raise RuntimeError("the DynamoDB meter saw no request: its hook into pynamodb is broken")
        yield meter, wechat
    finally:
        wechat.stop()
        store.stop()


def measure_local(reset_members: int | None
                  ) -> tuple[dict[str, RouteResult], dict[str, Any], dict[str, Any] | None]:
    """Round trips per route, the WeChat pushes and sends, then (unless `reset_members` is None)
    the yearly reset over that many members holding points, on one local stack. The app's JSON
    log lines are written (their cost is measured) to /dev/null instead of stdout."""
    with local_stack() as (meter, wechat), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        from app import app

        bench = Bench(Client(app, stage_name="local", project_dir=str(REPO_ROOT)), meter, wechat)
        run_routes(bench)
        measured_wechat = measure_wechat(bench)
        reset = None if reset_members is None else measure_reset(bench, reset_members)
        return bench.results, measured_wechat, reset


@contextmanager
def moto_at_scale() -> Iterator[None]:
    """Take out two costs of moto that grow with the size of a table, not with the request (the
    embedded store already rolls transactions back per item: `chalicelib.local.moto_transactions`).

    1. A table's truth value is its item count: moto defines the Python 2 `__nonzero__`, not
       `__bool__`, so `__len__` walks every item, and `get_table` tests it on every request.
       Here a table is always true.
    2. Every Query first sorts the whole table with `DynamoType` comparisons, each of which casts
       both values again. Here the table is sorted by the same values, each cast once.

    Requests, answers and the order of results are unchanged, and so are the round trips counted.
    """
    from moto.dynamodb.models.table import Table

    all_items = Table.all_items

    def sorted_items(self: Table) -> list[Any]:
        items = [item for bucket in self.items.values()
                 for item in (bucket.values() if self.range_key_attr else (bucket,))]
        return sorted(items, key=lambda x: (x.hash_key.cast_value, x.range_key.cast_value) if x.range_key
                      else x.hash_key.cast_value)

    Table.all_items = sorted_items  # type: ignore[method-assign]
    Table.__bool__ = lambda self: True  # type: ignore[attr-defined]
    try:
        yield
    finally:
        Table.all_items = all_items  # type: ignore[method-assign]
        del Table.__bool__  # type: ignore[attr-defined]


def bulk_members(count: int, prefix: str, *, with_points: bool) -> Iterator[dict[str, Any]]:
    """Member items exactly as signup writes them (the app's own mapping), holding one lot of
    RESET_LOT_POINTS earned in RESET_LOT_YEAR, or nothing (then without the sparse expiry keys)."""
    from chalicelib.domain.member import Member
    from chalicelib.domain.points import Points
    from chalicelib.domain.program import default_program
    from chalicelib.store.mapping import new_member_record

    base_tier = default_program()["tiers"][0]["code"]
    joined_at = datetime(RESET_LOT_YEAR, 3, 1, tzinfo=timezone.utc)
    points = Points({RESET_LOT_YEAR: RESET_LOT_POINTS}) if with_points else Points()
    for i in range(count):
        member = Member(f"{prefix}{i:07d}", f"{prefix}-openid-{i}", joined_at, points=points)
        yield new_member_record(member, base_tier).serialize()


def write_items(client: Any, table: str, items: Iterator[dict[str, Any]]) -> None:
    """BatchWriteItem, 25 items a request, each batch until nothing is left unprocessed."""
    while batch := [{"PutRequest": {"Item": item}} for item in itertools.islice(items, 25)]:
        pending: dict[str, Any] = {table: batch}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def expirable_members(client: Any, table: str, up_to_year: int) -> dict[str, str]:
    """member_id -> expiry shard of every member whose oldest points are from `up_to_year` or before."""
    found: dict[str, str] = {}
    pages = client.get_paginator("scan").paginate(
        TableName=table, ConsistentRead=True, ProjectionExpression="member_id, expiry_shard",
        FilterExpression="expiry_year <= :year", ExpressionAttributeValues={":year": {"N": str(up_to_year)}})
    for page in pages:
        found.update((item["member_id"]["S"], item["expiry_shard"]["S"]) for item in page["Items"])
    return found


def ledger_mismatches(client: Any, member_ids: list[str], opening: dict[str, int]) -> list[str]:
    """Members whose ledger does not add up after the reset: the sum of their ledger deltas plus
    the points they were loaded with unledgered must equal their balance, which must be 0, with
    exactly one `expire` entry and no expiry keys left."""
    from chalicelib.store.schema import LedgerRecord, MemberRecord

    wrong = []
    for member_id in member_ids:
        key = {"member_id": {"S": member_id}}
        item = client.get_item(TableName=MemberRecord.Meta.table_name, Key=key, ConsistentRead=True)["Item"]
        balance = sum(int(v["N"]) for v in item.get("lots", {}).get("M", {}).values()) - int(item["debt"]["N"])
        entries = [entry for page in client.get_paginator("query").paginate(
            TableName=LedgerRecord.Meta.table_name, ConsistentRead=True,
            KeyConditionExpression="member_id = :m", ExpressionAttributeValues={":m": key["member_id"]})
            for entry in page["Items"]]
        deltas = sum(int(entry["delta"]["N"]) for entry in entries)
        expires = sum(entry["reason"]["S"] == "expire" for entry in entries)
        if deltas + opening.get(member_id, 0) != balance or balance != 0 or expires != 1 or "expiry_shard" in item:
            wrong.append(member_id)
    return wrong


def measure_reset(bench: Bench, members: int) -> dict[str, Any]:
    """Load `members` members holding points (and a quarter as many without) straight into the
    store, move the clock to the reset instant, run the job twice through the admin route and
    check a sample of ledgers."""
    from chalicelib.clock import parse_instant
    from chalicelib.domain.points import last_expired_year
    from chalicelib.domain.program import default_program
    from chalicelib.jobs.points_reset import PAGE_SIZE
    from chalicelib.store.mapping import SHARDS
    from chalicelib.store.schema import MemberRecord

    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    table = MemberRecord.Meta.table_name
    idle = members // IDLE_MEMBERS_PER
    calls_before = len(bench.meter.operations)
    with moto_at_scale():
        started = time.perf_counter()
        write_items(client, table, bulk_members(members, "mreset", with_points=True))
        write_items(client, table, bulk_members(idle, "midle", with_points=False))
        load_s = time.perf_counter() - started
        if len(bench.meter.operations) != calls_before:
            raise RuntimeError("the bulk load went through pynamodb's metered sessions")
        keep_years = default_program()["points_expiry"]["keep_years"]
        holders = expirable_members(client, table, last_expired_year(parse_instant(RESET_AT), keep_years))
        bench.call("PUT", "/v1/admin/clock", 200, admin=True, body={"now": RESET_AT})
        runs = []
        for _ in range(2):
            queried = bench.meter.items_queried
            started = time.perf_counter()
            run = bench.call("POST", f"/v1/admin/jobs/{RESET_JOB}/run", 200, admin=True, body={})
            runs.append((run, time.perf_counter() - started, bench.meter.items_queried - queried))
        bench.call("DELETE", "/v1/admin/clock", 204, admin=True)

    (first, wall_s, members_read), (second, second_s, _) = runs
    expired = first.body["members_expired"]
    calls = Counter(first.operations)
    per_shard = Counter(holders.values())
    expected_pages = sum(per_shard[f"{shard:02d}"] // PAGE_SIZE + 1 for shard in range(SHARDS))
    loaded = sorted(m for m in holders if m.startswith("mreset"))
    sample = random.Random(0).sample(loaded, min(LEDGER_SAMPLE, len(loaded))) + \
        sorted(m for m in holders if not m.startswith("mreset"))
    mismatches = ledger_mismatches(client, sample, {m: RESET_LOT_POINTS for m in loaded})
    per_member_s = wall_s / expired if expired else None
    return {
        "job": RESET_JOB,
        "as_of": RESET_AT,
        "members_loaded_with_points": members,
        "members_loaded_without_points": idle,
        "members_with_points_from_routes": len(holders) - members,
        "load_s": round(load_s, 1),
        "members_expired": expired,
        "expected_members_expired": len(holders),
        "points_expired": first.body["points_expired"],
        "wall_s": round(wall_s, 1),
        "members_per_s": round(expired / wall_s, 1),
        "calls": dict(calls),
        "calls_total": len(first.operations),
        "calls_per_expired_member": round(len(first.operations) / expired, 3) if expired else None,
        "transactions_per_expired_member": round(calls["TransactWriteItems"] / expired, 3) if expired else None,
        "query_pages": calls["Query"],
        "expected_query_pages": expected_pages,
        "program_reads": calls["GetItem"],
        "members_read": members_read,
        "members_without_points_read": members_read - len(holders),
        "calls_for_members_without_points": len(first.operations) - (SHARDS + expected_pages + len(holders)),
        "second_run": {
            "members_expired": second.body["members_expired"],
            "points_expired": second.body["points_expired"],
            "calls": dict(Counter(second.operations)),
            "calls_total": len(second.operations),
            "wall_s": round(second_s, 2),
        },
        "ledger_check": {"members_sampled": len(sample), "mismatches": mismatches[:20],
                         "mismatch_count": len(mismatches)},
        "extrapolation": {
            "members": EXTRAPOLATE_MEMBERS,
            "parallel_segments": SHARDS,
            "wall_s": round(per_member_s * EXTRAPOLATE_MEMBERS / SHARDS) if per_member_s else None,
            "assumption": (
                f"wall time per expired member measured here ({per_member_s * 1000:.2f} ms, Query pages "
                f"and program reads included) x {EXTRAPOLATE_MEMBERS:,} / {SHARDS} shards run in parallel. "
                "Locally the 16 segments run one after another in one process against moto; deployed "
                "each page is its own Lambda invocation chained through SQS (queue and invocation "
                "latency per page, not measured), and DynamoDB's latency (network round trip, "
                "transaction coordination) differs from moto's in-process emulation."
            ) if per_member_s else None,
        },
    }


IMPORT_LINE = re.compile(r"^import time:\s*(\d+) \|\s*(\d+) \| ( *)(\S.*)$")


@dataclass(frozen=True)
class ImportRow:
    """One module of an `-X importtime` profile, and the module whose import pulled it in."""

    module: str
    self_us: int
    cumulative_us: int
    importer: str | None

    def as_json(self) -> dict[str, Any]:
        """The row in results.json, in milliseconds."""
        return {"module": self.module, "self_ms": round(self.self_us / 1000, 1),
                "cumulative_ms": round(self.cumulative_us / 1000, 1), "imported_by": self.importer}


def import_profile() -> list[ImportRow]:
    """One fresh `python -X importtime -c "import app"`, one row per imported module."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=REPO_ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import app failed:\n{done.stderr[-2000:]}")
    parsed = [(m[4], int(m[1]), int(m[2]), len(m[3]) // 2)
              for m in map(IMPORT_LINE.match, done.stderr.splitlines()) if m]
    rows = []
    # The profile lists a module's imports before the module itself, one level deeper.
    for i, (module, own, cumulative, depth) in enumerate(parsed):
        importer = next((name for name, _, _, d in parsed[i + 1:] if d < depth), None)
        rows.append(ImportRow(module, own, cumulative, importer))
    return rows


def _first_party(module: str | None) -> bool:
    return module is not None and (module == "app" or module.split(".")[0] == "chalicelib")


def measure_import() -> dict[str, Any]:
    """Median cumulative time of the top-level `app` import; of the last run, the modules with the
    most time of their own and the third-party imports of the app's own modules that cost most."""
    runs_ms: list[float] = []
    rows: list[ImportRow] = []
    for _ in range(IMPORT_RUNS):
        rows = import_profile()
        app_rows = [row for row in rows if row.module == "app" and row.importer is None]
        if len(app_rows) != 1:
            raise RuntimeError("no top-level `app` line in the -X importtime output")
        runs_ms.append(app_rows[0].cumulative_us / 1000)
    by_self = sorted(rows, key=lambda row: row.self_us, reverse=True)
    dependencies = sorted((row for row in rows if _first_party(row.importer) and not _first_party(row.module)),
                          key=lambda row: row.cumulative_us, reverse=True)
    return {
        "import_ms": round(statistics.median(runs_ms), 1),
        "import_runs_ms": [round(ms, 1) for ms in runs_ms],
        "import_heaviest_modules": [row.as_json() for row in by_self[:TOP_MODULES]],
        "import_heaviest_dependencies": [row.as_json() for row in dependencies[:TOP_MODULES]],
    }


def markdown(results: dict[str, Any]) -> str:
    """The README tables: route | DynamoDB round trips | target with numbered notes, the import
    time, then the yearly reset when it ran."""
    lines = ["| route | DynamoDB round trips | target |", "| --- | --- | --- |"]
    notes: list[str] = []
    for route, entry in results["routes"].items():
        method, _, rest = route.partition(" ")
        path, _, variant = rest.partition(" ")
        trips = str(entry["round_trips"])
        if entry["cold_round_trips"] != entry["round_trips"]:
            trips += f" (first call: {entry['cold_round_trips']})"
        target = entry["target_max"]
        goal = "–" if target is None else ("1" if target == 1 else f"≤ {target}")
        if entry["meets_target"] is False:
            goal += " (missed)"
        label = f"`{method} {path}` {variant}".rstrip()
        if entry["note"]:
            notes.append(entry["note"])
            label += f" [{len(notes)}]"
        lines.append(f"| {label} | {trips} | {goal} |")
    lines += ["", *(f"[{i}] {note}" for i, note in enumerate(notes, 1))]
    verdict = "" if results["import_ms"] < IMPORT_TARGET_MS else " (missed)"
    lines += ["", f"`import app`: {results['import_ms']:g} ms (median of {IMPORT_RUNS} fresh "
                  f"`python -X importtime` runs; target < {IMPORT_TARGET_MS} ms{verdict})."]
    lines += ["", wechat_markdown(results["wechat"])]
    if results["reset"]:
        lines += ["", reset_markdown(results["reset"])]
    return "\n".join(lines)


def wechat_markdown(measured: dict[str, Any]) -> str:
    """The push latency and notifier throughput table."""
    def calls(counts: dict[str, int]) -> str:
        return ", ".join(f"{op} {n:,}" for op, n in sorted(counts.items(), key=lambda kv: -kv[1]))

    push, sends = measured["push"], measured["notify"]
    return "\n".join([
        "| WeChat, in-process (fake WeChat) | |", "| --- | --- |",
        f"| `POST /v1/wechat/push`: {push['pushes']} {push['event']} | p50 {push['p50_ms']:g} ms, "
        f"p95 {push['p95_ms']:g} ms; {push['round_trips_per_push']:g} DynamoDB round trips a push "
        f"({calls(push['calls'])}) |",
        f"| `notify.send_notice`: {sends['sends']} sends granted by those pushes | "
        f"{sends['sends_per_s']:g} sends/s; {sends['dynamodb_calls_per_send']:g} DynamoDB calls a send "
        f"({calls(sends['calls'])}); {sends['wechat_calls_per_send']:g} WeChat calls a send |",
    ])


def reset_markdown(reset: dict[str, Any]) -> str:
    """The reset table and the assumption behind its extrapolation."""
    def calls(counts: dict[str, int]) -> str:
        return ", ".join(f"{op} {n:,}" for op, n in sorted(counts.items(), key=lambda kv: -kv[1]))

    second, check, scale = reset["second_run"], reset["ledger_check"], reset["extrapolation"]
    routes = reset["members_with_points_from_routes"]
    rows = [
        ("members loaded holding points / without points",
         f"{reset['members_loaded_with_points']:,} (+{routes} from the route bench) / "
         f"{reset['members_loaded_without_points']:,}"),
        ("members expired / points expired", f"{reset['members_expired']:,} (expected "
         f"{reset['expected_members_expired']:,}) / {reset['points_expired']:,}"),
        ("wall time (16 shard segments inline, one after another)",
         f"{reset['wall_s']:g} s ({reset['members_per_s']:g} members/s)"),
        ("DynamoDB calls", f"{reset['calls_total']:,}: {calls(reset['calls'])}"),
        ("calls per expired member", f"{reset['calls_per_expired_member']} (TransactWriteItems: "
         f"{reset['transactions_per_expired_member']})"),
        ("Query pages (100 members a page; one program GetItem per shard)",
         f"{reset['query_pages']} (expected {reset['expected_query_pages']})"),
        ("members without points read / calls for them",
         f"{reset['members_without_points_read']} / {reset['calls_for_members_without_points']}"),
        ("second run (idempotency)", f"{second['members_expired']} members expired; "
         f"{second['calls_total']} calls ({calls(second['calls'])}) in {second['wall_s']:g} s"),
        ("ledger check after both runs", f"{check['members_sampled']} members sampled, "
         f"{check['mismatch_count']} mismatches"),
        (f"{scale['members']:,} members, {scale['parallel_segments']} parallel segments (extrapolated)",
         "–" if scale["wall_s"] is None else f"≈ {scale['wall_s'] / 60:.1f} min"),
    ]
    lines = [f"| `{reset['job']}` as of {reset['as_of']} | |", "| --- | --- |",
             *(f"| {name} | {value} |" for name, value in rows)]
    if scale["assumption"]:
        lines += ["", f"Extrapolation: {scale['assumption']}"]
    lines += ["", f"Members loaded straight into the embedded store in {reset['load_s']:g} s (BatchWriteItem, "
                  "not metered); the bench takes out two costs of moto that grow with table size "
                  "(`moto_at_scale` in bench/run.py)."]
    return "\n".join(lines)


def main() -> int:
    """Run the bench, write results.json, print the tables."""
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--reset-members", type=int, default=RESET_MEMBERS, metavar="N",
                        help=f"members holding points for the reset bench (default {RESET_MEMBERS:,})")
    parser.add_argument("--skip-reset", action="store_true", help="measure the routes and the import only")
    args = parser.parse_args()
    if args.reset_members < 1:
        parser.error("--reset-members must be at least 1")
    routes, measured_wechat, reset = measure_local(None if args.skip_reset else args.reset_members)
    results: dict[str, Any] = {
        "routes": {route: result.as_json(TARGETS.get(route), NOTES.get(route)) for route, result in routes.items()},
        "wechat": measured_wechat,
        **measure_import(),
        "reset": reset,
        "targets": {**TARGETS, "import_ms": IMPORT_TARGET_MS},
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    RESULTS_PATH.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown(results))
    for key, label, metric in (("import_heaviest_modules", "Heaviest modules (own time)", "self_ms"),
                               ("import_heaviest_dependencies", "Heaviest dependencies (cumulative)",
                                "cumulative_ms")):
        print(f"{label}: " + ", ".join(f"{m['module']} {m[metric]:g} ms" for m in results[key]))
    print(f"Wrote {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
