"""Serving a socketserver-style HTTP server from a daemon thread of this process."""
from __future__ import annotations

import socketserver
import threading


class BackgroundServer:
    """Runs one server's `serve_forever` in a daemon thread; `stop` releases its port."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound TCP port (only while running)."""
        if self._server is None:
            raise RuntimeError(f"{self._name} is not started")
        return int(self._server.server_address[1])

    def start(self, server: socketserver.BaseServer) -> None:
        """Serve `server` (already bound) until `stop`."""
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down and close its socket; a no-op when not running."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
