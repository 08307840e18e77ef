"""How the timesheets app's events read in the activity feed (registered in its ready())."""

from __future__ import annotations

from typing import Any

from eventlog.registry import Told, register_event_type
from timesheets.durations import STAGE_LABELS, minutes_label


def _entry(t: Told) -> dict[str, Any]:
    return t.payload.get("entry") or {}


def _what(t: Told) -> str:
    e = _entry(t)
    stage = STAGE_LABELS.get(str(e.get("stage", "")), str(e.get("stage", ""))).lower()
    return f"{minutes_label(e.get('minutes'))} on {t.names.song(e.get('song'))} ({stage})"


def _logged(t: Told) -> str:
    return f"{t.who} logged {_what(t)}"


def _updated(t: Told) -> str:
    return f"{t.who} corrected a time entry: {_what(t)}"


def _deleted(t: Told) -> str:
    return f"{t.who} deleted a time entry of {_what(t)}"


def _refs(p: dict[str, Any]) -> Any:
    yield ("song", (p.get("entry") or {}).get("song"))


def register() -> None:
    register_event_type("time.logged", _logged, refs=_refs)
    register_event_type("time.updated", _updated, refs=_refs)
    register_event_type("time.deleted", _deleted, refs=_refs)
