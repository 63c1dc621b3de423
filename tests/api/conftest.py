"""Fixtures of the API tests: a JSON client, the test clock and an editable program."""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import Api


@pytest.fixture
def api(client) -> Api:
    """JSON calls against the in-process app."""
    return Api(client)


@pytest.fixture
def clock(api: Api) -> Iterator[Callable[[str], None]]:
    """`clock(iso)` sets the server's test clock through the admin route; cleared afterwards."""
    def set_to(instant: str) -> None:
        assert api.call("PUT", "/v1/admin/clock", {"now": instant}, admin=True)[0] == 200
    yield set_to
    api.call("DELETE", "/v1/admin/clock", admin=True)


@pytest.fixture
def program(api: Api) -> Iterator[tuple[dict[str, Any], Callable[[], None]]]:
    """(a copy of the program to edit, `put()` to store it); the original is restored afterwards."""
    original = api.call("GET", "/v1/admin/program", admin=True)[1]
    edited = copy.deepcopy(original)

    def put() -> None:
        assert api.call("PUT", "/v1/admin/program", edited, admin=True)[0] == 200
    yield edited, put
    assert api.call("PUT", "/v1/admin/program", original, admin=True)[0] == 200
