"""What the test session runs beside the app: its environment, free ports, and live server
processes (`python -m devstack`, as `make run` starts it)."""
from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "test-admin-key-0123456789"  # long enough for a deployed stage (16+)
LIVE_SERVER_START_TIMEOUT_SECONDS = 30.0

TEST_ENV = {
    "STAGE": "local",
    "TABLE_PREFIX": f"test-{secrets.token_hex(3)}-",
    "ADMIN_API_KEYS": f"{ADMIN_KEY},second-admin-key",
    "TOKEN_SECRET": "test-token-secret-0123456789abcdefghij",  # 32+, as a deployed stage needs
    "WECHAT_APPID": "wx00000000000test",
    "WECHAT_SECRET": "test-wechat-secret",
    "WECHAT_TOKEN": "test-push-token",
    "WECHAT_ENCODING_AES_KEY": "TestEncodingAESKey0123456789abcdefghijklmno",
    "CORS_ORIGINS": "https://console.example.com,http://127.0.0.1:5173",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until `GET /v1/health` answers 200, failing early if `process` exits."""
    deadline = time.monotonic() + LIVE_SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base_url}/v1/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy after {LIVE_SERVER_START_TIMEOUT_SECONDS}s:\n{log.read_text()}")


def stop_process_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal `process`'s group, wait for the leader, then SIGKILL whatever is left of the group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class LiveServers:
    """`python -m devstack` server processes on free ports, sharing the session's store, tables and
    fake WeChat, like several Lambda instances behind one API; `processes[base_url]` lets a test
    crash one. `stop()` kills them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def __call__(self, **env_overrides: str) -> str:
        """Start one more server (with these environment overrides); return its base URL."""
        port = free_port()
        env = {**os.environ, **env_overrides, "PORT": str(port)}
        log = self.log_dir / f"live-server-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        self.processes[base_url] = process
        wait_for_health(base_url, process, log)
        return base_url

    def stop(self) -> None:
        """Terminate every server started, then make sure their process groups are gone."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            stop_process_group(process)
