"""The JSON Schemas of the bookings app's event payloads, added to eventlog's table when the app
is ready (eventlog knows no app; each app describes its own types)."""

from __future__ import annotations

from typing import Any

from eventlog.schemas import ID, IDS, STR, obj, register_schemas, wrap

RESOURCE = obj(
    {
        "id": ID,
        "project": ID,
        "name": STR,
        "kind": STR,
        "availability": STR,
        "availability_note": STR,
    },
    strict=False,
)
BOOKING = obj(
    {
        "id": ID,
        "project": ID,
        "resource": ID,
        "resource_name": STR,
        "session": ID,
        "song": ID,
        "session_kind": STR,
        "participants": IDS,
        "starts_at": STR,
        "ends_at": STR,
        "note": STR,
    },
    strict=False,
)

BOOKING_EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "resource.created": wrap("resource", RESOURCE),
    "resource.updated": wrap("resource", RESOURCE),
    "resource.deleted": wrap("resource", RESOURCE),
    "booking.created": wrap("booking", BOOKING),
    "booking.updated": wrap("booking", BOOKING),
    "booking.deleted": wrap("booking", BOOKING),
}


def register() -> None:
    register_schemas(BOOKING_EVENT_SCHEMAS)
