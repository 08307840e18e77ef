"""Songs and their journey through the stages.

A song's lifecycle is its project's in small: archived (read-only, out of the pipeline, until
unarchived), deleted (gone from every read with all it holds; a producer may restore it for
RESTORE_DAYS days), then purged for good by `song_purge_expired` (the periodic purge task)."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from eventlog.services import event_record, project_lock
from studio.errors import Conflict, GateRefused, Invalid, NotFound
from studio.gates import gate_checks, is_forward, song_can_enter_stage
from studio.models import Project, Song, Stage, StageChange
from studio.payloads import song_payload, song_state_payload, stage_change_payload
from studio.roles import Capability
from studio.selectors import RESTORE_DAYS, require_capability, song_facts

SONG_FIELDS = ("title", "key", "tempo_bpm", "isrc", "notes")


def song_create(*, actor: Any, project: Project, title: str, **fields: Any) -> Song:
    require_capability(user=actor, project_id=project.pk, capability=Capability.SONG_EDIT)
    extra = {k: v for k, v in fields.items() if k in SONG_FIELDS}
    with transaction.atomic():
        song = Song.objects.create(project=project, title=title, **extra)
        event_record(
            project=project, type="song.created", payload={"song": song_payload(song)}, actor=actor
        )
    return song


def song_update(*, actor: Any, song: Song, **fields: Any) -> Song:
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.SONG_EDIT, song_id=song.pk
    )
    changes = {k: v for k, v in fields.items() if k in SONG_FIELDS}
    with transaction.atomic():
        project_lock(song.project_id)
        song = Song.objects.get(pk=song.pk)
        for name, value in changes.items():
            setattr(song, name, value)
        song.save()
        event_record(
            project=song.project_id,
            type="song.updated",
            payload={"song": song_payload(song)},
            actor=actor,
        )
    return song


TEMPO_MIN, TEMPO_MAX = Decimal("1"), Decimal("999.99")


def song_key_tempo_set(*, actor: Any, song: Song, key: Any, tempo_bpm: Any) -> Song:
    """The song's key and tempo from its sheet (SHEET_EDIT: producers and artists write the
    sheet, while renaming a song stays SONG_EDIT). One `song.updated`, as `song_update` records.
    The tempo is a number of quarter notes per minute from 1 to 999.99, or None for none yet."""
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.SHEET_EDIT, song_id=song.pk
    )
    key_text = " ".join(str(key or "").split())
    if len(key_text) > 20:
        raise Invalid("the key is at most 20 characters", fields={"key": ["at most 20"]})
    tempo: Decimal | None = None
    if tempo_bpm not in (None, ""):
        try:
            tempo = Decimal(str(tempo_bpm).strip().replace(",", "."))
        except InvalidOperation:
            tempo = None
        if tempo is None or not tempo.is_finite() or not TEMPO_MIN <= tempo <= TEMPO_MAX:
            raise Invalid(
                "the tempo is a number of BPM from 1 to 999.99",
                fields={"tempo_bpm": ["from 1 to 999.99"]},
            )
        tempo = tempo.quantize(Decimal("0.01"))
    with transaction.atomic():
        project_lock(song.project_id)
        song = Song.objects.get(pk=song.pk)
        song.key, song.tempo_bpm = key_text, tempo
        song.save(update_fields=["key", "tempo_bpm", "updated_at"])
        event_record(
            project=song.project_id,
            type="song.updated",
            payload={"song": song_payload(song)},
            actor=actor,
        )
    return song


def song_move_stage(
    *, actor: Any, song: Song, to: str, reason: str = "", override_reason: str = ""
) -> Song:
    """Move a song forward (gates checked) or back (a reason is required). Every move is an
    event with who and why. A refused move raises GateRefused listing every unmet reason.

    `override_reason` moves forward past open tasks (the only overridable checks); the history
    keeps "Override: <reason>" and which checks were passed over."""
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.SONG_MOVE, song_id=song.pk
    )
    if to not in Stage.values:
        raise Invalid(
            f"unknown stage '{to}'",
            code="unknown_stage",
            fields={"to": [f"choose one of {', '.join(Stage.values)}"]},
        )
    with transaction.atomic():
        project_lock(song.project_id)
        song = Song.objects.select_for_update(no_key=True).get(pk=song.pk)
        facts = song_facts(song)
        override = bool(override_reason.strip())
        reasons = song_can_enter_stage(facts, to, override=override)
        if reasons:
            raise GateRefused(reasons, [c.as_dict() for c in gate_checks(facts, to)])
        passed_over = [c.label for c in gate_checks(facts, to) if not c.met and c.overridable]
        if override and passed_over:
            reason = f"Override ({', '.join(passed_over)}): {override_reason.strip()}"[:1000]
        if not is_forward(song.stage, to) and not reason.strip():
            raise Invalid(
                "moving a song back needs a reason",
                code="reason_required",
                fields={"reason": ["say why the song goes back"]},
            )
        change = StageChange.objects.create(
            song=song, from_stage=song.stage, to_stage=to, actor=actor, reason=reason.strip()
        )
        song.stage = to
        song.save(update_fields=["stage", "updated_at"])
        event_record(
            project=song.project_id,
            type="song.stage_changed",
            payload={"song": song_payload(song), "change": stage_change_payload(change)},
            actor=actor,
        )
    return song


# --- lifecycle: archive, delete (soft), restore, purge ----------------------------------------
def _song_state_change(
    *, actor: Any, song: Song, type: str, check: Any, change: dict[str, Any]
) -> Song:
    """Lock the project, then the song; let `check` refuse on the fresh row, apply `change`,
    record `type` with the song's lifecycle state."""
    require_capability(user=actor, project_id=song.project_id, capability=Capability.LIFECYCLE)
    with transaction.atomic():
        project_lock(song.project_id)
        song = Song.objects.select_for_update(no_key=True).get(pk=song.pk)
        check(song)
        for name, value in change.items():
            setattr(song, name, value)
        song.save(update_fields=[*change, "updated_at"])
        event_record(
            project=song.project_id,
            type=type,
            payload={"song": song_state_payload(song)},
            actor=actor,
        )
    return song


