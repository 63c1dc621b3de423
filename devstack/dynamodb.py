"""An embedded DynamoDB-compatible endpoint: moto's server app behind one request lock.

moto answers concurrent requests without DynamoDB's per-item atomicity, so two conditional writes
racing on one item could both succeed. Holding one lock around each whole request (the response
body included) makes every request atomic, as every single-item write and every transaction is on
DynamoDB. moto keeps its data in process-global backends: every instance in one process serves the
same tables, and they live as long as the process. Transactions roll back from per-item
snapshots (`moto_transactions`), so their cost does not grow with the tables.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from devstack import moto_fast_reads, moto_transactions
from devstack.serving import BackgroundServer

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

HOST = "127.0.0.1"


class _SerializedApp:
    """A WSGI wrapper that runs one request at a time, response body included."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class _QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without the access log line per request (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log."""


class EmbeddedDynamoDB:
    """A moto DynamoDB server on 127.0.0.1, serving from a daemon thread of this process."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._serving = BackgroundServer("embedded-dynamodb")

    @property
    def endpoint_url(self) -> str:
        """The endpoint URL, e.g. `http://127.0.0.1:54321` (only once started)."""
        return f"http://{HOST}:{self._serving.port}"

    def start(self) -> str:
        """Bind the port, serve in a daemon thread and return the endpoint URL."""
        if not self._serving.running:
            moto_transactions.install()
            moto_fast_reads.install()
            app = _SerializedApp(DomainDispatcherApplication(create_backend_app))
            self._serving.start(make_server(HOST, self._port, app, threaded=True,
                                            request_handler=_QuietRequestHandler))
        return self.endpoint_url

    def stop(self) -> None:
        """Stop serving and release the port (the data stays in moto's backends)."""
        self._serving.stop()
