"""The console's sources keep the shape the developers' guide asks of the Python: no file of
`console/src` (a page, a component, a module) over 300 lines."""
from __future__ import annotations

from pathlib import Path

SOURCES = Path(__file__).resolve().parents[2] / "console" / "src"
MAX_LINES = 300


def test_no_console_source_is_over_300_lines() -> None:
    files = [p for p in SOURCES.rglob("*") if p.suffix in (".vue", ".js", ".css")]
    assert len(files) > 10
    long = {str(p.relative_to(SOURCES)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