def _live(song: Song) -> None:
    if song.deleted_at is not None:
        raise NotFound("song not found")


def song_archive(*, actor: Any, song: Song) -> Song:
    """Make the song read-only and move it out of the pipeline, under "Archived" (producers)."""

    def check(s: Song) -> None:
        _live(s)
        if s.archived_at is not None:
            raise Conflict("This song is already archived", code="already_archived")

    return _song_state_change(
        actor=actor,
        song=song,
        type="song.archived",
        check=check,
        change={"archived_at": timezone.now()},
    )


def song_unarchive(*, actor: Any, song: Song) -> Song:
    def check(s: Song) -> None:
        _live(s)
        if s.archived_at is None:
            raise Conflict("This song is not archived", code="not_archived")

    return _song_state_change(
        actor=actor, song=song, type="song.unarchived", check=check, change={"archived_at": None}
    )


def song_delete(*, actor: Any, song: Song) -> Song:
    """Soft delete: the song and all it holds leave every read at once; a producer may restore
    it for RESTORE_DAYS days from the dashboard's "Recently deleted"."""
    return _song_state_change(
        actor=actor,
        song=song,
        type="song.deleted",
        check=_live,
        change={"deleted_at": timezone.now(), "deleted_by": actor},
    )


def song_restore(*, actor: Any, song: Song) -> Song:
    """Undo a deletion within RESTORE_DAYS days (afterwards refused with a sentence)."""

    def check(s: Song) -> None:
        if s.deleted_at is None:
            raise Conflict("This song is not deleted", code="not_deleted")
        if timezone.now() >= s.deleted_at + datetime.timedelta(days=RESTORE_DAYS):
            raise Conflict(
                f"This song was deleted more than {RESTORE_DAYS} days ago: "
                "it can no longer be restored",
                code="restore_expired",
            )

    return _song_state_change(
        actor=actor,
        song=song,
        type="song.restored",
        check=check,
        change={"deleted_at": None, "deleted_by": None},
    )


def song_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Remove for good every song deleted more than RESTORE_DAYS days ago (in a project that is
    not itself deleted: those go with their project), with everything on it, recording
    `song.purged`. The song is locked and checked again first, so a restore that wins the race
    keeps it. Returns how many were purged."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=RESTORE_DAYS)
    rows = Song.objects.filter(deleted_at__lte=cutoff, project__deleted_at__isnull=True)
    purged = 0
    for song_id, project_id in rows.values_list("pk", "project_id"):
        with transaction.atomic():
            project_lock(project_id)
            song = Song.objects.select_for_update(no_key=True).filter(pk=song_id).first()
            if song is None or song.deleted_at is None or song.deleted_at > cutoff:
                continue
            payload = {"song": song_state_payload(song)}
            song.delete()
            event_record(project=project_id, type="song.purged", payload=payload, actor=None)
            purged += 1
    return purged
