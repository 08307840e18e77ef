"""Plain-dict forms of domain objects, as carried in event payloads (part of the protocol).

A client applies these to its snapshot; tests check snapshot + events == fresh snapshot.
"""

from __future__ import annotations

from typing import Any

from studio.models import (
    Credit,
    Invitation,
    Membership,
    Project,
    SampleUse,
    Song,
    StageChange,
    Task,
)


def user_payload(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username}


def project_payload(project: Project) -> dict[str, Any]:
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "gate_checks": list(project.gate_checks or []),
    }


def membership_payload(m: Membership) -> dict[str, Any]:
    return {"id": m.pk, "project": m.project_id, "user": user_payload(m.user), "role": m.role}


def invitation_payload(invitation: Invitation) -> dict[str, Any]:
    """No token: the link is a secret for the invitee alone."""
    return {
        "id": invitation.pk,
        "project": invitation.project_id,
        "email": invitation.email,
        "role": invitation.role,
        "state": invitation.state,
        "expires_at": invitation.expires_at.isoformat(),
    }


def song_payload(song: Song) -> dict[str, Any]:
    return {
        "id": song.pk,
        "project": song.project_id,
        "title": song.title,
        "stage": song.stage,
        "key": song.key,
        "tempo_bpm": str(song.tempo_bpm) if song.tempo_bpm is not None else None,
        "isrc": song.isrc,
        "notes": song.notes,
    }


def stage_change_payload(change: StageChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "song": change.song_id,
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "actor": user_payload(change.actor),
        "reason": change.reason,
        "at": change.created_at.isoformat(),
    }


def task_payload(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk,
        "project": task.project_id,
        "song": task.song_id,
        "stage": task.stage,
        "title": task.title,
        "description": task.description,
        "assignee": user_payload(task.assignee),
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "status": task.status,
        "rank": task.rank,
        "estimate_minutes": task.estimate_minutes,
    }


def credit_payload(credit: Credit) -> dict[str, Any]:
    return {
        "id": credit.pk,
        "song": credit.song_id,
        "role": credit.role,
        "contributor_name": credit.contributor_name,
        "instrument": credit.instrument,
        "user": user_payload(credit.user),
        "ipi": credit.ipi,
        "isni": credit.isni,
    }


def sample_use_payload(sample: SampleUse) -> dict[str, Any]:
    return {
        "id": sample.pk,
        "song": sample.song_id,
        "source_work": sample.source_work,
        "rights_holder": sample.rights_holder,
        "kind": sample.kind,
        "clearance": sample.clearance,
        "notes": sample.notes,
    }


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def project_state_payload(project: Project) -> dict[str, Any]:
    """A project's lifecycle: archived and deleted times (ISO 8601, or null)."""
    return {
        "id": project.pk,
        "name": project.name,
        "archived_at": _when(project.archived_at),
        "deleted_at": _when(project.deleted_at),
    }


def song_state_payload(song: Song) -> dict[str, Any]:
    """A song's lifecycle: archived and deleted times (ISO 8601, or null)."""
    return {
        "id": song.pk,
        "project": song.project_id,
        "title": song.title,
        "archived_at": _when(song.archived_at),
        "deleted_at": _when(song.deleted_at),
    }
