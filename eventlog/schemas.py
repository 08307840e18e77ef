"""JSON Schemas (draft 2020-12) of every event type's payload: part of the protocol.

`EVENT_SCHEMAS[type]` validates `Event.payload`; `FRAME_SCHEMA` validates the frame around it.
Tests validate every event the services record against these (tests/live/test_verify_action.py)
and fail on an event type that has no schema here, so a new event type needs an entry.
"""

from __future__ import annotations

from typing import Any

INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
NUM = {"type": "number"}
ID = {"type": "integer", "minimum": 1}
OPT_ID = {"type": ["integer", "null"]}
OPT_STR = {"type": ["string", "null"]}
OPT_NUM = {"type": ["number", "null"]}
USER = {
    "type": "object",
    "required": ["id", "username"],
    "properties": {"id": ID, "username": STR},
    "additionalProperties": False,
}
OPT_USER = {"anyOf": [USER, {"type": "null"}]}
IDS = {"type": "array", "items": ID}


def obj(props: dict[str, Any], *, strict: bool = True, optional: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "required": [k for k in props if k not in optional],
        "properties": props,
        "additionalProperties": not strict,
    }


def wrap(key: str, schema: dict) -> dict:
    return obj({key: schema})


PROJECT = obj(
    {
        "id": ID,
        "name": STR,
        "description": STR,
        "gate_checks": {"type": "array", "items": STR},
    },
    optional=("gate_checks",),
)
MEMBER = obj({"id": ID, "project": ID, "user": USER, "role": STR})
# A project's or a song's lifecycle (archive, delete, restore, purge): its times or null.
PROJECT_STATE = obj({"id": ID, "name": STR, "archived_at": OPT_STR, "deleted_at": OPT_STR})
SONG_STATE = obj(
    {"id": ID, "project": ID, "title": STR, "archived_at": OPT_STR, "deleted_at": OPT_STR}
)
INVITATION = obj(
    {"id": ID, "project": ID, "email": STR, "role": STR, "state": STR, "expires_at": STR}
)
SONG = obj(
    {
        "id": ID,
        "project": ID,
        "title": STR,
        "stage": STR,
        "key": STR,
        "tempo_bpm": OPT_STR,
        "isrc": STR,
        "notes": STR,
    }
)
STAGE_CHANGE = obj(
    {
        "id": ID,
        "song": ID,
        "from_stage": STR,
        "to_stage": STR,
        "actor": OPT_USER,
        "reason": STR,
        "at": STR,
    }
)
TASK = obj(
    {
        "id": ID,
        "project": ID,
        "song": ID,
        "stage": STR,
        "title": STR,
        "description": STR,
        "assignee": OPT_USER,
        "due_date": OPT_STR,
        "status": STR,
        "rank": INT,
        "estimate_minutes": {"type": ["integer", "null"], "minimum": 0},
    },
    optional=("estimate_minutes",),  # events recorded before tasks had estimates
)
COLUMNS = {"type": "object", "additionalProperties": IDS}
CREDIT = obj(
    {
        "id": ID,
        "song": ID,
        "role": STR,
        "contributor_name": STR,
        "instrument": STR,
        "user": OPT_USER,
        "ipi": STR,
        "isni": STR,
    }
)
SAMPLE_USE = obj(
    {
        "id": ID,
        "song": ID,
        "source_work": STR,
        "rights_holder": STR,
        "kind": STR,
        "clearance": STR,
        "notes": STR,
    }
)
REF_ON_SONG = obj({"id": ID, "song": ID})

COMMENT = obj(
    {
        "id": ID,
        "project": ID,
        "mix": OPT_ID,
        "master": OPT_ID,
        "parent": OPT_ID,
        "author": OPT_USER,
        "body": STR,
        "start_s": OPT_NUM,
        "end_s": OPT_NUM,
        "mentions": IDS,
        "resolved_at": OPT_STR,
        "resolved_by": OPT_USER,
        "edited_at": OPT_STR,
        "deleted": BOOL,
        "created_at": STR,
    }
)
APPROVAL = obj(
    {
        "id": ID,
        "project": ID,
        "mix": OPT_ID,
        "master": OPT_ID,
        "reviewer": USER,
        "verdict": {"enum": ["approved", "changes_requested"]},
        "note": STR,
        "created_at": STR,
    }
)
APPROVAL_CHANGE = obj({"id": ID, "song": ID, "is_approved": BOOL})
SESSION = obj(
    {
        "id": ID,
        "project": ID,
        "song": ID,
        "kind": {"enum": ["recording", "overdub", "mix", "listening"]},
        "starts_at": STR,
        "ends_at": STR,
        "participants": IDS,
        "notes": STR,
        "takes": IDS,
    }
)
KEEPER = obj({"id": ID, "song": ID, "part": STR, "is_keeper": BOOL})

# The audio room's payloads (audio/payloads.py). Checked for their identifying fields; extra
# fields are allowed so the audio room can add to them without breaking clients.
# A stored file of any kind: audio has a duration, artwork or a report has none.
ASSET = obj(
    {
        "id": ID,
        "project": ID,
        "kind": STR,
        "media_type": STR,
        "sha256": STR,
        "duration_s": OPT_NUM,
        "format": STR,
    },
    strict=False,
    optional=("kind", "media_type"),  # events recorded before stored files had kinds
)
STEM = obj({"id": ID, "project": ID, "song": ID, "asset": ID}, strict=False)
TAKE = obj(
    {
        "id": ID,
        "project": ID,
        "song": ID,
        "asset": ID,
        "part": STR,
        "number": INT,
        "is_keeper": BOOL,
    },
    strict=False,
)
MIX = obj({"id": ID, "project": ID, "song": ID, "number": INT}, strict=False)
MASTER = obj({"id": ID, "project": ID, "song": ID, "number": INT}, strict=False)
REFERENCE = obj({"id": ID, "project": ID, "song": ID, "asset": ID, "title": STR}, strict=False)
JOB = obj({"id": ID, "project": ID, "kind": STR, "state": STR}, strict=False)

EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    # studio
    "project.created": wrap("project", PROJECT),
    "project.updated": wrap("project", PROJECT),
    "project.archived": wrap("project", PROJECT_STATE),
    "project.unarchived": wrap("project", PROJECT_STATE),
    "project.deleted": wrap("project", PROJECT_STATE),
    "project.restored": wrap("project", PROJECT_STATE),
    "member.added": wrap("member", MEMBER),
    "member.role_changed": wrap("member", MEMBER),
    "member.removed": wrap("member", MEMBER),
    # a person's new display name (User.first_name), told in each of their projects
    "member.renamed": obj({"member": MEMBER, "display_name": STR, "previous": STR}),
    "member.invited": wrap("invitation", INVITATION),
    "member.invitation_revoked": wrap("invitation", INVITATION),
    "song.created": wrap("song", SONG),
    "song.updated": wrap("song", SONG),
    "song.deleted": wrap("song", SONG_STATE),
    "song.archived": wrap("song", SONG_STATE),
    "song.unarchived": wrap("song", SONG_STATE),
    "song.restored": wrap("song", SONG_STATE),
    "song.purged": wrap("song", SONG_STATE),
    "song.stage_changed": obj({"song": SONG, "change": STAGE_CHANGE}),
    "task.created": wrap("task", TASK),
    "task.updated": wrap("task", TASK),
    "task.moved": obj({"task": TASK, "columns": COLUMNS}),
    "task.deleted": obj({"task": obj({"id": ID}), "columns": COLUMNS}),
    "credit.added": wrap("credit", CREDIT),
    "credit.updated": wrap("credit", CREDIT),
    "credit.removed": wrap("credit", REF_ON_SONG),
    "splits.set": obj(
        {
            "song": ID,
            "right": STR,
            "shares": {"type": "array", "items": obj({"party": STR, "share": STR})},
        }
    ),
    "sample_use.added": wrap("sample_use", SAMPLE_USE),
    "sample_use.updated": wrap("sample_use", SAMPLE_USE),
    "sample_use.removed": wrap("sample_use", REF_ON_SONG),
    # live (sessions.services)
    "comment.added": wrap("comment", COMMENT),
    "comment.edited": wrap("comment", COMMENT),
    "comment.deleted": wrap("comment", COMMENT),
    "comment.resolved": wrap("comment", COMMENT),
    "comment.reopened": wrap("comment", COMMENT),
    "approval.given": wrap("approval", APPROVAL),
    "mix.approval_changed": wrap("mix", APPROVAL_CHANGE),
    "master.approval_changed": wrap("master", APPROVAL_CHANGE),
    "session.scheduled": wrap("session", SESSION),
    "session.updated": wrap("session", SESSION),
    "session.deleted": wrap("session", REF_ON_SONG),
    "take.keeper_changed": wrap("takes", {"type": "array", "items": KEEPER}),
    # audio
    "asset.created": wrap("asset", ASSET),
    "stem.attached": wrap("stem", STEM),
    "take.attached": wrap("take", TAKE),
    "take.updated": wrap("take", TAKE),
    "mix.created": wrap("mix", MIX),
    "master.created": obj({"master": MASTER, "job": ID}, optional=("job",)),
    "reference.added": wrap("reference", REFERENCE),
    "reference.removed": wrap("reference", REFERENCE),
    "job.queued": wrap("job", JOB),
    "job.started": wrap("job", JOB),
    "job.finished": wrap("job", JOB),
    "job.failed": wrap("job", JOB),
    "job.cancelled": wrap("job", JOB),
    "job.requeued": obj({"job": JOB, "reason": STR}),
    "asset.analyzed": obj({"asset": ASSET, "job": ID, "integrated_lufs": OPT_NUM}),
    "asset.stored": obj({"asset": ASSET, "job": ID}),
    "mix.draft_created": wrap("mix", MIX),
    "mix.spec_changed": wrap("mix", MIX),
    "mix.draft_discarded": wrap("mix", MIX),
    "mix.rendered": obj({"mix": MIX, "job": ID, "report": {"type": "object"}}),
}

FRAME_SCHEMA: dict[str, Any] = obj(
    {
        "seq": ID,
        "type": {"enum": sorted(EVENT_SCHEMAS)},
        "payload": {"type": "object"},
        "actor": OPT_USER,
        "at": STR,
    }
)


def register_schemas(schemas: dict[str, dict[str, Any]]) -> None:
    """Add an app's event types (the apps above call this from AppConfig.ready; eventlog is the
    bottom layer and knows no app). A type registered twice with another schema is a mistake."""
    for type, schema in schemas.items():
        if EVENT_SCHEMAS.get(type, schema) != schema:
            raise ValueError(f"event type {type} is already registered with another schema")
    EVENT_SCHEMAS.update(schemas)
    FRAME_SCHEMA["properties"]["type"]["enum"] = sorted(EVENT_SCHEMAS)
