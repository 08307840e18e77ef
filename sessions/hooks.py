"""Rows of higher apps that follow a working session (a room's booking follows its session).

sessions sits below those apps and never imports them; they register here instead, in their
`AppConfig.ready()`. `session_update` and `session_delete` call the followers inside their own
transaction, after the project lock: a follower moves or frees its rows, records its own events
in the same transaction, and may refuse the change by raising a DomainError (everything rolls
back, the session too)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

# (actor, session with its new times, the old starts_at, the old ends_at)
Moved = Callable[[Any, Any, datetime.datetime, datetime.datetime], None]
Cancelled = Callable[[Any, Any], None]  # (actor, session about to be deleted)

_moved: list[Moved] = []
_cancelled: list[Cancelled] = []


def on_session_moved(follower: Moved) -> None:
    if follower not in _moved:
        _moved.append(follower)


def on_session_cancelled(follower: Cancelled) -> None:
    if follower not in _cancelled:
        _cancelled.append(follower)


def session_moved(
    actor: Any, session: Any, old_start: datetime.datetime, old_end: datetime.datetime
) -> None:
    for follower in _moved:
        follower(actor, session, old_start, old_end)


def session_cancelled(actor: Any, session: Any) -> None:
    for follower in _cancelled:
        follower(actor, session)
