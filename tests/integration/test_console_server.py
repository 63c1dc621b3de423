"""The merchant console's local server (`devstack.console`): the built files with their caching
rules, `config.json` naming the API, and its port (the default one may move, an explicit one may not)."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from servers import free_port

from devstack.console import LocalConsole

API = "http://127.0.0.1:9"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build of two files: index.html and a hashed asset."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<title>会员中心</title>", encoding="utf-8")
    (tmp_path / "assets" / "index-3f2a.js").write_text("console.log(1)")
    return tmp_path


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_it_serves_the_build_and_a_config_naming_the_api(dist: Path) -> None:
    console = LocalConsole(API, dist)
    origin = console.start(free_port(), any_port_if_taken=False)
    try:
        config = requests.get(f"{origin}/config.json", timeout=5)
        assert config.json() == {"api_base": API} and config.headers["Cache-Control"] == "no-cache"
        index = requests.get(f"{origin}/", timeout=5)
        assert "会员中心" in index.content.decode() and index.headers["Cache-Control"] == "no-cache"
        asset = requests.get(f"{origin}/assets/index-3f2a.js", timeout=5)
        assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
        assert requests.get(f"{origin}/missing.js", timeout=5).status_code == 404
    finally:
        console.stop()


def test_a_taken_port_moves_the_default_and_refuses_an_explicit_one(dist: Path, taken_port: int) -> None:
    console = LocalConsole(API, dist)
    with pytest.raises(OSError):
        console.start(taken_port, any_port_if_taken=False)
    origin = console.start(taken_port, any_port_if_taken=True)
    try:
        assert origin == f"http://127.0.0.1:{console.port}" and console.port != taken_port
        assert requests.get(f"{origin}/config.json", timeout=5).json() == {"api_base": API}
    finally:
        console.stop()


def test_without_a_build_there_is_nothing_to_serve(tmp_path: Path) -> None:
    assert not LocalConsole(API, tmp_path).built
