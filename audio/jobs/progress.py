"""The worker side of the one progress throttle: the interval is the event log's
(eventlog.broadcast.PROGRESS_MIN_INTERVAL_S), which the websocket consumer applies again where it
forwards frames."""

from __future__ import annotations

import time
from collections.abc import Hashable

from eventlog.broadcast import PROGRESS_MIN_INTERVAL_S

__all__ = ["PROGRESS_MIN_INTERVAL_S", "ProgressThrottle"]


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
