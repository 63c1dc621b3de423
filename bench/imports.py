"""The import time of the app: `python -X importtime -c "import app"` in fresh subprocesses, the
median of IMPORT_RUNS, and the modules and dependencies that cost most."""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from bench import REPO_ROOT

IMPORT_RUNS = 5
IMPORT_TARGET_MS = 250
TOP_MODULES = 5

IMPORT_LINE = re.compile(r"^import time:\s*(\d+) \|\s*(\d+) \| ( *)(\S.*)$")


@dataclass(frozen=True)
class ImportRow:
    """One module of an `-X importtime` profile, and the module whose import pulled it in."""

    module: str
    self_us: int
    cumulative_us: int
    importer: str | None

    def as_json(self) -> dict[str, Any]:
        """The row in results.json, in milliseconds."""
        return {"module": self.module, "self_ms": round(self.self_us / 1000, 1),
                "cumulative_ms": round(self.cumulative_us / 1000, 1), "imported_by": self.importer}


def import_profile() -> list[ImportRow]:
    """One fresh `python -X importtime -c "import app"`, one row per imported module."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=REPO_ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import app failed:\n{done.stderr[-2000:]}")
    parsed = [(m[4], int(m[1]), int(m[2]), len(m[3]) // 2)
              for m in map(IMPORT_LINE.match, done.stderr.splitlines()) if m]
    rows = []
    # The profile lists a module's imports before the module itself, one level deeper.
    for i, (module, own, cumulative, depth) in enumerate(parsed):
        importer = next((name for name, _, _, d in parsed[i + 1:] if d < depth), None)
        rows.append(ImportRow(module, own, cumulative, importer))
    return rows


def _first_party(module: str | None) -> bool:
    return module is not None and (module == "app" or module.split(".")[0] == "chalicelib")


def measure_import() -> dict[str, Any]:
    """Median cumulative time of the top-level `app` import; of the last run, the modules with the
    most time of their own and the third-party imports of the app's own modules that cost most."""
    runs_ms: list[float] = []
    rows: list[ImportRow] = []
    for _ in range(IMPORT_RUNS):
        rows = import_profile()
        app_rows = [row for row in rows if row.module == "app" and row.importer is None]
        if len(app_rows) != 1:
            raise RuntimeError("no top-level `app` line in the -X importtime output")
        runs_ms.append(app_rows[0].cumulative_us / 1000)
    by_self = sorted(rows, key=lambda row: row.self_us, reverse=True)
    dependencies = sorted((row for row in rows if _first_party(row.importer) and not _first_party(row.module)),
                          key=lambda row: row.cumulative_us, reverse=True)
    return {
        "import_ms": round(statistics.median(runs_ms), 1),
        "import_runs_ms": [round(ms, 1) for ms in runs_ms],
        "import_heaviest_modules": [row.as_json() for row in by_self[:TOP_MODULES]],
        "import_heaviest_dependencies": [row.as_json() for row in dependencies[:TOP_MODULES]],
    }

