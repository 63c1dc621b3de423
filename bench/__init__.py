"""`make bench` (`python bench/run.py`): round trips per route, WeChat pushes and sends, the yearly
points reset at scale and the import time of the app, one module per concern (see run.py)."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
