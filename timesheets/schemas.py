"""The JSON Schemas of the timesheets app's event payloads, added to eventlog's table when the
app is ready (eventlog knows no app; each app describes its own types)."""

from __future__ import annotations

from typing import Any

from eventlog.schemas import ID, OPT_ID, STR, USER, obj, register_schemas, wrap

ENTRY = obj(
    {
        "id": ID,
        "project": ID,
        "song": ID,
        "member": USER,
        "task": OPT_ID,
        "session": OPT_ID,
        "stage": STR,
        "minutes": {"type": "integer", "minimum": 1},
        "spent_on": STR,
        "note": STR,
    }
)

TIME_EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "time.logged": wrap("entry", ENTRY),
    "time.updated": wrap("entry", ENTRY),
    "time.deleted": wrap("entry", ENTRY),
}


def register() -> None:
    register_schemas(TIME_EVENT_SCHEMAS)
