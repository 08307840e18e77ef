"""The only importer of channels.layers: rings the doorbell after commit.

Delivery over the layer is best effort (it drops under load and during Redis restarts); the event
log is the truth and consumers catch up from it. So every error here is logged and swallowed: a
Redis outage never turns a committed write into a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer

from eventlog.models import Event

logger = logging.getLogger(__name__)

# The one progress throttle: at most ~4 `job.progress` frames per job per second, applied where
# progress is reported (the job runner) and again where it is forwarded (the websocket consumer).
PROGRESS_MIN_INTERVAL_S = 0.25

CATCH_UP = "sockets catch up from the event log"
DROPPED = "the frame is dropped (ephemeral)"


def project_group(project_id: int) -> str:
    """The channel-layer group of a project's sockets (the only place the name is spelled)."""
    return f"project.{project_id}"


def user_group(user_id: int) -> str:
    """The channel-layer group of one person's sockets, whatever project each has open (frames
    meant for them alone: their notifications)."""
    return f"user.{user_id}"


def _send_failed(group: str, exc: Exception, *, after: str) -> None:
    """One line, no traceback: a layer that is down (Redis stopped or restarting) is an expected
    state, and a traceback per write would bury the log. `after` says what happens next."""
    logger.warning(
        "channel layer send to %s failed (%s: %s); %s", group, type(exc).__name__, exc, after
    )


# How long a write waits for its broadcast at most; the event is in the log either way.
SEND_TIMEOUT_S = 5.0


class _SendLoop:
    """One long-lived event loop thread per process for the sends of sync code (services, job
    workers, views). Outside an event loop, async_to_sync runs each call in a new thread with a
    new loop, and the channel layer keeps its Redis connections per loop: every broadcast paid
    a new thread, a new Redis connection and its handshake before its own round trips. Here the
    connections live as long as the process (a forked child starts its own thread).

    The sends go through a layer instance of their own, made from the same settings (same Redis,
    same groups): the shared one's flush() or close_pools() closes the pools of every loop it
    knows from the loop it runs on, which a pool of this thread's loop would not survive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._shared: Any = None
        self._layer: Any = None

    def _running(self, shared: Any) -> tuple[asyncio.AbstractEventLoop, Any]:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="eventlog-broadcast", daemon=True
                ).start()
                self._loop, self._pid = loop, os.getpid()
                self._shared = self._layer = None  # a parent's layer: its sockets are not ours
            if self._shared is not shared:  # first use, or the settings changed (tests)
                if self._layer is not None:
                    asyncio.run_coroutine_threadsafe(self._layer.close_pools(), self._loop)
                self._shared = shared
                self._layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
            return self._loop, self._layer

    def group_send(self, shared: Any, group: str, message: dict[str, Any]) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("a sync send called on an event loop: await the layer instead")
        loop, layer = self._running(shared)

        async def call() -> None:
            await layer.group_send(group, message)

        future = asyncio.run_coroutine_threadsafe(call(), loop)
        try:
            future.result(SEND_TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            raise


_send_loop = _SendLoop()


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to the consumers' own loop (embedded mode: Daphne's), which
            # async_to_sync finds from a view's thread; no other loop may touch them.
            async_to_sync(layer.group_send)(group, message)
        else:
            _send_loop.group_send(layer, group, message)
    except Exception as exc:
        durable = message.get("type") == "event.forward"
        _send_failed(group, exc, after=CATCH_UP if durable else DROPPED)


def _group_send(project_id: int, message: dict[str, Any]) -> None:
    _send(project_group(project_id), message)


def forward_message(frame: dict[str, Any]) -> dict[str, Any]:
    """The layer message of an event frame: its text encoded once here, so each socket's
    consumer forwards the same text (50 sockets of a project: one encode, not 50), plus what a
    consumer decides on without decoding it: seq (order, gaps), type and recording time."""
    return {
        "type": "event.forward",
        "seq": frame["seq"],
        "event_type": frame["type"],
        "at": frame["at"],
        "text": json.dumps(frame),
    }


class RecordedEvent(int):
    """An event's id carrying its layer message, built by event_record from the row it has
    just written (encoded then, so a later change to the payload dict cannot leak into it): the
    broadcast after commit reads nothing back."""

    project_id: int
    message: dict[str, Any]

    def __new__(cls, event: Event) -> RecordedEvent:
        recorded = super().__new__(cls, event.pk)
        recorded.project_id = event.project_id
        recorded.message = forward_message(event.to_frame())
        return recorded


def broadcast_event(event_id: int) -> None:
    """Forward a committed event to the project's group (the row is read back unless
    `event_id` is the RecordedEvent that event_record passes)."""
    if isinstance(event_id, RecordedEvent):
        _group_send(event_id.project_id, event_id.message)
        return
    try:
        event = Event.objects.select_related("actor").get(pk=event_id)
    except Event.DoesNotExist:
        return
    _group_send(event.project_id, forward_message(event.to_frame()))


def send_ephemeral(project_id: int, frame: dict[str, Any]) -> None:
    """Frames without a seq (job progress, presence): never stored, never replayed."""
    _group_send(project_id, {"type": "ephemeral.forward", "frame": frame})


async def send_ephemeral_async(project_id: int, frame: dict[str, Any]) -> None:
    """send_ephemeral for code already on the event loop (the web process's presence batches,
    sessions.presence_batch); a failure is logged in one line, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = project_group(project_id)
    try:
        await layer.group_send(group, {"type": "ephemeral.forward", "frame": frame})
    except Exception as exc:
        _send_failed(group, exc, after=DROPPED)


def send_to_user(user_id: int, frame: dict[str, Any]) -> None:
    """An ephemeral frame for one person's open sockets only (best effort, never replayed)."""
    _send(user_group(user_id), {"type": "ephemeral.forward", "frame": frame})


def send_progress(project_id: int, job_id: int, fraction: float, *, kind: str = "") -> None:
    send_ephemeral(
        project_id,
        {"type": "job.progress", "payload": {"job": job_id, "kind": kind, "progress": fraction}},
    )


def layer_probe() -> None:
    """A send to a group nobody joins, for the readiness probe (studio/health.py): unlike every
    other send here it raises, so a channel layer that is down is reported, not swallowed."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    async_to_sync(layer.group_send)("studio.health", {"type": "health.check"})
