"""The dashboard's activity feed: events from the log, told as sentences people read
("Mia approved Mix 3 of 'Night Drive'"). Each app describes its own event types
(eventlog.registry); the feed only asks. Names are looked up in bulk, so a page of events costs
one query per kind of name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlog.registry import is_quiet, names_for, tell


@dataclass
class Activity:
    seq: int
    type: str
    actor: str
    text: str
    at: datetime
    system: bool = False  # recorded by Studio itself (a job, the sweep), not by a person


def actor_name(user: Any) -> str:
    """The actor as the feed shows it; events without one were made by Studio itself."""
    if user is None:
        return "Studio"
    return user.get_short_name() or user.username


def describe(events: list[Any]) -> list[Activity]:
    """Sentences for events (newest first in, newest first out), skipping quiet types."""
    shown = [e for e in events if not is_quiet(e.type)]
    names = names_for((e.type, e.payload or {}) for e in shown)
    out: list[Activity] = []
    for event in shown:
        who = actor_name(event.actor)
        text = tell(
            event.type, who=who, payload=event.payload or {}, names=names, actor_id=event.actor_id
        )
        if text is not None:
            system = event.actor_id is None
            out.append(Activity(event.seq, event.type, who, text, event.created_at, system))
    return out
