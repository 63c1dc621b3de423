"""The test session's local stack: one embedded DynamoDB and one fake WeChat for every test (under
pytest-xdist, one per worker, each with its own table prefix; `make test` keeps a module on one worker).

`pytest_configure` sets the environment before any test module imports `chalicelib.store` (its
pynamodb models read the table prefix and endpoint at import), then creates the tables and seeds
the default program. Tests share the tables: each one uses its own WeChat users (login codes
`<unique name>.<n>`, see `devstack.fake_wechat`) instead of clearing them.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import sys
from collections import Counter
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from chalice.test import Client
from servers import ADMIN_KEY, REPO_ROOT, TEST_ENV, LiveServers

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from devstack.dynamodb import EmbeddedDynamoDB  # noqa: E402
from devstack.fake_wechat import FakeWeChat  # noqa: E402

_stack: dict[str, EmbeddedDynamoDB | FakeWeChat] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Set the test environment, start the session's store and fake WeChat, create and seed tables
    (in each pytest-xdist worker, not in the controller that only hands tests out)."""
    config.addinivalue_line("markers", "alone: no other pytest-xdist worker runs a test meanwhile "
                                       "(a test whose time budget holds only with the machine's CPU to itself)")
    if _distributes(config):
        return
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        os.environ.pop(name, None)
    os.environ.update(TEST_ENV)
    store = EmbeddedDynamoDB()
    _stack["store"] = store
    os.environ["DYNAMODB_ENDPOINT_URL"] = store.start()
    wechat = FakeWeChat(TEST_ENV["WECHAT_APPID"], TEST_ENV["WECHAT_SECRET"])
    _stack["wechat"] = wechat
    os.environ["WECHAT_API_BASE_URL"] = wechat.start()

    from devstack.runner import prepare_store

    prepare_store()


def _distributes(config: pytest.Config) -> bool:
    """True in pytest-xdist's controller when it hands the tests to workers: it runs and imports none."""
    return (not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no"
            and not config.getoption("collectonly"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test a node id of its own: pytest-xdist hands tests out by node id, and of tests
    sharing one it would run one and silently drop the others. schemathesis (4.32, on pytest 9.2)
    names each API operation's test `test[GET /path]` but leaves all of them the node id `test`:
    the operation goes back into the id, as on pytest 8."""
    for item in items:
        if isinstance(item, pytest.Function) and not item.nodeid.endswith("]") \
                and item.name.startswith(item.originalname + "[") and item.name.endswith("]"):
            item._id = item._id.with_params(item.name[len(item.originalname) + 1:-1])
    doubled = sorted(nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1)
    if doubled:
        raise pytest.UsageError(f"tests sharing a node id (pytest-xdist would run only one of each): {doubled}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's servers."""
    for server in reversed(list(_stack.values())):
        server.stop()
    _stack.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Under pytest-xdist, a test marked `alone` runs while no other worker runs one: every test
    holds a shared lock on a file of the clone's test output, an `alone` one holds it exclusively,
    from its set-up to its teardown (module fixtures that start servers included). A gate taken
    around each acquisition keeps it fair: a waiting `alone` test holds the gate, so the other
    workers start nothing new until it has had its turn."""
    if not hasattr(item.config, "workerinput"):
        return (yield)
    shared = REPO_ROOT / "test-output" / "cpu-turn"
    shared.parent.mkdir(exist_ok=True)
    mode = fcntl.LOCK_EX if item.get_closest_marker("alone") else fcntl.LOCK_SH
    with (shared.with_suffix(".gate")).open("a") as gate, (shared.with_suffix(".lock")).open("a") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(lock, mode)
        fcntl.flock(gate, fcntl.LOCK_UN)
        return (yield)  # the lock is released when the file closes


@pytest.fixture(scope="session")
def store_url() -> str:
    """The session's DynamoDB endpoint URL."""
    return os.environ["DYNAMODB_ENDPOINT_URL"]


@pytest.fixture(scope="session")
def wechat_url() -> str:
    """The session's fake WeChat base URL."""
    return os.environ["WECHAT_API_BASE_URL"]


@pytest.fixture(scope="session")
def fake_wechat() -> FakeWeChat:
    """The session's FakeWeChat (sent messages, fault injection, openids of test users)."""
    wechat = _stack["wechat"]
    assert isinstance(wechat, FakeWeChat)
    return wechat


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    """Headers that authenticate as the merchant."""
    return {"X-Admin-Key": ADMIN_KEY}


@pytest.fixture
def client() -> Iterator[Client]:
    """An in-process `chalice.test.Client` on the app, in the `local` stage."""
    from app import app

    with Client(app, stage_name="local", project_dir=str(REPO_ROOT)) as test_client:
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServers]:
    """A factory: `live_server(**env_overrides) -> base_url`; its servers are killed at teardown."""
    servers = LiveServers(tmp_path)
    yield servers
    servers.stop()


@pytest.fixture(scope="module")
def two_instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two servers for a whole module (tests that only need two instances, without a test clock)."""
    servers = LiveServers(tmp_path_factory.mktemp("instances"))
    try:
        yield [servers(), servers()]
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def own_instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two servers for a whole module on tables of their own (a fresh table prefix), taking plaintext
    pushes (no EncodingAESKey): what their jobs count is only what the module did. Their base URLs."""
    servers = LiveServers(tmp_path_factory.mktemp("own"))
    env = {"TABLE_PREFIX": f"own-{secrets.token_hex(3)}-", "WECHAT_ENCODING_AES_KEY": ""}
    try:
        with ThreadPoolExecutor(2) as pool:  # both start (and create the tables) at once
            bases = list(pool.map(lambda _: servers(**env), range(2)))
        yield bases
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def attack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `python -m devstack` server (as `make run` starts it) for the attacker's tests (the OpenAPI
    document, the fuzzer, the attack table), on tables of its own: what they create, the program they
    put back and the test clock they touch stay away from every other test. Its base URL."""
    servers = LiveServers(tmp_path_factory.mktemp("attack"))
    try:
        yield servers(TABLE_PREFIX=f"atk-{secrets.token_hex(3)}-")
    finally:
        servers.stop()
