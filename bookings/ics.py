"""The private calendar feed as iCalendar (RFC 5545) text, built with the `icalendar` package.

One VEVENT per working session the member can see: a stable UID (the session's id and the
project's, so an edit updates the same event in the calendar app), DTSTART/DTEND as UTC instants
(unambiguous in every client, whatever its own zone), the song and kind as SUMMARY, the rooms
booked as LOCATION, and every booking with its times in the member's own zone in DESCRIPTION.
X-WR-TIMEZONE names that zone for the clients that display a feed in it."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import icalendar

from bookings.models import Booking, ResourceKind
from bookings.services import person, span_text
from sessions.models import WorkingSession

PRODID = "-//Studio//Sessions and bookings//EN"


def session_uid(session: WorkingSession) -> str:
    return f"session-{session.pk}.project-{session.project_id}@studio"


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC)


def _event(
    session: WorkingSession, bookings: list[Booking], zone: datetime.tzinfo
) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", session_uid(session))
    event.add("dtstamp", _utc(session.created_at))
    event.add("dtstart", _utc(session.starts_at))
    event.add("dtend", _utc(session.ends_at))
    event.add("summary", f"{session.get_kind_display()} session: {session.song.title}")
    rooms = [b.resource.name for b in bookings if b.resource.kind == ResourceKind.ROOM]
    if rooms:
        event.add("location", ", ".join(dict.fromkeys(rooms)))
    lines = [f"{session.get_kind_display()} session of '{session.song.title}'"]
    if bookings:
        lines.append("Booked:")
        lines += [
            f"- {b.resource.name} ({b.resource.get_kind_display().lower()}), "
            f"{span_text(b.starts_at, b.ends_at, zone)}" + (f": {b.note}" if b.note else "")
            for b in bookings
        ]
    people = [person(u) for u in session.participants.all()]
    if people:
        lines.append(f"Participants: {', '.join(people)}")
    if session.notes:
        lines += ["", session.notes]
    event.add("description", "\n".join(lines))
    return event


def feed_calendar(*, name: str, sessions: Iterable[WorkingSession], zone: datetime.tzinfo) -> bytes:
    """The feed's bytes (CRLF lines, folded at 75 octets by the package)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", str(zone))
    for session in sessions:
        rows = session.bookings.all()  # prefetched
        bookings = sorted(rows, key=lambda b: (b.starts_at, b.pk))
        cal.add_component(_event(session, bookings, zone))
    return cal.to_ical()
