"""Small helpers the API tests share: JSON calls through a Chalice test client, and a fresh
WeChat user per test (the fake WeChat maps `<name>.<n>` codes to one openid per name)."""
from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from conformance import assert_conforms

ADMIN = {"X-Admin-Key": "test-admin-key-0123456789"}  # servers.ADMIN_KEY
_codes = itertools.count(1)


class Api:
    """JSON requests against the app; every answer is (status, parsed body or None)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.users: dict[str, str] = {}

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             admin: bool = False, headers: dict[str, str] | None = None,
             raw: bytes | str | None = None) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if admin:
            sent.update(ADMIN)
        sent.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body, ensure_ascii=False) if body is not None else "")
        response = self.client.http.request(method, path, headers=sent, body=payload)
        text = response.body.decode("utf-8") if response.body else ""
        answer = json.loads(text) if text and {k.lower(): v for k, v in response.headers.items()}.get(
            "content-type", "").startswith("application/json") else (text or None)
        assert_conforms(method, path, response.status_code, answer)
        return response.status_code, answer

    def login(self, name: str) -> dict[str, Any]:
        """Log in as WeChat user `name` with a fresh single-use code."""
        status, body = self.call("POST", "/v1/auth/login", {"code": f"{name}.{next(_codes)}"})
        assert status == 200, body
        return body

    def new_member(self, **profile: Any) -> tuple[str, dict[str, Any]]:
        """A new WeChat user who signs up: (token, Member)."""
        name = new_user()
        token = self.login(name)["token"]
        status, member = self.call("POST", "/v1/members", profile, token=token)
        assert status == 201, member
        self.users[member["member_id"]] = name
        return token, member

    def token_for(self, member_id: str) -> str:
        """A fresh token of a member made by `new_member` (after the test clock moved on)."""
        return self.login(self.users[member_id])["token"]

    def ledger(self, token: str) -> list[dict[str, Any]]:
        """The member's whole ledger, newest first, following cursors."""
        return self.all_items("/v1/points/ledger", token=token)

    def all_items(self, path: str, token: str | None = None, admin: bool = False) -> list[dict[str, Any]]:
        """Every item of a list route (pages of 100), following cursors: the session's tables are
        shared, so what one test made may be past the first page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = ("&" if "?" in path else "?") + "limit=100" + (f"&cursor={cursor}" if cursor else "")
            status, page = self.call("GET", path + query, token=token, admin=admin)
            assert status == 200, page
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items


def assert_error_body(body: Any) -> None:
    """`body` is exactly the contract's error envelope: a non-empty `code` and `message` (no stack
    trace), and `field` (a string) on a VALIDATION_ERROR and only there."""
    assert isinstance(body, dict) and list(body) == ["error"], body
    error = body["error"]
    assert isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"].strip(), body
    assert "Traceback" not in error["message"], body
    if error["code"] == "VALIDATION_ERROR":
        assert set(error) == {"code", "message", "field"} and isinstance(error["field"], str), body
    else:
        assert set(error) == {"code", "message"}, body


def new_user() -> str:
    """A WeChat user name no other test uses."""
    return "u" + uuid.uuid4().hex[:12]


@dataclass
class LiveResponse:
    """What `LiveClient.request` answers: the shape of a `chalice.test` response."""

    status_code: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FreshConnections(requests.Session):
    """A session that closes its connection after every request: on a kept-alive connection
    `chalice local` sends a response's headers and body in two writes, and each answer then waits
    about 45 ms for the client's delayed ACK (Nagle); a fresh connection costs about 5 ms."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        try:
            return super().request(*args, **kwargs)
        finally:
            self.close()


class LiveClient:
    """A live server over HTTP behind the interface of `chalice.test.Client.http`, so `Api` (login,
    signup, ledger) works against it too; a fresh connection per request (`FreshConnections`)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session: requests.Session = FreshConnections()
        self.http = self

    def request(self, method: str, path: str, headers: dict[str, Any] | None = None,
                body: bytes | str = b"") -> LiveResponse:
        data = body.encode("utf-8") if isinstance(body, str) else body
        answer = self.session.request(method, self.base_url + path, headers=headers, data=data or None,
                                      timeout=60, allow_redirects=False)
        return LiveResponse(answer.status_code, answer.content, dict(answer.headers))
