"""Working sessions on a song (recording, overdub, mix, listening): times, participants, the
takes recorded in them."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audio.models import Take
from eventlog.services import event_record, project_lock
from sessions import hooks
from sessions.models import SessionKind, WorkingSession
from sessions.payloads import session_payload
from sessions.services.checks import invalid
from studio.models import Membership, Song
from studio.roles import Capability
from studio.selectors import require_capability

SESSION_FIELDS = ("kind", "starts_at", "ends_at", "notes", "participants")


def _check_session(project_id: int, fields: dict[str, Any]) -> None:
    if fields.get("kind") not in SessionKind.values:
        raise invalid("kind", f"choose one of {', '.join(SessionKind.values)}")
    starts, ends = fields.get("starts_at"), fields.get("ends_at")
    for name, value in (("starts_at", starts), ("ends_at", ends)):
        if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
            raise invalid(name, "give a date and time with a time zone")
    if ends <= starts:  # type: ignore[operator]
        raise invalid("ends_at", "must be after starts_at")
    if ends - starts > datetime.timedelta(days=2):  # type: ignore[operator]
        raise invalid("ends_at", "a session lasts at most 48 hours")
    participants = fields.get("participants") or []
    members = set(
        Membership.objects.filter(project_id=project_id).values_list("user_id", flat=True)
    )
    for user_id in participants:
        if user_id not in members:
            raise invalid("participants", f"user {user_id} is not a member of this project")
    if len(fields.get("notes") or "") > 10000:
        raise invalid("notes", "at most 10000 characters")


def _session_event(actor: Any, session: WorkingSession, type: str) -> None:
    event_record(
        project=session.project_id,
        type=type,
        payload={"session": session_payload(session)},
        actor=actor,
    )


def session_schedule(
    *,
    actor: Any,
    song: Song,
    kind: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    participants: list[int] | None = None,
    notes: str = "",
) -> WorkingSession:
    require_capability(
        user=actor,
        project_id=song.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=song.pk,
    )
    fields: dict[str, Any] = {
        "kind": kind,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "participants": participants or [],
        "notes": notes or "",
    }
    _check_session(song.project_id, fields)
    with transaction.atomic():
        project_lock(song.project_id)
        session = WorkingSession.objects.create(
            project_id=song.project_id,
            song=song,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            notes=fields["notes"],
            created_by=actor,
        )
        session.participants.set(fields["participants"])
        _session_event(actor, session, "session.scheduled")
    return session


def session_update(*, actor: Any, session: WorkingSession, **changes: Any) -> WorkingSession:
    require_capability(
        user=actor,
        project_id=session.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=session.song_id,
    )
    changes = {k: v for k, v in changes.items() if k in SESSION_FIELDS}
    merged: dict[str, Any] = {
        "kind": session.kind,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "notes": session.notes,
        "participants": [u.pk for u in session.participants.all()],
    } | changes
    _check_session(session.project_id, merged)
    with transaction.atomic():
        project_lock(session.project_id)
        old_start, old_end = session.starts_at, session.ends_at
        for name in ("kind", "starts_at", "ends_at", "notes"):
            setattr(session, name, merged[name])
        session.save()
        if "participants" in changes:
            session.participants.set(merged["participants"])
        _session_event(actor, session, "session.updated")
        if (old_start, old_end) != (session.starts_at, session.ends_at):
            hooks.session_moved(actor, session, old_start, old_end)  # bookings follow (or refuse)
    return session


def session_delete(*, actor: Any, session: WorkingSession) -> None:
    """Cancel a session. Its takes stay attached to the song; its followers (bookings) go first."""
    require_capability(
        user=actor,
        project_id=session.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=session.song_id,
    )
    with transaction.atomic():
        project_lock(session.project_id)
        hooks.session_cancelled(actor, session)
        payload = {"session": {"id": session.pk, "song": session.song_id}}
        project_id = session.project_id
        session.delete()
        event_record(project=project_id, type="session.deleted", payload=payload, actor=actor)


def session_add_take(*, actor: Any, session: WorkingSession, take: Take) -> WorkingSession:
    require_capability(
        user=actor,
        project_id=session.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=session.song_id,
    )
    if take.song_id != session.song_id:
        raise invalid("take", "that take belongs to another song", code="take_other_song")
    with transaction.atomic():
        project_lock(session.project_id)
        session.takes.add(take)
        _session_event(actor, session, "session.updated")
    return session


def session_remove_take(*, actor: Any, session: WorkingSession, take: Take) -> WorkingSession:
    require_capability(
        user=actor,
        project_id=session.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=session.song_id,
    )
    if not session.takes.filter(pk=take.pk).exists():
        raise invalid("take", "that take is not in this session", code="take_not_in_session")
    with transaction.atomic():
        project_lock(session.project_id)
        session.takes.remove(take)
        _session_event(actor, session, "session.updated")
    return session
