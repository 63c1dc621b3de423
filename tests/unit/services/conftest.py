"""Fixtures of the service unit tests: a fresh in-memory unit of work per test, a WeChat gateway
(the session's fake WeChat, its token cached in a unit of work of its own so it costs the tested
one no round trips), the test clock standing at `START` and a `Shop` of builders.

Nothing here imports the store at module level: this conftest may be loaded before the session's
`pytest_configure` sets the table prefix and endpoint that the models read at import.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.clock import SHANGHAI

# A Tuesday, not a member day (8, 18, 28), in nobody's birth month unless a test says so.
START = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def now() -> Iterator[datetime]:
    """The test clock at START for the test; cleared afterwards."""
    clock.set_test_clock(START)
    yield START
    clock.clear_test_clock()


@pytest.fixture
def uow() -> Any:
    """A fresh, empty store (the default program until a test stores one)."""
    from chalicelib.store.memory import InMemoryUnitOfWork

    return InMemoryUnitOfWork()


@pytest.fixture
def wechat() -> Any:
    """A real gateway to the session's fake WeChat."""
    from chalicelib.config import settings
    from chalicelib.store.memory import InMemoryUnitOfWork
    from chalicelib.store.settings import SharedTokenCache
    from chalicelib.wechat.miniprogram import WeChatGateway

    return WeChatGateway(settings(), SharedTokenCache(InMemoryUnitOfWork()))


@pytest.fixture
def shop(uow: Any, wechat: Any) -> Any:
    """Builders over the test's unit of work."""
    from builders import Shop

    return Shop(uow, wechat)
