"""Songs and their journey through the stages."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from eventlog.services import event_record, project_lock
from studio.errors import GateRefused, Invalid
from studio.gates import gate_checks, is_forward, song_can_enter_stage
from studio.models import Project, Song, Stage, StageChange
from studio.payloads import song_payload, stage_change_payload
from studio.roles import Capability
from studio.selectors import require_capability, song_facts

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
    require_capability(user=actor, project_id=song.project_id, capability=Capability.SONG_EDIT)
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


def song_delete(*, actor: Any, song: Song) -> None:
    require_capability(user=actor, project_id=song.project_id, capability=Capability.SONG_EDIT)
    with transaction.atomic():
        project_lock(song.project_id)
        song_id, project_id = song.pk, song.project_id
        Song.objects.filter(pk=song_id).delete()
        event_record(
            project=project_id, type="song.deleted", payload={"song": {"id": song_id}}, actor=actor
        )


def song_move_stage(
    *, actor: Any, song: Song, to: str, reason: str = "", override_reason: str = ""
) -> Song:
    """Move a song forward (gates checked) or back (a reason is required). Every move is an
    event with who and why. A refused move raises GateRefused listing every unmet reason.

    `override_reason` moves forward past open tasks (the only overridable checks); the history
    keeps "Override: <reason>" and which checks were passed over."""
    require_capability(user=actor, project_id=song.project_id, capability=Capability.SONG_MOVE)
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
