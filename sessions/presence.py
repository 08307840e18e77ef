"""Presence: who has a project open, and on which song or mix. Ephemeral, never an Event.

Kept in a small store with expiry (Redis when REDIS_URL is set, so every Daphne process sees
it; an in-process dict in embedded mode, where there is one web process). Entries are keyed by
connection, refreshed by the consumer every PRESENCE_REFRESH_S and dropped after PRESENCE_TTL_S,
so a socket that died without a goodbye (kill -9, Redis blip) falls out on its own; a
`disconnect()` removal is only the fast path (django/channels_redis#372).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

PRESENCE_TTL_S = 60.0
PRESENCE_REFRESH_S = 20.0


class MemoryStore:
    def __init__(self) -> None:
        self._data: dict[int, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def put(self, project_id: int, conn: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self._data.setdefault(project_id, {})[conn] = entry

    def drop(self, project_id: int, conn: str) -> None:
        with self._lock:
            self._data.get(project_id, {}).pop(conn, None)

    def entries(self, project_id: int) -> list[dict[str, Any]]:
        cutoff = time.time() - PRESENCE_TTL_S
        with self._lock:
            rows = self._data.get(project_id, {})
            for conn in [c for c, e in rows.items() if e["at"] < cutoff]:
                del rows[conn]
            return list(rows.values())


class RedisStore:
    """One hash per project: field = connection, value = JSON entry with its `at` time."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    @staticmethod
    def _key(project_id: int) -> str:
        return f"studio:presence:{project_id}"

    def put(self, project_id: int, conn: str, entry: dict[str, Any]) -> None:
        key = self._key(project_id)
        pipe = self._client.pipeline()
        pipe.hset(key, conn, json.dumps(entry))
        pipe.expire(key, int(PRESENCE_TTL_S * 2))
        pipe.execute()

    def drop(self, project_id: int, conn: str) -> None:
        self._client.hdel(self._key(project_id), conn)

    def entries(self, project_id: int) -> list[dict[str, Any]]:
        cutoff = time.time() - PRESENCE_TTL_S
        rows = self._client.hgetall(self._key(project_id))
        out, stale = [], []
        for conn, raw in rows.items():
            entry = json.loads(raw)
            if entry["at"] >= cutoff:
                out.append(entry)
            else:
                stale.append(conn)
        if stale:
            self._client.hdel(self._key(project_id), *stale)
        return out


_store: MemoryStore | RedisStore | None = None
_store_lock = threading.Lock()


def store() -> MemoryStore | RedisStore:
    global _store
    with _store_lock:
        if _store is None:
            _store = RedisStore(settings.REDIS_URL) if settings.REDIS_URL else MemoryStore()
        return _store


def reset_store() -> None:
    """For tests that point REDIS_URL elsewhere."""
    global _store
    with _store_lock:
        _store = None


def presence_entry(*, user: Any, song: int | None, mix: int | None) -> dict[str, Any]:
    return {
        "user": {"id": user.pk, "username": user.username},
        "song": song,
        "mix": mix,
        "at": time.time(),
    }


def presence_put(*, project_id: int, conn: str, entry: dict[str, Any]) -> None:
    """Store or refresh one connection's entry. Errors are logged: presence is best effort."""
    entry = entry | {"at": time.time()}
    try:
        store().put(project_id, conn, entry)
    except Exception:
        logger.warning("presence store unavailable", exc_info=True)


def presence_drop(*, project_id: int, conn: str) -> None:
    try:
        store().drop(project_id, conn)
    except Exception:
        logger.warning("presence store unavailable", exc_info=True)


def _latest_per_user(entries: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for entry in entries:
        uid = entry["user"]["id"]
        if uid not in latest or entry["at"] > latest[uid]["at"]:
            latest[uid] = entry
    return latest


def presence_list(*, project_id: int) -> list[dict[str, Any]]:
    """Who is online now: one row per user (their most recent connection), by username."""
    try:
        entries = store().entries(project_id)
    except Exception:
        logger.warning("presence store unavailable", exc_info=True)
        entries = []
    latest = _latest_per_user(entries)
    return sorted(latest.values(), key=lambda e: e["user"]["username"])


def presence_join(
    *, project_id: int, conn: str, entry: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Store a new connection's entry and return the roster it joins (itself included), for the
    full frame the new socket gets; None when the store is unavailable (no frame, then)."""
    try:
        store().put(project_id, conn, entry | {"at": time.time()})
        entries = store().entries(project_id)
    except Exception as exc:
        logger.warning("presence store unavailable (%s)", exc)
        return None
    return sorted(_latest_per_user(entries).values(), key=lambda e: e["user"]["username"])


def presence_states(*, project_id: int, users: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The state now of each given user ({id, username}): online on their most recent
    connection's song and mix (another tab keeps a user online), or offline. Read once from the
    shared store, so every process's batch tells the truth of the moment it was read; None when
    the store is unavailable (the batch is skipped rather than told everyone went offline)."""
    try:
        latest = _latest_per_user(store().entries(project_id))
    except Exception as exc:
        logger.warning("presence store unavailable (%s)", exc)
        return None
    rows = []
    for user in users:
        entry = latest.get(user["id"])
        if entry is None:
            rows.append({"user": user, "song": None, "mix": None, "state": "offline"})
        else:
            rows.append(presence_user(entry))
    return rows


def presence_user(entry: dict[str, Any]) -> dict[str, Any]:
    """One online user as a presence frame lists them (protocol.PresenceUser)."""
    return {
        "user": entry["user"],
        "song": entry.get("song"),
        "mix": entry.get("mix"),
        "state": "online",
    }


def presence_frame(rows: list[dict[str, Any]], *, full: bool) -> dict[str, Any]:
    """The ephemeral websocket frame (no seq): {type: "presence", payload: {full, at, users}}.
    `rows` are protocol.PresenceUser dicts, or store entries (online) for a full roster."""
    users = [row if "state" in row else presence_user(row) for row in rows]
    return {"type": "presence", "payload": {"full": full, "at": time.time(), "users": users}}
