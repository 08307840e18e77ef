"""Builders for the bookings tests, through the real services."""

from __future__ import annotations

import datetime
from typing import Any

from bookings import services
from sessions.services import session_schedule
from studio.services.songs import song_create

UTC = datetime.UTC
START = datetime.datetime(2030, 12, 4, 13, 0, tzinfo=UTC)  # Wednesday of 2030-W49


def at(hours: float, base: datetime.datetime = START) -> datetime.datetime:
    return base + datetime.timedelta(hours=hours)


def song(s: Any, title: str = "Night Drive") -> Any:
    return song_create(actor=s.users["producer"], project=s.project, title=title)


def session(
    s: Any,
    *,
    starts: datetime.datetime = START,
    hours: float = 4,
    on: Any = None,
    kind: str = "recording",
    participants: list[int] | None = None,
) -> Any:
    return session_schedule(
        actor=s.users["producer"],
        song=on if on is not None else song(s),
        kind=kind,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=hours),
        participants=participants,
    )


def resource(s: Any, name: str = "Live room", kind: str = "room", **data: Any) -> Any:
    return services.resource_create(
        actor=s.users["producer"], project=s.project, data={"name": name, "kind": kind, **data}
    )


def book(s: Any, res: Any, ses: Any, who: str = "producer", **times: Any) -> Any:
    return services.booking_create(actor=s.users[who], resource=res, session=ses, **times)
