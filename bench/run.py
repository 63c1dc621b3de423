"""`make bench`: DynamoDB round trips per route and the import time of the app.

1. Starts the embedded DynamoDB and a fake WeChat in this process, creates the tables, seeds the
   default program and drives the app in-process with `chalice.test.Client`. Every DynamoDB HTTP
   request botocore sends (each attempt, retries included) is counted by a `before-send.dynamodb`
   handler registered on the botocore sessions pynamodb creates; WeChat calls are counted by the
   fake. Each route is measured on its second call of the same kind (warm); its first call is
   reported as `cold_round_trips`.
2. Times `python -X importtime -c "import app"` in fresh subprocesses (median of 5).
3. Writes `bench/results.json` and prints a Markdown table for the README.

A missed target is reported, never an error: the exit code is non-zero only when the bench
itself cannot run.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from chalice.test import Client, HTTPResponse  # noqa: E402

from chalicelib.local.dynamodb import EmbeddedDynamoDB  # noqa: E402
from chalicelib.local.fake_wechat import FakeWeChat, Reply  # noqa: E402

RESULTS_PATH = REPO_ROOT / "bench" / "results.json"
ADMIN_KEY = "bench-admin-key"
IMPORT_RUNS = 5
IMPORT_TARGET_MS = 250
TOP_MODULES = 5

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
}


class DynamoMeter:
    """Records the operation of every DynamoDB HTTP request sent by pynamodb's botocore clients."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def install(self) -> None:
        """Hook every botocore session pynamodb creates from now on (before any client exists):
        a client copies its session's handlers, and `before-send` fires once per attempt."""
        from pynamodb.connection import base

        make_session = base.get_session

        def get_session() -> Any:
            session = make_session()
            session.register("before-send.dynamodb", self._on_send)
            return session

        base.get_session = get_session

    def _on_send(self, event_name: str, **_: Any) -> None:
        self.operations.append(event_name.rsplit(".", 1)[-1])


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

    def as_json(self, target: int | None) -> dict[str, Any]:
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
    for name in ("cat", "dan", "eve"):
        visitor[name] = bench.login(f"{name}.1").body["token"]

    bench.measure("POST /v1/members", lambda: bench.signup(visitor["ann"], nickname="Ann"),
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


def measure_routes() -> dict[str, RouteResult]:
    """Round trips per route, on the local stack."""
    with local_stack() as (meter, wechat):
        from app import app

        bench = Bench(Client(app, stage_name="local", project_dir=str(REPO_ROOT)), meter, wechat)
        run_routes(bench)
        return bench.results


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
    """The README table: route | DynamoDB round trips | target, then the import time."""
    lines = ["| route | DynamoDB round trips | target |", "| --- | --- | --- |"]
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
        lines.append(f"| {label} | {trips} | {goal} |")
    verdict = "" if results["import_ms"] < IMPORT_TARGET_MS else " (missed)"
    lines += ["", f"`import app`: {results['import_ms']:g} ms (median of {IMPORT_RUNS} fresh "
                  f"`python -X importtime` runs; target < {IMPORT_TARGET_MS} ms{verdict})."]
    return "\n".join(lines)


def main() -> int:
    """Run the bench, write results.json, print the table."""
    routes = measure_routes()
    results: dict[str, Any] = {
        "routes": {route: result.as_json(TARGETS.get(route)) for route, result in routes.items()},
        **measure_import(),
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
