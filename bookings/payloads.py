"""The dict forms of resources and bookings carried in event payloads (part of the protocol;
their schemas are in bookings/schemas.py). A booking carries its session's song and
participants, so a listener can tell them without reading a session that may be gone."""

from __future__ import annotations

from typing import Any

from bookings.models import Booking, Resource


def resource_payload(resource: Resource) -> dict[str, Any]:
    return {
        "id": resource.pk,
        "project": resource.project_id,
        "name": resource.name,
        "kind": resource.kind,
        "availability": resource.availability,
        "availability_note": resource.availability_note,
    }


def booking_payload(booking: Booking) -> dict[str, Any]:
    session = booking.session
    return {
        "id": booking.pk,
        "project": booking.project_id,
        "resource": booking.resource_id,
        "resource_name": booking.resource.name,
        "session": booking.session_id,
        "song": session.song_id,
        "session_kind": session.kind,
        "participants": sorted(u.pk for u in session.participants.all()),
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "note": booking.note,
    }
