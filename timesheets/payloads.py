"""The dict form of a time entry carried in the time.* event payloads (part of the protocol)."""

from __future__ import annotations

from typing import Any

from studio.payloads import user_payload
from timesheets.models import TimeEntry


def entry_payload(entry: TimeEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "project": entry.project_id,
        "song": entry.song_id,
        "member": user_payload(entry.member),
        "task": entry.task_id,
        "session": entry.session_id,
        "stage": entry.stage,
        "minutes": entry.minutes,
        "spent_on": entry.spent_on.isoformat(),
        "note": entry.note,
    }
