"""Where the CLI writes its CSV files: files only their owner may read (exports and rejects hold
phone numbers and names), or standard output."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

STDOUT = "-"


@contextmanager
def private_file(path: Path | str) -> Iterator[TextIO]:
    """Write `path` afresh with mode 0600 (`-`: standard output), for the csv module."""
    if str(path) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    Path(path).unlink(missing_ok=True)
    with open(path, "x", encoding="utf-8", newline="", opener=lambda name, flags: os.open(name, flags, 0o600)) as out:
        yield out
