"""A progress bar on stderr, without a dependency: redrawn in place on a terminal (at most every
`REDRAW_SECONDS`), a plain line every `LOG_SECONDS` otherwise (a log file, CI), nothing when quiet."""
from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2
LOG_SECONDS = 10.0


class Progress:
    """Counts done items of `total` (None: unknown) and shows how far and how fast."""

    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None,
                 quiet: bool = False) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.terminal = self.stream.isatty()
        self.started = self._shown = time.monotonic()

    def advance(self, count: int = 1) -> None:
        """`count` more items are done; redraw if it is time."""
        self.done += count
        now = time.monotonic()
        if now - self._shown >= (REDRAW_SECONDS if self.terminal else LOG_SECONDS):
            self._shown = now
            self._show()

    def close(self) -> None:
        """Show the final count (and end the terminal's line)."""
        self._show()
        if self.terminal and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        """The bar as text: `label [#####-----] 1,200/2,000 60% 350/s`."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = f"{self.done / elapsed:,.0f}/s"
        if not self.total:
            return f"{self.label} {self.done:,} {rate}"
        share = min(self.done / self.total, 1.0)
        filled = int(share * BAR_WIDTH)
        return (f"{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done:,}/{self.total:,} "
                f"{share:.0%} {rate}")

    def _show(self) -> None:
        if self.quiet:
            return
        self.stream.write(("\r" + self.line() + "\x1b[K") if self.terminal else self.line() + "\n")
        self.stream.flush()
