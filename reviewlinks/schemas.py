"""The JSON Schemas of the review links' event payloads, added to eventlog's table when the app
is ready (eventlog knows no app; each app describes its own types)."""

from __future__ import annotations

from typing import Any

from eventlog.schemas import (
    BOOL,
    ID,
    OPT_ID,
    OPT_NUM,
    STR,
    obj,
    register_schemas,
    wrap,
)

LINK = obj(
    {
        "id": ID,
        "project": ID,
        "mix": OPT_ID,
        "master": OPT_ID,
        "recipient_name": STR,
        "state": STR,
    }
)
COMMENT = obj(
    {
        "id": ID,
        "link": ID,
        "author_name": STR,
        "body": STR,
        "start_s": {"type": "number"},
        "from_outside": BOOL,
    }
)
TRACE = obj(
    {
        "id": ID,
        "project": ID,
        "found": {"type": ["boolean", "null"]},
        "link": OPT_ID,
        "confidence": OPT_NUM,
    }
)

REVIEW_EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "review_link.created": obj({"link": LINK, "job": ID}),
    "review_link.ready": wrap("link", LINK),
    "review_link.revoked": wrap("link", LINK),
    "review_link.accessed": obj({"link": LINK, "kind": STR, "position_s": OPT_NUM}),
    "review_link.commented": obj({"link": LINK, "comment": COMMENT}),
    "review_settings.changed": obj({"project": ID, "stop_on_role_loss": BOOL}),
    "leak_trace.started": obj({"trace": TRACE, "job": ID}),
    "leak_trace.finished": wrap("trace", TRACE),
}


def register() -> None:
    register_schemas(REVIEW_EVENT_SCHEMAS)
