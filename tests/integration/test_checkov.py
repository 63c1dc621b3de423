"""checkov on the packaged template: every check passes, or the template skips it inline with its
reason (`Metadata.checkov.skip`)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from infra import PROJECT_DIR

CHECKOV_PYTHON = PROJECT_DIR / ".venv" / "checkov" / "bin" / "python"


def test_every_checkov_check_passes_or_is_skipped_with_its_reason(package_dir: Path) -> None:
    assert CHECKOV_PYTHON.exists(), "checkov's venv is missing: `make test` installs it (requirements-checkov.txt)"
    result = subprocess.run([str(CHECKOV_PYTHON), str(PROJECT_DIR / "infra" / "checkov_scan.py"),
                             str(package_dir / "sam.json")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)
    assert report["failed"] == [] and report["parsing_errors"] == []
    assert report["passed"] > 100 and all(skip["reason"] for skip in report["skipped"])
