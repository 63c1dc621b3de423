"""The deployment package of the `dev` stage, built once for the infra and package tests."""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import SECRET_SETTINGS
from infra import PROJECT_DIR

STAGE = "dev"
PACKAGE_TIMEOUT_SECONDS = 240
# Values planted in the packaging environment as the app's secret settings: none may end up in
# the template.
CANARIES = {name: f"canary-{name.lower()}-must-not-leak" for name in SECRET_SETTINGS}


@pytest.fixture(scope="session")
def package_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the packaging entry point once for the whole run; return its output directory. Under
    pytest-xdist the workers share one build (the first to take the lock makes it): two builds at
    once would race on chalice's deployment cache in the project directory."""
    if not hasattr(request.config, "workerinput"):
        return _package(tmp_path_factory.mktemp("package"))
    shared = tmp_path_factory.getbasetemp().parent  # the workers' basetemps are its children
    with (shared / "package.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        outdir = shared / "package"
        if not (outdir / "sam.json").exists():
            outdir.mkdir(exist_ok=True)
            _package(outdir)
    return outdir


def _package(outdir: Path) -> Path:
    """Package the stage into `outdir` (the canaries planted as its secret settings)."""
    result = subprocess.run(
        [sys.executable, "-m", "infra.package", str(outdir), "--stage", STAGE],
        cwd=PROJECT_DIR, env={**os.environ, **CANARIES}, capture_output=True, text=True,
        timeout=PACKAGE_TIMEOUT_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Could not install dependencies" not in output, output
    return outdir


@pytest.fixture(scope="session")
def template(package_dir: Path) -> dict[str, Any]:
    """The SAM template chalice wrote, with infra's fragment merged in."""
    loaded: dict[str, Any] = json.loads((package_dir / "sam.json").read_text())
    return loaded


@pytest.fixture(scope="session")
def canaries() -> dict[str, str]:
    """The secret values planted in the packaging environment."""
    return CANARIES
