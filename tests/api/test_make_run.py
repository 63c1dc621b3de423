"""`make run` serves the API on $PORT with its own embedded store and fake WeChat, and Ctrl-C
(SIGINT to the whole process group, as a terminal sends it) stops all of it."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
from servers import REPO_ROOT, TEST_ENV, free_port, stop_process_group, wait_for_health

# Unset, so that `make run` embeds its own store and fake WeChat and applies its local defaults.
UNSET = {"DYNAMODB_ENDPOINT_URL", "WECHAT_API_BASE_URL", *TEST_ENV}


def _wait_for_banner(log: Path) -> str:
    """The runner's output once its banner (printed just after the API answers) is there."""
    deadline = time.monotonic() + 5
    while "Ctrl-C" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    return log.read_text()


def _group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _nothing_listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_make_run_serves_the_api_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update(PORT=str(port), TABLE_PREFIX=f"makerun-{secrets.token_hex(3)}-")
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(base_url, process, log)
        health = requests.get(f"{base_url}/v1/health", timeout=5)
        assert health.json() == {"status": "ok"}
        banner = _wait_for_banner(log)
        assert f"http://127.0.0.1:{port}/v1" in banner and "X-Admin-Key: local-admin-key" in banner
        assert "(embedded moto" in banner and "(embedded fake)" in banner

        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=15)
        deadline = time.monotonic() + 5
        while not _group_is_gone(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group_is_gone(process.pid), log.read_text()
        assert _nothing_listens(port)
    finally:
        stop_process_group(process, signal.SIGKILL)
