"""A fake of WeChat's server API for `make run` and the tests, on 127.0.0.1 only.

It answers like WeChat does: HTTP 200 with an `errcode` on failure. Endpoints:

- `GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`
  → `{"openid", "session_key"}`; 40013 wrong appid, 40125 wrong secret, 40002 wrong grant_type,
  41008 missing code, 40029 a code starting `invalid`, 40163 a code used before. As on WeChat the
  body is JSON sent as `Content-Type: text/plain`.
- `POST /cgi-bin/stable_token` `{"grant_type": "client_credential", "appid", "secret",
  "force_refresh"?}` → `{"access_token", "expires_in"}`: the same token (with its remaining
  lifetime) until it expires after 7200 s, unless `force_refresh` replaces it (the old one then
  fails with 40001).
- `POST /wxa/business/getuserphonenumber?access_token=` `{"code"}` → `{"phone_info": {...}}`;
  40001 bad token, 40029 a code starting `invalid`, 40163 a reused code.
- `POST /cgi-bin/message/subscribe/send?access_token=` `{"touser", "template_id", "data", ...}`
  → `{"msgid"}` and the message is recorded; 40001 bad token, 47003 a missing field.

Conventions that let tests play several WeChat users with single-use codes:

- **Login codes**: the part of a `js_code` before the first `.` names the user, so `alice.1` and
  `alice.2` are two single-use codes of one user. Their openid is
  `"o" + base64url(sha256(f"{appid}:{name}"))[:27]` (see `openid_for`).
- **Phone codes**: the phone number is the first 11-digit run starting with `1` inside the code
  (`phone-13812345678` → `13812345678`), else `138` + 8 digits derived from the code's sha256.

Test hooks, only on this fake: `GET /__fake__/messages` → `{"messages": [...]}`;
`POST /__fake__/faults` `{"path", "status" | "errcode", "count"?}` makes the next `count`
(default 1) calls to `path` answer that HTTP status or errcode instead; `POST /__fake__/reset`
clears messages, faults and used codes. Any other path answers 404.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.serving import BackgroundServer

HOST = "127.0.0.1"
TOKEN_LIFETIME_SECONDS = 7200

JSCODE2SESSION = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
PHONE_NUMBER = "/wxa/business/getuserphonenumber"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    41008: "missing code",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    47003: "argument invalid!",
}

Reply = tuple[int, dict[str, Any]]


def _error(errcode: int) -> Reply:
    return 200, {"errcode": errcode, "errmsg": ERRMSG.get(errcode, "injected fault")}


def openid_for(appid: str, name: str) -> str:
    """The openid the fake gives the user `name` (the part of a login code before the first `.`)."""
    digest = hashlib.sha256(f"{appid}:{name}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]


def phone_for(code: str) -> str:
    """The phone number the fake gives for a phone code."""
    match = re.search(r"1\d{10}", code)
    if match:
        return match.group(0)
    return "138" + f"{int(hashlib.sha256(code.encode()).hexdigest(), 16) % 10**8:08d}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


@dataclass
class _Fault:
    status: int | None
    errcode: int | None
    remaining: int


class FakeWeChat:
    """WeChat's server API for one mini-program, served from a daemon thread (thread-safe)."""

    def __init__(self, appid: str, secret: str) -> None:
        self.appid = appid
        self.secret = secret
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._used_login_codes: set[str] = set()
        self._used_phone_codes: set[str] = set()
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._next_msgid = 2_000_000_001
        self._serving = BackgroundServer("fake-wechat")

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The root URL to use as `WECHAT_API_BASE_URL` (only once started)."""
        return f"http://{HOST}:{self._serving.port}"

    def start(self, port: int = 0) -> str:
        """Bind 127.0.0.1:`port` (0 = any free port), serve in a daemon thread, return the base URL."""
        if not self._serving.running:
            self._serving.start(_Server((HOST, port), _handler_for(self)))
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._serving.stop()

    # -- test helpers ---------------------------------------------------------------------------

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """The subscribe messages accepted so far, oldest first (each body plus its `msgid`)."""
        with self._lock:
            return [dict(message) for message in self._messages]

    def openid_for(self, name: str) -> str:
        """The openid of the user whose login codes start with `name.`."""
        return openid_for(self.appid, name)

    def inject_fault(
        self, path: str, *, status: int | None = None, errcode: int | None = None, count: int = 1
    ) -> None:
        """Make the next `count` calls to `path` answer HTTP `status` or WeChat `errcode`."""
        if (status is None) == (errcode is None) or count < 1 or not path.startswith("/"):
            raise ValueError("a fault needs a path, a count >= 1 and exactly one of status/errcode")
        with self._lock:
            self._faults.setdefault(path, deque()).append(_Fault(status, errcode, count))

    def reset(self) -> None:
        """Forget the sent messages, the pending faults and the used codes (tokens stay valid)."""
        with self._lock:
            self._messages.clear()
            self._faults.clear()
            self._used_login_codes.clear()
            self._used_phone_codes.clear()

    # -- request handling -----------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        """Answer one request: (HTTP status, JSON body)."""
        route = _ROUTES.get(path)
        if route is None:
            return 404, {"errcode": 404, "errmsg": f"no such path: {path}"}
        if route[0] != method:
            return 405, {"errcode": 405, "errmsg": f"{path} accepts {route[0]} only"}
        fault = self._take_fault(path)
        if fault is not None:
            return fault
        return route[1](self, query, body)

    def _take_fault(self, path: str) -> Reply | None:
        with self._lock:
            queue = self._faults.get(path)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.popleft()
        if fault.status is not None:
            return fault.status, {"errcode": -1, "errmsg": ERRMSG[-1]}
        assert fault.errcode is not None
        return _error(fault.errcode)

    def _check_credentials(self, appid: Any, secret: Any) -> Reply | None:
        if appid != self.appid:
            return _error(40013)
        if secret != self.secret:
            return _error(40125)
        return None

    def _valid_token(self, token: str | None) -> bool:
        with self._lock:
            return (
                token is not None
                and token == self._token
                and time.time() < self._token_expires_at
            )

    def _jscode2session(self, query: dict[str, str], _body: Any) -> Reply:
        failure = self._check_credentials(query.get("appid"), query.get("secret"))
        if failure:
            return failure
        if query.get("grant_type") != "authorization_code":
            return _error(40002)
        code = query.get("js_code", "")
        if not code:
            return _error(41008)
        if code.startswith("invalid"):
            return _error(40029)
        with self._lock:
            if code in self._used_login_codes:
                return _error(40163)
            self._used_login_codes.add(code)
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        return 200, {"openid": self.openid_for(code.split(".")[0]), "session_key": session_key}

    def _stable_token(self, _query: dict[str, str], body: Any) -> Reply:
        if not isinstance(body, dict):
            return _error(47001)
        failure = self._check_credentials(body.get("appid"), body.get("secret"))
        if failure:
            return failure
        if body.get("grant_type") != "client_credential":
            return _error(40002)
        now = time.time()
        with self._lock:
            if body.get("force_refresh") is True or self._token is None or now >= self._token_expires_at:
                self._token = secrets.token_urlsafe(96)
                self._token_expires_at = now + TOKEN_LIFETIME_SECONDS
            token, expires_in = self._token, int(self._token_expires_at - now)
        return 200, {"access_token": token, "expires_in": expires_in}

    def _phone_number(self, query: dict[str, str], body: Any) -> Reply:
        if not self._valid_token(query.get("access_token")):
            return _error(40001)
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code:
            return _error(47001)
        if code.startswith("invalid"):
            return _error(40029)
        with self._lock:
            if code in self._used_phone_codes:
                return _error(40163)
            self._used_phone_codes.add(code)
        phone = phone_for(code)
        return 200, {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": phone,
                "purePhoneNumber": phone,
                "countryCode": "86",
                "watermark": {"timestamp": int(time.time()), "appid": self.appid},
            },
        }

    def _subscribe_send(self, query: dict[str, str], body: Any) -> Reply:
        if not self._valid_token(query.get("access_token")):
            return _error(40001)
        if not isinstance(body, dict) or not all(
            body.get(field) for field in ("touser", "template_id", "data")
        ):
            return _error(47003)
        with self._lock:
            msgid = self._next_msgid
            self._next_msgid += 1
            self._messages.append({**body, "msgid": msgid})
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _hook_messages(self, _query: dict[str, str], _body: Any) -> Reply:
        return 200, {"messages": self.sent_messages}

    def _hook_faults(self, _query: dict[str, str], body: Any) -> Reply:
        if not isinstance(body, dict):
            return 400, {"errcode": 47001, "errmsg": ERRMSG[47001]}
        try:
            self.inject_fault(
                str(body.get("path", "")),
                status=_optional_int(body.get("status")),
                errcode=_optional_int(body.get("errcode")),
                count=_optional_int(body.get("count")) or 1,
            )
        except ValueError as exc:
            return 400, {"errcode": 47003, "errmsg": str(exc)}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _hook_reset(self, _query: dict[str, str], _body: Any) -> Reply:
        self.reset()
        return 200, {"errcode": 0, "errmsg": "ok"}


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return value


_ROUTES = {
    JSCODE2SESSION: ("GET", FakeWeChat._jscode2session),
    STABLE_TOKEN: ("POST", FakeWeChat._stable_token),
    PHONE_NUMBER: ("POST", FakeWeChat._phone_number),
    SUBSCRIBE_SEND: ("POST", FakeWeChat._subscribe_send),
    "/__fake__/messages": ("GET", FakeWeChat._hook_messages),
    "/__fake__/faults": ("POST", FakeWeChat._hook_faults),
    "/__fake__/reset": ("POST", FakeWeChat._hook_reset),
}


def _handler_for(fake: FakeWeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def _answer(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            status, payload = fake.handle(method, url.path, query, body)
            data = json.dumps(payload, ensure_ascii=False).encode()
            content_type = "text/plain" if url.path == JSCODE2SESSION else "application/json"
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
            """Keep the console quiet."""

    return Handler
