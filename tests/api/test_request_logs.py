"""One structured log line per request, and no openid, phone number or token in clear in any."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import Api, new_user

from chalicelib.logs import LOGGERS, JsonFormatter
from devstack.fake_wechat import FakeWeChat


class Lines(logging.Handler):
    """Keeps every record of the app's loggers as the JSON line it is written as."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def test_login_and_signup_with_a_phone_code_log_no_openid_phone_or_token(
        api: Api, lines: Lines, fake_wechat: FakeWeChat) -> None:
    name = new_user()
    token = api.login(name)["token"]
    status, member = api.call("POST", "/v1/members", {"phone_code": "phone-13912340077"}, token=token)
    assert status == 201, member
    assert api.call("GET", "/v1/members/me", token=token)[0] == 200

    text = "\n".join(lines.lines)
    for secret in (fake_wechat.openid_for(name), "13912340077", token, token.split(".")[0]):
        assert secret not in text
    requests = [entry["extra"] for entry in lines.entries() if entry["message"] == "request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("POST", "/v1/auth/login", 200), ("POST", "/v1/members", 201), ("GET", "/v1/members/me", 200)]
    assert all(r["actor"] is None and r["duration_ms"] >= 0 for r in requests)


def test_an_admin_request_logs_its_route_template_and_the_keys_identity(api: Api, lines: Lines) -> None:
    assert api.call("GET", "/v1/admin/members/m-not-there", admin=True)[0] == 404
    (request,) = [entry for entry in lines.entries() if entry["message"] == "request"]
    assert request["logger"] == "member-loyalty" and request["level"] == "INFO"
    assert request["extra"]["route"] == "/v1/admin/members/{member_id}"
    assert request["extra"]["status"] == 404 and request["extra"]["actor"].startswith("key-")
    assert "test-admin-key" not in "\n".join(lines.lines)
