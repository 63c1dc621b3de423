"""scripts/smoke.py, the smoke test of a deployed stage, passes against the local server and fails
with a wrong admin key."""
from __future__ import annotations

import subprocess
import sys

from servers import ADMIN_KEY, REPO_ROOT

SMOKE = str(REPO_ROOT / "scripts" / "smoke.py")


def test_the_smoke_test_passes_on_a_working_stage_and_fails_with_a_wrong_key(attack_server: str) -> None:
    passed = subprocess.run([sys.executable, SMOKE, attack_server + "/", ADMIN_KEY], capture_output=True, text=True,
                            timeout=120)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.count("ok  ") == 5
    failed = subprocess.run([sys.executable, SMOKE, attack_server, "not-the-admin-key"], capture_output=True,
                            text=True, timeout=120)
    assert failed.returncode == 1 and "FAIL GET /v1/admin/program with the admin key" in failed.stdout
