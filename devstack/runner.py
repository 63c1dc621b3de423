"""The local stack behind `make run` (`python -m devstack`, from the repo root).

1. Fill in local defaults for every variable that is unset (a variable set to a non-blank value,
   or `TABLE_PREFIX` or `WECHAT_ENCODING_AES_KEY` set at all, is left alone: an empty
   `WECHAT_ENCODING_AES_KEY` serves message push in plaintext mode). `TOKEN_SECRET`, `WECHAT_SECRET` and the admin key
   are fakes for the `local` stage only: no other stage has defaults for secrets.
2. Serve the built merchant console on `CONSOLE_PORT` (default `PORT + 1`, see `devstack.console`)
   and allow its origin in the default `CORS_ORIGINS`.
3. Unless `DYNAMODB_ENDPOINT_URL` is set, start an embedded DynamoDB (with fake AWS credentials);
   unless `WECHAT_API_BASE_URL` is set, start the fake WeChat. Their URLs go into the environment.
4. Create the missing tables and seed the default program, once the environment is final (the
   store models read it when first imported).
5. Run `chalice local --stage local` as a child process with that environment until SIGINT or
   SIGTERM (then stop everything and exit 0) or until it exits by itself (then exit with its code).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from types import FrameType
from typing import Protocol

from devstack.console import NOT_BUILT, LocalConsole

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
STOP_TIMEOUT_SECONDS = 5.0

LOCAL_DEFAULTS = {
    "PORT": "8000",
    "TABLE_PREFIX": "local-",
    "STAGE": "local",
    "WECHAT_APPID": "wx0000000000local",
    "WECHAT_SECRET": "local-wechat-secret",
    "WECHAT_TOKEN": "local-push-token",
    "WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "ADMIN_API_KEYS": "local-admin-key",
    "TOKEN_SECRET": "local-token-secret-not-for-production",
}

KEPT_WHEN_EMPTY = ("TABLE_PREFIX", "WECHAT_ENCODING_AES_KEY")

EMBEDDED_STORE_DEFAULTS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class _Stoppable(Protocol):
    def stop(self) -> None: ...


class _Stopped(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM to unwind into the clean-up."""


def fill_defaults(env: MutableMapping[str, str], defaults: dict[str, str]) -> None:
    """Set each default whose variable is unset or blank (an empty `TABLE_PREFIX` or
    `WECHAT_ENCODING_AES_KEY` counts as set)."""
    for name, value in defaults.items():
        if name in KEPT_WHEN_EMPTY and name in env:
            continue
        if not env.get(name, "").strip():
            env[name] = value


def prepare_store() -> None:
    """Create the missing tables and seed the default program (imports read the final env)."""
    from chalicelib.services.program import seed_default_program
    from chalicelib.store.dynamo import DynamoUnitOfWork
    from chalicelib.store.tables import create_missing_tables

    create_missing_tables()
    seed_default_program(DynamoUnitOfWork())


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise _Stopped(signum)


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def start_console(env: MutableMapping[str, str], port: int) -> tuple[LocalConsole | None, str]:
    """Serve the built console (if any) and set the default `CORS_ORIGINS` to the API's and the
    console's origins; the console and its banner line. Raises OSError when an explicit
    `CONSOLE_PORT` is taken, ValueError when it is not a port number."""
    console = LocalConsole(f"http://{HOST}:{port}")
    origins = [f"http://{HOST}:{port}", f"http://localhost:{port}"]
    line = NOT_BUILT
    if console.built:
        wanted = env.get("CONSOLE_PORT", "").strip()
        origin = console.start(int(wanted) if wanted else port + 1, any_port_if_taken=not wanted)
        origins += [origin, f"http://localhost:{console.port}"]
        line = f"{origin}/"
    fill_defaults(env, {"CORS_ORIGINS": ",".join(origins)})
    return (console if console.built else None), line


def _banner(env: MutableMapping[str, str], embedded_store: bool, embedded_wechat: bool, console: str) -> str:
    admin_key = env["ADMIN_API_KEYS"].split(",")[0].strip()
    store = "embedded moto" if embedded_store else "external"
    wechat = "embedded fake" if embedded_wechat else "external"
    return "\n".join(
        [
            "",
            f"  API            http://{HOST}:{env['PORT']}/v1  (stage {env['STAGE']})",
            f"  DynamoDB       {env['DYNAMODB_ENDPOINT_URL']}  ({store}, tables {env['TABLE_PREFIX']}*)",
            f"  WeChat API     {env['WECHAT_API_BASE_URL']}  ({wechat})",
            f"  console        {console}",
            f"  admin key      X-Admin-Key: {admin_key}",
            "  stop           Ctrl-C",
            "",
        ]
    )


def main() -> int:
    """Run the local stack until interrupted or until the API server exits; return the exit code."""
    env = os.environ
    servers: list[_Stoppable] = []
    child: subprocess.Popen[bytes] | None = None
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_stopped)
    try:
        fill_defaults(env, LOCAL_DEFAULTS)
        port = int(env["PORT"])
        if not port_is_free(port):
            print(f"port {port} on {HOST} is in use; set PORT to another one", file=sys.stderr)
            return 1
        try:
            console, console_line = start_console(env, port)
        except (OSError, ValueError) as error:
            print(f"CONSOLE_PORT: {error}; set CONSOLE_PORT to a free port", file=sys.stderr)
            return 1
        if console is not None:
            servers.append(console)
        # moto and the fake are imported only when embedded: moto is slow to import.
        embedded_store = not env.get("DYNAMODB_ENDPOINT_URL", "").strip()
        if embedded_store:
            from devstack.dynamodb import EmbeddedDynamoDB

            fill_defaults(env, EMBEDDED_STORE_DEFAULTS)
            store = EmbeddedDynamoDB()
            servers.append(store)
            env["DYNAMODB_ENDPOINT_URL"] = store.start()
        embedded_wechat = not env.get("WECHAT_API_BASE_URL", "").strip()
        if embedded_wechat:
            from devstack.fake_wechat import FakeWeChat

            wechat = FakeWeChat(env["WECHAT_APPID"], env["WECHAT_SECRET"])
            servers.append(wechat)
            env["WECHAT_API_BASE_URL"] = wechat.start()
        prepare_store()
        chalice = Path(sys.executable).with_name("chalice")
        child = subprocess.Popen(
            [str(chalice), "local", "--no-autoreload", "--stage", "local",
             "--host", HOST, "--port", str(port)],
            cwd=REPO_ROOT,
            env=dict(env),
        )
        while child.poll() is None and not _accepts_connections(port):
            time.sleep(0.1)
        if child.poll() is None:
            print(_banner(env, embedded_store, embedded_wechat, console_line), flush=True)
        return _exit_code(child.wait())
    except _Stopped:
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        if child is not None:
            _stop_child(child)
        for server in reversed(servers):
            server.stop()
