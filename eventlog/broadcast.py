"""The only importer of channels.layers: rings the doorbell after commit.

Delivery over the layer is best effort (it drops under load and during Redis restarts); the event
log is the truth and consumers catch up from it. So every error here is logged and swallowed: a
Redis outage never turns a committed write into a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

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


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception as exc:
        durable = message.get("type") == "event.forward"
        _send_failed(group, exc, after=CATCH_UP if durable else DROPPED)


def _group_send(project_id: int, message: dict[str, Any]) -> None:
    _send(project_group(project_id), message)


def broadcast_event(event_id: int) -> None:
    """Forward a committed event to the project's group."""
    try:
        event = Event.objects.select_related("actor").get(pk=event_id)
    except Event.DoesNotExist:
        return
    _group_send(event.project_id, {"type": "event.forward", "event": event.to_frame()})


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
