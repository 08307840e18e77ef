"""Logging time: every write of a time entry, its rules, one transaction and its event.

Who: producers, engineers and artists log time (`time.log`); viewers only read. One edits or
deletes one's own entries; a producer may also delete anyone's (`time.manage`). An archived song
refuses every write (require_capability with the song).

What an entry counts to (`stage`), unless the member names a stage:
- logged against a task: the task's stage (the work was planned there);
- against a working session only: the stage its kind implies (a recording or overdub session
  is recording, a mix session mixing); a listening session counts to the song's stage at the
  time of logging, since a team listens back in every stage.
The stage is decided when the entry is written and kept: a song moving on later does not move
the time already spent.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from eventlog.services import event_record, project_lock
from sessions.models import SessionKind, WorkingSession
from studio.errors import Forbidden, Invalid
from studio.models import Song, Stage, Task
from studio.parsing import FIRST_YEAR
from studio.roles import Capability, role_can
from studio.selectors import require_capability
from timesheets.models import ENTRY_MAX_MINUTES, NOTE_MAX, TimeEntry
from timesheets.payloads import entry_payload

SESSION_STAGE: dict[str, str] = {
    SessionKind.RECORDING: Stage.RECORDING,
    SessionKind.OVERDUB: Stage.RECORDING,
    SessionKind.MIX: Stage.MIXING,
}
EDIT_FIELDS = ("minutes", "spent_on", "note", "stage", "task", "session")


def default_stage(song: Song, task: Task | None, session: WorkingSession | None) -> str:
    """The stage an entry counts to when the member names none (see the module's docstring).
    The song's stage is read from the database: the caller's copy may be older than a move."""
    if task is not None:
        return task.stage
    if session is not None and session.kind in SESSION_STAGE:
        return SESSION_STAGE[session.kind]
    return Song.objects.values_list("stage", flat=True).get(pk=song.pk)


def _check_minutes(minutes: Any) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise Invalid(
            "the time must be a whole number of minutes",
            code="minutes_invalid",
            fields={"minutes": ["a whole number of minutes"]},
        )
    if minutes <= 0:
        raise Invalid(
            "log at least one minute",
            code="minutes_not_positive",
            fields={"minutes": ["more than 0 minutes"]},
        )
    if minutes > ENTRY_MAX_MINUTES:
        raise Invalid(
            f"one entry holds at most a day's worth ({ENTRY_MAX_MINUTES} minutes): log each day "
            "on its own",
            code="minutes_too_many",
            fields={"minutes": [f"at most {ENTRY_MAX_MINUTES} minutes"]},
        )


def _check_day(spent_on: Any) -> None:
    if not isinstance(spent_on, datetime.date):
        raise Invalid("give the day the time was spent", fields={"spent_on": ["a date"]})
    # A day ahead is allowed: the member's day may already have begun where they are.
    latest = timezone.localdate() + datetime.timedelta(days=1)
    if spent_on > latest or spent_on.year < FIRST_YEAR:
        raise Invalid(
            "time is logged for a day it was spent, not a day to come",
            code="spent_on_invalid",
            fields={"spent_on": ["a day up to today"]},
        )


def _check_note(note: Any) -> None:
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise Invalid(
            f"the note is longer than {NOTE_MAX} characters",
            fields={"note": [f"at most {NOTE_MAX} characters"]},
        )


def _check_stage(stage: Any) -> None:
    if stage not in Stage.values:
        raise Invalid(f"unknown stage '{stage}'", fields={"stage": ["unknown stage"]})


def _check_target(song: Song, task: Task | None, session: WorkingSession | None) -> None:
    """An entry names a task or a working session (or both), of its own song and project."""
    if task is None and session is None:
        raise Invalid(
            "log time against a task or a working session of the song",
            code="no_target",
            fields={"task": ["choose a task or a session"]},
        )
    if task is not None and (task.project_id != song.project_id or task.song_id != song.pk):
        raise Invalid(
            "that task belongs to another song",
            code="foreign_task",
            fields={"task": ["not a task of this song"]},
        )
    if session is not None and (
        session.project_id != song.project_id or session.song_id != song.pk
    ):
        raise Invalid(
            "that working session belongs to another song",
            code="foreign_session",
            fields={"session": ["not a session of this song"]},
        )


def _record(type: str, entry: TimeEntry, actor: Any) -> None:
    event_record(
        project=entry.project_id, type=type, payload={"entry": entry_payload(entry)}, actor=actor
    )


def time_log(
    *,
    actor: Any,
    song: Song,
    minutes: int,
    spent_on: datetime.date | None = None,
    task: Task | None = None,
    session: WorkingSession | None = None,
    stage: str | None = None,
    note: str = "",
) -> TimeEntry:
    """Write one entry of the actor's own time (spent today unless a day is named);
    `time.logged`."""
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.TIME_LOG, song_id=song.pk
    )
    _check_target(song, task, session)
    _check_minutes(minutes)
    spent_on = spent_on or timezone.localdate()
    _check_day(spent_on)
    _check_note(note)
    if stage is not None:
        _check_stage(stage)
    with transaction.atomic():
        project_lock(song.project_id)  # a stage move holds it too: the stage read is current
        stage = stage or default_stage(song, task, session)
        entry = TimeEntry.objects.create(
            project_id=song.project_id,
            song=song,
            member=actor,
            task=task,
            session=session,
            stage=stage,
            minutes=minutes,
            spent_on=spent_on,
            note=note,
        )
        _record("time.logged", entry, actor)
    return entry


def time_update(*, actor: Any, entry: TimeEntry, **fields: Any) -> TimeEntry:
    """Correct one's own entry. A new task or session without a stage named re-decides the
    stage from it; the song never changes (log a new entry instead)."""
    require_capability(
        user=actor,
        project_id=entry.project_id,
        capability=Capability.TIME_LOG,
        song_id=entry.song_id,
    )
    if entry.member_id != actor.pk:
        raise Forbidden("you may only edit your own time entries", code="not_yours")
    changes = {k: v for k, v in fields.items() if k in EDIT_FIELDS}
    song = Song.objects.get(pk=entry.song_id)
    task = changes.get("task", entry.task)
    session = changes.get("session", entry.session)
    if "task" in changes or "session" in changes:
        _check_target(song, task, session)
        if not changes.get("stage"):
            changes["stage"] = default_stage(song, task, session)
    if "minutes" in changes:
        _check_minutes(changes["minutes"])
    if "spent_on" in changes:
        _check_day(changes["spent_on"])
    if "note" in changes:
        _check_note(changes["note"])
    if "stage" in changes:
        _check_stage(changes["stage"])
    with transaction.atomic():
        project_lock(entry.project_id)
        entry = TimeEntry.objects.select_related("member").get(pk=entry.pk)
        for name, value in changes.items():
            setattr(entry, name, value)
        entry.save()
        _record("time.updated", entry, actor)
    return entry


def time_delete(*, actor: Any, entry: TimeEntry) -> None:
    """Delete one's own entry, or as a producer anyone's; `time.deleted` carries what it was."""
    role = require_capability(
        user=actor,
        project_id=entry.project_id,
        capability=Capability.TIME_LOG,
        song_id=entry.song_id,
    )
    if entry.member_id != actor.pk and not role_can(role, Capability.TIME_MANAGE):
        raise Forbidden("only a producer may delete another member's time", code="not_yours")
    with transaction.atomic():
        project_lock(entry.project_id)
        entry = TimeEntry.objects.select_related("member").get(pk=entry.pk)
        _record("time.deleted", entry, actor)
        entry.delete()
