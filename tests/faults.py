"""A TCP proxy that misbehaves on demand, for the outbound calls of a live server: put it between
the app and the session's DynamoDB (or in place of WeChat) and switch its `mode` while the server
runs. Faults act on whole connections as the network does; nothing of the app is patched."""
from __future__ import annotations

import contextlib
import select
import socket
import threading
from urllib.parse import urlsplit

PASS, HANG, CUT, GARBAGE = "pass", "hang", "cut", "garbage"
CHUNK = 65536


class FaultyProxy:
    """Relays to `upstream` (an http URL, or None: nothing behind it) in `PASS` mode. On each chunk
    a client sends: `HANG` swallows it and never answers; `CUT` forwards it and closes the
    connection halfway through the answer; `GARBAGE` answers `200` with `garbage` as the body."""

    def __init__(self, upstream: str | None = None, garbage: bytes = b"{}") -> None:
        parts = urlsplit(upstream) if upstream else None
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80) if parts else None
        self.mode = PASS if upstream else HANG
        self.garbage = garbage
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = [self._listener]
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, name="faulty-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def stop(self) -> None:
        """Close the listener and every connection."""
        self._stopped.set()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            if self.upstream is not None:
                upstream = socket.create_connection(self.upstream)
                self._sockets.append(upstream)
            self._relay(client, upstream)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _relay(self, client: socket.socket, upstream: socket.socket | None) -> None:
        peers = [client] + ([upstream] if upstream else [])
        cutting = False  # a request went up in CUT mode: its answer is to be cut halfway
        while not self._stopped.is_set():
            ready, _, _ = select.select(peers, [], [], 0.2)
            for sock in ready:
                data = sock.recv(CHUNK)
                if not data:
                    return
                if sock is upstream:
                    client.sendall(data[: max(1, len(data) // 2)] if cutting else data)
                    if cutting:
                        return
                elif not self._client_chunk(client, upstream, data):
                    return
                else:
                    cutting = cutting or self.mode == CUT

    def _client_chunk(self, client: socket.socket, upstream: socket.socket | None, data: bytes) -> bool:
        """Handle a chunk from the client by the mode; False when the connection is to end."""
        mode = self.mode
        if mode == HANG or upstream is None and mode != GARBAGE:
            return True
        if mode == GARBAGE:
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nConnection: close\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (len(self.garbage), self.garbage))
            return False
        assert upstream is not None
        upstream.sendall(data)
        return True
