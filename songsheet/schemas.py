"""The JSON Schemas of the song sheet's event payloads, added to eventlog's table when the app is
ready (eventlog is the bottom layer and knows no app; each app describes its own types)."""

from __future__ import annotations

from typing import Any

from eventlog.schemas import ID, INT, OPT_ID, OPT_NUM, STR, obj, register_schemas, wrap

SHEET = obj(
    {
        "song": ID,
        "genre": STR,
        "vibe": STR,
        "time_signature": STR,
        "first_downbeat_s": OPT_NUM,
    }
)
SECTION = obj(
    {
        "id": ID,
        "song": ID,
        "position": INT,
        "name": STR,
        "bars": INT,
        "estimate_minutes": {"type": ["integer", "null"]},
    }
)
PALETTE = obj({"id": ID, "song": ID, "name": STR, "status": STR, "session": OPT_ID})
INFLUENCE = obj(
    {
        "id": ID,
        "song": ID,
        "work": STR,
        "artist": STR,
        "taken": {"type": "array", "items": STR},
        "sample_use": OPT_ID,
    }
)
SECTIONS = obj({"song": ID, "sections": {"type": "array", "items": SECTION}})

SONGSHEET_EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "sheet.updated": wrap("sheet", SHEET),
    "section.added": wrap("section", SECTION),
    "section.updated": wrap("section", SECTION),
    "section.removed": wrap("section", SECTION),
    "sections.reordered": SECTIONS,
    "palette.added": wrap("palette_item", PALETTE),
    "palette.updated": wrap("palette_item", PALETTE),
    "palette.removed": wrap("palette_item", PALETTE),
    "influence.added": wrap("influence", INFLUENCE),
    "influence.updated": wrap("influence", INFLUENCE),
    "influence.removed": wrap("influence", INFLUENCE),
}


def register() -> None:
    register_schemas(SONGSHEET_EVENT_SCHEMAS)
