"""The browser tests' stack: one `python -m devstack` server (what `make run` runs) on tables of its
own, with the console it serves and its default CORS origins, the data of `console_data`, and one
headless Chromium (started while the server starts) for every test. Screenshots and the server's
log go to `test-output/browser/`.

The stack is not booted in the background during the other tests: the server's start and its data
go through the session's embedded store, which lives in the pytest process, so they would slow the
other tests (and starve under CPU-bound ones past the 30 s start limit).
"""
from __future__ import annotations

import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from console_data import StoreApi, make_store
from console_driver import DESKTOP, Console, start_chromium
from servers import ADMIN_KEY, REPO_ROOT, LiveServers, stop_process_group

OUTPUT = REPO_ROOT / "test-output" / "browser"
BANNER_WAIT_SECONDS = 10
CONSOLE_LINE = re.compile(r"^  console +(http://127\.0\.0\.1:\d+)/$", re.MULTILINE)


@dataclass
class Stack:
    """The booted stack: the server processes, the data's API client and the console in Chromium."""

    servers: LiveServers
    api: StoreApi
    console: Console

    def close(self) -> None:
        """Kill the server (nothing to shut down cleanly) and quit Chromium."""
        for process in self.servers.processes.values():
            stop_process_group(process, signal.SIGKILL)
        self.console.browser.quit()


def _console_url(log: Path) -> str:
    """The console's URL as the runner's banner prints it."""
    deadline = time.monotonic() + BANNER_WAIT_SECONDS
    while time.monotonic() < deadline:
        match = CONSOLE_LINE.search(log.read_text())
        if match:
            return match.group(1)
        time.sleep(0.1)
    pytest.fail(f"no console URL in the banner:\n{log.read_text()}")


def _boot() -> Stack:
    """Start the server and Chromium side by side, then make the data."""
    if not (REPO_ROOT / "console" / "dist" / "index.html").is_file():
        pytest.fail("the console is not built: `make test` builds it (or `make console`)")
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    servers = LiveServers(OUTPUT)
    with ThreadPoolExecutor(1) as pool:
        browser = pool.submit(start_chromium)
        try:
            # CORS_ORIGINS blank: the runner's default, the API's and the console's own origins.
            base_url = servers(TABLE_PREFIX=f"console-{secrets.token_hex(3)}-", CORS_ORIGINS="")
            console_url = _console_url(OUTPUT / f"live-server-{base_url.rsplit(':', 1)[1]}.log")
            api = StoreApi(base_url, ADMIN_KEY)
            make_store(api)
            return Stack(servers, api, Console(browser.result(), console_url, OUTPUT))
        except BaseException:
            servers.stop()
            if browser.exception() is None:
                browser.result().quit()
            raise


@pytest.fixture(scope="package")
def stack() -> Iterator[tuple[StoreApi, Console]]:
    """The data's API client and the console in Chromium, for every test."""
    booted = _boot()
    try:
        yield booted.api, booted.console
    finally:
        booted.close()


@pytest.fixture
def console(stack: tuple[StoreApi, Console], request: pytest.FixtureRequest) -> Iterator[Console]:
    """The console at the desktop size, its key in the session as after a login; after the test, no
    console error may have been logged but the HTTP refusals the test names with
    `@pytest.mark.refusals(401, ...)`."""
    console = stack[1]
    console.browser.set_window_size(*DESKTOP)
    console.open("/login")
    console.browser.execute_script("sessionStorage.setItem('member-loyalty-admin-key', arguments[0])", ADMIN_KEY)
    yield console
    if getattr(request.node, "failed", False):
        console.screenshot(f"FAILED-{request.node.name}")
    marker = request.node.get_closest_marker("refusals")
    assert console.console_errors(set(marker.args) if marker else set()) == []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Note on the test whether its call failed (the `console` fixture then keeps a screenshot)."""
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        item.failed = True  # type: ignore[attr-defined]
    return report


def pytest_configure(config: pytest.Config) -> None:
    """Register the `refusals` marker."""
    config.addinivalue_line("markers", "refusals(*statuses): HTTP refusals a browser test provokes on purpose")
