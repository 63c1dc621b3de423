"""The merchant console beside the API in `make run`: `console/dist` (built by `make run`'s `console`
target) served from a daemon thread on its own port, with `config.json` telling the console where the
API is. The console calls the API cross-origin, so its origin goes into the API's default
`CORS_ORIGINS`; deployed, the same files are served by CloudFront with a `config.json` of the stage's
API (see `infra/console.py`).

The port is `CONSOLE_PORT`, by default `PORT + 1`, or any free port when that one is taken (an
explicit `CONSOLE_PORT` that is taken is an error, like `PORT`).
"""
from __future__ import annotations

import json
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devstack.serving import BackgroundServer

HOST = "127.0.0.1"
DIST = Path(__file__).resolve().parents[1] / "console" / "dist"
NOT_BUILT = "not built: install Node.js 20.19+ and npm (e.g. apt-get install nodejs npm), then `make run`"


class _Handler(SimpleHTTPRequestHandler):
    """The built files, and `config.json` with the API's root URL. Hashed assets are cached for good;
    `index.html` and `config.json` are revalidated, so a rebuild shows at the next load."""

    config: bytes = b"{}"

    def do_GET(self) -> None:
        """Answer `/config.json` from memory, anything else from the build directory."""
        if self.path.split("?")[0] == "/config.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.config)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(self.config)
            return
        super().do_GET()

    def end_headers(self) -> None:
        """Add the caching rule of the path served."""
        if self.path.startswith("/assets/"):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        elif not self.path.startswith("/config.json"):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the API's own log is what `make run` shows."""


class LocalConsole:
    """The built console, served on 127.0.0.1 next to the API at `api_base`."""

    def __init__(self, api_base: str, dist: Path = DIST) -> None:
        self._dist = dist
        self._config = json.dumps({"api_base": api_base}).encode()
        self._serving = BackgroundServer("console")

    @property
    def built(self) -> bool:
        """True when `console/dist` holds a build."""
        return (self._dist / "index.html").is_file()

    @property
    def port(self) -> int:
        """The bound port (only while serving)."""
        return self._serving.port

    def start(self, port: int, *, any_port_if_taken: bool) -> str:
        """Serve on `port` (or, if allowed, on a free port when it is taken); the console's origin.
        Raises OSError when the port is taken and no other is allowed."""
        handler = type("ConsoleHandler", (_Handler,), {"config": self._config})
        factory = partial(handler, directory=str(self._dist))
        try:
            server = ThreadingHTTPServer((HOST, port), factory)
        except (OSError, OverflowError):
            if not any_port_if_taken:
                raise OSError(f"port {port} on {HOST} is in use") from None
            server = ThreadingHTTPServer((HOST, 0), factory)
        self._serving.start(server)
        return f"http://{HOST}:{self._serving.port}"

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._serving.stop()
