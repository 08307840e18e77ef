"""The JSON Schemas of the delivery app's event payloads, added to eventlog's table when the app
is ready (eventlog is the bottom layer and knows no app; each app describes its own types)."""

from __future__ import annotations

from typing import Any

from eventlog.schemas import ID, INT, OPT_ID, STR, obj, register_schemas, wrap

RELEASE = obj(
    {"id": ID, "project": ID, "title": STR, "artist": STR, "upc": STR, "artwork": OPT_ID},
    strict=False,
)
TRACK = obj(
    {"id": ID, "release": ID, "position": INT, "song": ID, "master": OPT_ID, "title": STR},
    strict=False,
)
ISRC = obj({"id": ID, "master": ID, "song": ID, "code": STR})
DELIVERY = obj(
    {
        "id": ID,
        "release": ID,
        "title": STR,
        "number": INT,
        "job": ID,
        "qc_status": STR,
        "bundle": OPT_ID,
    },
    strict=False,
)
TRACKS = obj({"release": ID, "tracks": {"type": "array", "items": TRACK}})

DELIVERY_EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "release.created": wrap("release", RELEASE),
    "release.updated": wrap("release", RELEASE),
    "release.deleted": wrap("release", RELEASE),
    "release.tracks_changed": TRACKS,
    "isrc.assigned": wrap("isrc", ISRC),
    "release.delivered": obj({"delivery": DELIVERY, "job": ID}),
}


def register() -> None:
    register_schemas(DELIVERY_EVENT_SCHEMAS)
