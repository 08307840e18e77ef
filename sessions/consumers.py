"""ProjectConsumer: the project's event log, live, over a websocket (protocol: sessions.protocol).

Delivery is best effort on every path (the channel layer drops under load and loses its groups
in a Redis restart), so the log is the truth. The consumer

1. checks the session user (4401),
2. joins the group `project.<id>` (and `user.<id>`, the frames meant for this person alone:
   their notifications) FIRST, then reads membership (4404 for a non-member), the log
   position and the first replay batch after `?after=` in one database call (or sends
   `resync`),
3. forwards live events strictly in seq order: a seq already sent is dropped, a gap is filled
   from the database before anything later is sent,
4. is caught up from the event table by a per-process timer (`Hub`, every TICK_S), which is how
   events written by worker processes reach browsers in embedded mode (in-memory layer) and how
   deliveries the layer dropped are healed. The same tick re-checks every open socket's
   membership in one query; a `member.removed` event for the user closes the socket at once.
   A removed member gets nothing after the removal event and is closed with 4403.
5. tells who is here: a socket that connects gets the whole roster in one frame; connects,
   disconnects and moves reach the others batched (sessions.presence_batch), at most one
   presence frame per project per PRESENCE_BATCH_S, so a burst of connects does not flood
   every socket ahead of the next durable event.

A channel-layer failure (Redis down) does not kill the socket: the layer receive is retried with
backoff and the group re-joined when Redis is back; meanwhile the timer keeps delivering.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from eventlog.broadcast import (
    PROGRESS_MIN_INTERVAL_S,
    forward_message,
    project_group,
    user_group,
)
from eventlog.selectors import event_frames_after
from sessions import presence, selectors
from sessions.presence_batch import PresenceBatcher
from sessions.protocol import (
    CLOSE_BAD_REQUEST,
    CLOSE_NO_SESSION,
    CLOSE_NOT_MEMBER,
    CLOSE_REMOVED,
    PROTOCOL_VERSION,
)
from studio.metrics import EVENT_LAG, WEBSOCKETS_ACCEPTED, WEBSOCKETS_OPEN

logger = logging.getLogger(__name__)

TICK_S = 0.5  # catch-up and membership timer
REPLAY_LIMIT = 1000  # more missed events than this: resync instead of replay
BATCH = 500
PRESENCE_MIN_INTERVAL_S = 0.2


# Bumped whenever any consumer of this process sees the channel layer fail; consumers whose
# group join is older re-join on the next tick (a Redis restart loses group membership).
_layer_generation = 0


def _bump_layer_generation() -> None:
    global _layer_generation
    _layer_generation += 1


class Hub:
    """One per event loop (a Daphne process): a single timer for every open socket, so the
    safety net costs one or two queries per tick however many sockets are open."""

    def __init__(self) -> None:
        self.consumers: dict[int, set[ProjectConsumer]] = defaultdict(set)
        self.task: asyncio.Task[None] | None = None
        self.seen: dict[int, int] = {}
        self.last_presence = time.monotonic()
        self.presence = PresenceBatcher()

    def add(self, consumer: ProjectConsumer) -> None:
        self.consumers[consumer.project_id].add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def remove(self, consumer: ProjectConsumer) -> None:
        group = self.consumers.get(consumer.project_id)
        if group is not None:
            group.discard(consumer)
            if not group:
                del self.consumers[consumer.project_id]
                self.seen.pop(consumer.project_id, None)

    async def run(self) -> None:
        while self.consumers:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick()
            except Exception:
                logger.warning("live catch-up tick failed", exc_info=True)

    async def tick(self) -> None:
        if not self.consumers:
            return
        # Judge only the sockets that existed when membership was read: one that connects
        # during the query is not in its answer and must not be taken for a removed member.
        snapshot = {pid: list(group) for pid, group in self.consumers.items()}
        project_ids = list(snapshot)
        user_ids = sorted({c.user_id for group in snapshot.values() for c in group})
        last, members = await database_sync_to_async(selectors.live_poll)(
            project_ids=project_ids, user_ids=user_ids
        )
        for project_id in project_ids:
            current = self.consumers.get(project_id, set())
            group = [c for c in snapshot[project_id] if c in current and c.ready and not c.closed]
            for consumer in group:
                if (project_id, consumer.user_id) not in members:
                    await consumer.revoke()
            group = [c for c in group if not c.closed]
            # Only chase what was already committed one tick ago: live delivery normally gets
            # there first, and the database is not read for nothing.
            previous = self.seen.get(project_id)
            self.seen[project_id] = last.get(project_id, 0)
            lagging = [c for c in group if previous is not None and c.last_sent < previous]
            if lagging:
                start = min(c.last_sent for c in lagging)
                frames = await database_sync_to_async(event_frames_after)(
                    project_id=project_id, after=start, limit=BATCH
                )
                messages = [forward_message(f) for f in frames]  # encoded once for all
                for consumer in lagging:
                    await consumer.deliver(messages, source="timer")
            for consumer in group:
                if consumer.joined_generation != _layer_generation:
                    await consumer.rejoin()
        if time.monotonic() - self.last_presence >= presence.PRESENCE_REFRESH_S:
            self.last_presence = time.monotonic()
            for sockets in self.consumers.values():
                for consumer in sockets:
                    await consumer.presence_refresh()


def _open_log(
    *, project_id: int, user_id: int, after: int | None, epoch: str | None
) -> tuple[str, int, str | None, int, list[dict[str, Any]]] | None:
    """Everything a connect reads, in one database round: membership, the log position, whether
    `after`/`epoch` can be honoured (else the resync reason) and the first replay batch.
    Returns (epoch, last_seq, resync reason, replay start, frames), or None for a non-member.

    One call, so one connection: with CONN_MAX_AGE=0 every database_sync_to_async call opens a
    new PostgreSQL connection on Daphne's single sync thread, and a burst of 100 connects was
    bound by those (W8 in docs/reliability.md)."""
    position = selectors.log_position(project_id=project_id, user_id=user_id)
    if position is None or not position[3]:
        return None
    log_epoch, last_seq, first_kept, _ = position
    reason = None
    if after is None:
        after = last_seq  # no position given: start live from now
    elif epoch is not None and epoch != log_epoch:
        reason = "epoch"
    elif after > last_seq:
        reason = "ahead"
    elif after + 1 < first_kept:
        reason = "pruned"
    elif last_seq - after > REPLAY_LIMIT:
        reason = "too_far_behind"
    if reason is not None:
        after = last_seq
    frames = event_frames_after(project_id=project_id, after=after, limit=BATCH)
    return log_epoch, last_seq, reason, after, frames


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]


class ProjectConsumer(AsyncJsonWebsocketConsumer):
    project_id: int = 0
    user_id: int = 0
    last_sent: int = 0
    ready = False
    closed = False
    in_group = False
    counted = False  # in the open-connections gauge
    joined_generation = -1
    member_since_seq = 0

    # --- a channel layer receive that survives a Redis restart ------------------------------
    # AsyncConsumer.__call__ assigns `self.channel_receive`; the property keeps the layer's
    # receive and hands the dispatcher a retrying wrapper instead.
    @property
    def channel_receive(self) -> Any:
        return self._resilient_receive

    @channel_receive.setter
    def channel_receive(self, receive: Any) -> None:
        self._layer_receive = receive

    async def _resilient_receive(self) -> dict[str, Any]:
        delay = 0.25
        while True:
            try:
                return await self._layer_receive()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _bump_layer_generation()
                logger.warning("channel layer receive failed (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 4.0)

    # --- connect: auth, membership, join, replay ---------------------------------------------
    async def connect(self) -> None:
        self.lock = asyncio.Lock()
        self.progress_sent: dict[Any, float] = {}
        self.presence_at = 0.0
        self.presence_entry: dict[str, Any] | None = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_NO_SESSION)
            return
        self.user = user
        self.user_id = user.pk
        try:
            self.project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
            query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
            after_raw = query.get("after", [""])[0]
            after = int(after_raw) if after_raw != "" else None
            epoch = query.get("epoch", [""])[0] or None
            if (after is not None and after < 0) or self.project_id > 2**62:
                raise ValueError
        except (KeyError, ValueError):
            await self._refuse(CLOSE_BAD_REQUEST)
            return
        await self.join()  # subscribe first, then read the log: nothing falls in between
        opened = await database_sync_to_async(_open_log)(
            project_id=self.project_id, user_id=self.user_id, after=after, epoch=epoch
        )
        if opened is None:  # no such project, or not a member
            await self._refuse(CLOSE_NOT_MEMBER)
            return
        log_epoch, last_seq, reason, start, frames = opened
        # A member.removed for this user at or before this seq was undone (they are a member
        # now); one after it closes the socket.
        self.member_since_seq = last_seq
        await self.accept()
        self.counted = True
        WEBSOCKETS_OPEN.inc()
        WEBSOCKETS_ACCEPTED.inc()
        await self.send_json(
            {
                "type": "hello",
                "epoch": log_epoch,
                "last_seq": last_seq,
                "project": self.project_id,
                "version": PROTOCOL_VERSION,
            }
        )
        async with self.lock:
            if reason is not None:
                await self.send_json(
                    {"type": "resync", "reason": reason, "epoch": log_epoch, "last_seq": last_seq}
                )
            self.last_sent = start
        while True:  # replay in batches up to where the log was when we looked
            await self.deliver([forward_message(f) for f in frames], source="replay")
            if self.closed or len(frames) < BATCH or self.last_sent >= last_seq:
                break
            frames = await database_sync_to_async(event_frames_after)(
                project_id=self.project_id, after=self.last_sent, limit=BATCH
            )
        if self.closed:
            return
        self.ready = True
        hub().add(self)
        self.presence_entry = presence.presence_entry(user=self.user, song=None, mix=None)
        roster = await sync_to_async(presence.presence_join, thread_sensitive=False)(
            project_id=self.project_id, conn=self.channel_name, entry=self.presence_entry
        )
        if roster is not None and not self.closed:
            # This socket alone gets the whole roster; the others hear of it in the next batch.
            await self.send_json(presence.presence_frame(roster, full=True))
        hub().presence.changed(self.project_id, self.presence_entry["user"])

    async def _refuse(self, code: int) -> None:
        self.closed = True
        await self.accept()
        await self.close(code=code)

    async def join(self) -> None:
        generation = _layer_generation
        try:
            for group in self.groups_joined:
                await self.channel_layer.group_add(group, self.channel_name)
        except Exception as exc:
            _bump_layer_generation()
            logger.warning("group_add failed (%s); the timer delivers until it works", exc)
            return
        self.in_group = True
        self.joined_generation = generation

    async def rejoin(self) -> None:
        await self.join()

    @property
    def group(self) -> str:
        return project_group(self.project_id)

    @property
    def groups_joined(self) -> tuple[str, ...]:
        """The project's group, and the person's own (their notifications, on any project page)."""
        return (self.group, user_group(self.user_id))

    # --- delivery ------------------------------------------------------------------------------
    async def dispatch(self, message: dict[str, Any]) -> None:
        """Frames from the channel layer skip Channels' per-message close_old_connections: it
        is a hop to the sync thread for every frame of every socket (at 50 sockets, 50 hops per
        event, queued behind the database calls there), and these handlers touch the database
        only through database_sync_to_async, which closes old connections itself."""
        if message["type"] == "event.forward":
            await self.event_forward(message)
        elif message["type"] == "ephemeral.forward":
            await self.ephemeral_forward(message)
        else:
            await super().dispatch(message)

    async def deliver(self, messages: list[dict[str, Any]], *, source: str) -> None:
        """Send events in seq order, each once. A gap is filled from the database first.
        `messages` are events as the layer carries them (eventlog.broadcast.forward_message):
        their text is sent as it is, never encoded again here."""
        async with self.lock:
            pending = sorted(messages, key=lambda m: m["seq"])
            while pending and not self.closed:
                message = pending.pop(0)
                seq = message["seq"]
                if seq <= self.last_sent:
                    continue
                if seq > self.last_sent + 1:
                    # Missed something (dropped or reordered by the layer): read the log from
                    # where we are; it holds this event too (broadcast runs after commit).
                    fetched = await database_sync_to_async(event_frames_after)(
                        project_id=self.project_id, after=self.last_sent, limit=BATCH
                    )
                    if not fetched or fetched[0]["seq"] != self.last_sent + 1:
                        logger.warning(
                            "project %s: seq %s missing from the log", self.project_id, seq
                        )
                        return
                    last = fetched[-1]["seq"]
                    pending = sorted(
                        [m for m in pending if m["seq"] > last]
                        + [forward_message(f) for f in fetched],
                        key=lambda m: m["seq"],
                    )
                    continue
                if self._removes_me(message):
                    await self._close_removed()
                    return
                await self.send(text_data=message["text"])
                self.last_sent = seq
                if source != "replay":
                    _observe_lag(message)

    def _removes_me(self, message: dict[str, Any]) -> bool:
        if message["event_type"] != "member.removed":
            return False
        if message["seq"] <= self.member_since_seq:
            return False
        frame = json.loads(message["text"])  # only this rare type is decoded
        member = (frame.get("payload") or {}).get("member") or {}
        return (member.get("user") or {}).get("id") == self.user_id

    async def revoke(self) -> None:
        """Membership is gone (seen by the timer): close now, send nothing more."""
        async with self.lock:
            if not self.closed:
                await self._close_removed()

    async def _close_removed(self) -> None:
        self.closed = True
        await self.close(code=CLOSE_REMOVED)

    async def event_forward(self, message: dict[str, Any]) -> None:
        if self.ready and not self.closed:
            if "text" not in message:  # the frame itself (a web process of the previous release)
                message = forward_message(message["event"])
            await self.deliver([message], source="live")

    async def ephemeral_forward(self, message: dict[str, Any]) -> None:
        if not self.ready or self.closed:
            return
        frame = message["frame"]
        if frame.get("type") == "job.progress":
            payload = frame.get("payload") or {}
            key = payload.get("job")
            now = time.monotonic()
            done = (payload.get("progress") or 0) >= 1
            if not done and now - self.progress_sent.get(key, 0.0) < PROGRESS_MIN_INTERVAL_S:
                return
            self.progress_sent[key] = now
        await self.send_json(frame)

    # --- presence ------------------------------------------------------------------------------
    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """A frame that is not JSON text is ignored, as a JSON frame of the wrong shape is
        (Channels' own decoding raised, which closed the socket with 1011 and a traceback)."""
        if text_data is None:
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not self.ready or self.closed or not isinstance(content, dict):
            return
        if content.get("type") == "presence":
            now = time.monotonic()
            if now - self.presence_at < PRESENCE_MIN_INTERVAL_S:
                return
            self.presence_at = now
            song, mix = content.get("song"), content.get("mix")
            valid = all(v is None or (isinstance(v, int) and 0 < v < 2**62) for v in (song, mix))
            if not valid:
                return
            self.presence_entry = presence.presence_entry(user=self.user, song=song, mix=mix)
            await sync_to_async(presence.presence_put, thread_sensitive=False)(
                project_id=self.project_id, conn=self.channel_name, entry=self.presence_entry
            )
            hub().presence.changed(self.project_id, self.presence_entry["user"])

    async def presence_refresh(self) -> None:
        if self.presence_entry is not None and not self.closed:
            await sync_to_async(presence.presence_put, thread_sensitive=False)(
                project_id=self.project_id, conn=self.channel_name, entry=self.presence_entry
            )

    # --- disconnect ----------------------------------------------------------------------------
    async def disconnect(self, code: int) -> None:
        was_ready = self.ready
        self.ready = False
        self.closed = True
        if self.counted:
            self.counted = False
            WEBSOCKETS_OPEN.dec()
        if self.project_id:
            hub().remove(self)
        if was_ready and self.presence_entry is not None:
            await sync_to_async(presence.presence_drop, thread_sensitive=False)(
                project_id=self.project_id, conn=self.channel_name
            )
            hub().presence.changed(self.project_id, self.presence_entry["user"])
        if self.in_group:
            try:
                for group in self.groups_joined:
                    await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:
                logger.info("group_discard failed (%s)", exc)


def _observe_lag(message: dict[str, Any]) -> None:
    """Event lag: from the event's recording to its frame leaving here (studio/metrics.py)."""
    try:
        at = datetime.fromisoformat(str(message["at"]))
    except (KeyError, ValueError):
        return
    EVENT_LAG.observe(max(0.0, (datetime.now(UTC) - at).total_seconds()))


class NoRouteConsumer(AsyncWebsocketConsumer):
    """Any other websocket path (`/ws/projects/abc/`, an id of 19 digits): closed with 4404
    like an unknown project, instead of the router's "No route found" exception."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_MEMBER)
