"""Presence changes, batched: at most one frame per project per window from each web process.

A connect, a disconnect or a move to another song or mix marks its user as changed; the first
mark schedules the window's flush, which reads the changed users' state from the shared store
once (a second tab keeps its user online) and sends a single frame listing them to the
project's group. The first window is PRESENCE_BATCH_S; while changes keep coming (a burst of
connects) each next window doubles, up to PRESENCE_BATCH_MAX_S, and a quiet spell resets it.
So a socket gets at most one presence frame per window (plus the full roster when it connects)
however many people come and go: a burst of N connects over T seconds costs each socket about
log2(MAX / BATCH) + T / MAX frames instead of one per later connect (N^2 / 2 frames in all),
and the channel layer carries one presence message per window, so a durable event that
follows the burst no longer queues behind thousands of them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async

from eventlog.broadcast import send_ephemeral_async
from sessions import presence

logger = logging.getLogger(__name__)

# The first window: short enough that a person sees a colleague arrive or leave at once.
PRESENCE_BATCH_S = 0.25
# The longest window, reached by doubling while changes keep coming (a burst of connects).
PRESENCE_BATCH_MAX_S = 2.0


class PresenceBatcher:
    """One per event loop (a web process), owned by the consumers' Hub."""

    def __init__(self) -> None:
        self.pending: dict[int, dict[int, dict[str, Any]]] = {}  # project -> user id -> user
        self.flushes: dict[int, asyncio.Task[None]] = {}
        self.window: dict[int, float] = {}  # project -> the length of its latest window
        self.flushed_at: dict[int, float] = {}  # project -> when that window closed
        self.frames_sent = 0

    def changed(self, project_id: int, user: dict[str, Any]) -> None:
        """`user` ({id, username}) came, went or moved in the project; told in the next batch."""
        self.pending.setdefault(project_id, {})[user["id"]] = user
        if project_id in self.flushes:
            return
        loop = asyncio.get_running_loop()
        window = PRESENCE_BATCH_S
        last, previous = self.flushed_at.get(project_id), self.window.get(project_id)
        if last is not None and previous is not None and loop.time() - last < previous:
            window = min(previous * 2, PRESENCE_BATCH_MAX_S)  # changes keep coming: a burst
        self.window[project_id] = window
        self.flushes[project_id] = loop.create_task(self._flush_later(project_id, window))

    async def _flush_later(self, project_id: int, window: float) -> None:
        try:
            await asyncio.sleep(window)
        finally:
            # A change from here on opens the next window (no frame is lost to this one).
            del self.flushes[project_id]
            self.flushed_at[project_id] = asyncio.get_running_loop().time()
        users = list(self.pending.pop(project_id, {}).values())
        if not users:
            return
        try:
            rows = await sync_to_async(presence.presence_states, thread_sensitive=False)(
                project_id=project_id, users=users
            )
            if rows is None:
                return
            await send_ephemeral_async(project_id, presence.presence_frame(rows, full=False))
            self.frames_sent += 1
        except Exception as exc:  # presence is best effort; the next change tells again
            logger.warning("presence batch for project %s failed (%s)", project_id, exc)
