"""The commands' `--progress` output: `progress 0.42` lines on stderr, a few per second."""

from __future__ import annotations

import sys
import time

PROGRESS_MIN_INTERVAL_S = 0.25  # at most four progress lines a second


class ProgressPrinter:
    """An engine `on_progress` for the CLI: throttled, and the final 1.0 always printed once."""

    def __init__(self) -> None:
        self.last = -1e9
        self.done = False

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if self.done:
            return
        if now - self.last >= PROGRESS_MIN_INTERVAL_S or fraction >= 1.0:
            self.last = now
            self.done = fraction >= 1.0
            sys.stderr.write(f"progress {fraction:.2f}\n")
            sys.stderr.flush()
