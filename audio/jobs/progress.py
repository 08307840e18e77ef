"""The progress throttle, one rule for the whole path: the worker writes and sends at most one
progress report per job per interval, and the websocket consumer forwards at most one frame per
job per interval (its own guard against senders that skip the first)."""

from __future__ import annotations

import time
from collections.abc import Hashable

PROGRESS_MIN_INTERVAL_S = 0.25  # at most 4 progress reports per second per job


class ProgressThrottle:
    """`allow(key)` is true at most once per `min_interval` for each key; `final=True` (the
    last report, progress 1.0) always passes, so the end is never dropped."""

    def __init__(self, min_interval: float = PROGRESS_MIN_INTERVAL_S) -> None:
        self.min_interval = min_interval
        self._last: dict[Hashable, float] = {}

    def allow(self, key: Hashable = None, *, final: bool = False) -> bool:
        now = time.monotonic()
        if not final and now - self._last.get(key, -self.min_interval) < self.min_interval:
            return False
        self._last[key] = now
        return True

    def forget(self, key: Hashable) -> None:
        self._last.pop(key, None)
