"""Review and working-session rules: comments, approvals, sessions and keeper takes.

Every write runs in one transaction that records an Event (eventlog.services.event_record). Role
checks use the capability table (studio.roles); the checks here are the resource-level ones the
API relies on. Errors are studio.errors (400/403/404/409) with a sentence that says why.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from audio.models import Master, Mix, Take
from eventlog.services import event_record, project_lock
from sessions.models import Approval, Comment, SessionKind, Verdict, WorkingSession
from sessions.payloads import approval_payload, comment_payload, session_payload
from studio.errors import Conflict, Forbidden, Invalid
from studio.models import Membership, Song
from studio.roles import Capability, Role
from studio.selectors import require_capability

MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
MAX_BODY = 5000


def _invalid(name: str, message: str, *, code: str = "invalid") -> Invalid:
    return Invalid(f"{name}: {message}", code=code, fields={name: [message]})


def _version(mix: Mix | None, master: Master | None) -> Mix | Master:
    if (mix is None) == (master is None):
        raise Invalid(
            "name exactly one version: a mix or a master",
            code="version_required",
            fields={"mix": ["give a mix or a master, not both"]},
        )
    return mix if mix is not None else master  # type: ignore[return-value]


def _version_fields(version: Mix | Master) -> dict[str, Any]:
    if isinstance(version, Mix):
        return {"mix": version, "master": None}
    return {"mix": None, "master": version}


def _duration(version: Mix | Master) -> float | None:
    asset = version.asset if version.asset_id else None
    return asset.duration_s if asset is not None else None


def _check_times(version: Mix | Master, start_s: float | None, end_s: float | None) -> None:
    if start_s is None:
        if end_s is not None:
            raise _invalid("end_s", "a time range needs start_s too")
        return
    if start_s < 0:
        raise _invalid("start_s", "must be 0 or more")
    if end_s is not None and end_s <= start_s:
        raise _invalid("end_s", "must be after start_s")
    duration = _duration(version)
    if duration is not None:
        for name, value in (("start_s", start_s), ("end_s", end_s)):
            if value is not None and value > duration + 1e-6:
                raise _invalid(
                    name,
                    f"{value:g} s is past the end of the audio ({duration:.3f} s)",
                    code="time_out_of_range",
                )


def _member_ids(project_id: int) -> dict[str, int]:
    return {
        username.lower(): user_id
        for username, user_id in Membership.objects.filter(project_id=project_id).values_list(
            "user__username", "user_id"
        )
    }


def _mentions(project_id: int, body: str, explicit: list[int] | None) -> list[int]:
    """Mentioned members: explicit ids (each must be a member, else 400) plus every
    `@username` in the body that names a member (other @words are just text)."""
    members = _member_ids(project_id)
    ids = set(members.values())
    chosen: set[int] = set()
    for user_id in explicit or []:
        if user_id not in ids:
            raise _invalid("mentions", f"user {user_id} is not a member of this project")
        chosen.add(user_id)
    for name in MENTION_RE.findall(body):
        member_id = members.get(name.lower().rstrip("."))
        if member_id is not None:
            chosen.add(member_id)
    return sorted(chosen)


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise _invalid("body", "write something")
    if len(body) > MAX_BODY:
        raise _invalid("body", f"at most {MAX_BODY} characters")
    return body


# --- comments ---------------------------------------------------------------------------------
def comment_add(
    *,
    actor: Any,
    body: str,
    mix: Mix | None = None,
    master: Master | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    parent: Comment | None = None,
    mentions: list[int] | None = None,
) -> Comment:
    """Comment on a version at a time (or range) in its audio, or reply to a comment on the same
    version. A reply to a reply joins the thread's root (threads are one level deep)."""
    version = _version(mix, master)
    require_capability(user=actor, project_id=version.project_id, capability=Capability.COMMENT)
    body = _clean_body(body)
    _check_times(version, start_s, end_s)
    if parent is not None:
        if (parent.mix_id, parent.master_id) != (
            getattr(mix, "pk", None),
            getattr(master, "pk", None),
        ):
            raise _invalid(
                "parent", "that comment is on another version", code="reply_other_version"
            )
        if parent.parent_id is not None:
            parent = Comment.objects.get(pk=parent.parent_id)
    mention_ids = _mentions(version.project_id, body, mentions)
    with transaction.atomic():
        project_lock(version.project_id)
        comment = Comment.objects.create(
            project_id=version.project_id,
            author=actor,
            body=body,
            start_s=start_s,
            end_s=end_s,
            parent=parent,
            **_version_fields(version),
        )
        comment.mentions.set(mention_ids)
        event_record(
            project=version.project_id,
            type="comment.added",
            payload={"comment": comment_payload(comment)},
            actor=actor,
        )
    return comment


def _own_live_comment(actor: Any, comment: Comment, verb: str) -> None:
    require_capability(user=actor, project_id=comment.project_id, capability=Capability.COMMENT)
    if comment.author_id != getattr(actor, "pk", None):
        raise Forbidden(f"only the author may {verb} a comment", code="not_author")
    if comment.deleted_at is not None:
        raise Conflict("that comment was deleted", code="comment_deleted")


def comment_edit(
    *, actor: Any, comment: Comment, body: str, mentions: list[int] | None = None
) -> Comment:
    """Change the text (the author only). Mentions are recomputed from the new text."""
    _own_live_comment(actor, comment, "edit")
    body = _clean_body(body)
    mention_ids = _mentions(comment.project_id, body, mentions)
    with transaction.atomic():
        project_lock(comment.project_id)
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        comment.mentions.set(mention_ids)
        event_record(
            project=comment.project_id,
            type="comment.edited",
            payload={"comment": comment_payload(comment)},
            actor=actor,
        )
    return comment


def comment_delete(*, actor: Any, comment: Comment) -> Comment:
    """Soft delete (the author only): the text goes, the row stays so replies keep a parent."""
    _own_live_comment(actor, comment, "delete")
    with transaction.atomic():
        project_lock(comment.project_id)
        comment.deleted_at = timezone.now()
        comment.save(update_fields=["deleted_at"])
        comment.mentions.clear()
        event_record(
            project=comment.project_id,
            type="comment.deleted",
            payload={"comment": comment_payload(comment)},
            actor=actor,
        )
    return comment


def _set_resolved(actor: Any, comment: Comment, resolved: bool) -> Comment:
    require_capability(user=actor, project_id=comment.project_id, capability=Capability.COMMENT)
    with transaction.atomic():
        project_lock(comment.project_id)
        comment = Comment.objects.select_related("author", "resolved_by").get(pk=comment.pk)
        if comment.parent_id is not None:
            raise Invalid("resolve the thread, not a reply", code="reply_not_resolvable")
        if comment.deleted_at is not None:
            raise Conflict("that comment was deleted", code="comment_deleted")
        if (comment.resolved_at is not None) == resolved:
            raise Conflict(
                "already resolved" if resolved else "not resolved", code="resolved_state"
            )
        comment.resolved_at = timezone.now() if resolved else None
        comment.resolved_by = actor if resolved else None
        comment.save(update_fields=["resolved_at", "resolved_by"])
        event_record(
            project=comment.project_id,
            type="comment.resolved" if resolved else "comment.reopened",
            payload={"comment": comment_payload(comment)},
            actor=actor,
        )
    return comment


def comment_resolve(*, actor: Any, comment: Comment) -> Comment:
    return _set_resolved(actor, comment, True)


def comment_reopen(*, actor: Any, comment: Comment) -> Comment:
    return _set_resolved(actor, comment, False)


# --- approvals --------------------------------------------------------------------------------
@dataclass
class ApprovalState:
    approved: bool
    reasons: list[str] = field(default_factory=list)
    verdicts: dict[int, str] = field(default_factory=dict)  # member user id -> latest verdict


def approval_state(version: Mix | Master) -> ApprovalState:
    """THE approval rule, written once. The stage gate reads its result (Mix/Master.is_approved).

    Only the latest verdict of each *current* member on *this* version counts (a new version
    starts with none: approvals are never inherited).

    A mix is approved when
      1. no member's latest verdict on it is "changes_requested",
      2. at least one producer's latest verdict is "approved", and
      3. every artist member's latest verdict is "approved" (if the project has artists).
    A master is the same with "an engineer or a producer" in rule 2.

    The stored flag is recomputed whenever a verdict is given (under the project lock); a later
    change of membership takes effect at the next verdict on that version.
    """
    project_id = version.project_id
    roles = dict(Membership.objects.filter(project_id=project_id).values_list("user_id", "role"))
    rows = Approval.objects.filter(**{_kind(version): version}).order_by("id")
    # Ordered by id, so a later verdict by the same reviewer overwrites the earlier one.
    latest: dict[int, str] = {
        reviewer_id: verdict
        for reviewer_id, verdict in rows.values_list("reviewer_id", "verdict")
        if reviewer_id in roles
    }
    reasons: list[str] = []
    if any(v == Verdict.CHANGES_REQUESTED for v in latest.values()):
        reasons.append("changes were requested")
    deciders = {Role.PRODUCER} if isinstance(version, Mix) else {Role.PRODUCER, Role.ENGINEER}
    if not any(roles[uid] in deciders and v == Verdict.APPROVED for uid, v in latest.items()):
        who = "a producer" if isinstance(version, Mix) else "an engineer or a producer"
        reasons.append(f"{who} has not approved yet")
    waiting = [
        uid for uid, role in roles.items() if role == Role.ARTIST and latest.get(uid) != "approved"
    ]
    if waiting:
        reasons.append(f"{len(waiting)} artist(s) have not approved yet")
    return ApprovalState(approved=not reasons, reasons=reasons, verdicts=latest)


def _kind(version: Mix | Master) -> str:
    return "mix" if isinstance(version, Mix) else "master"


def approval_give(
    *,
    actor: Any,
    verdict: str,
    mix: Mix | None = None,
    master: Master | None = None,
    note: str = "",
) -> Approval:
    """Record a verdict and recompute the version's stored approval in the same transaction.
    Requesting changes needs a note saying what to change."""
    version = _version(mix, master)
    capability = Capability.MIX_APPROVE if mix is not None else Capability.MASTER_APPROVE
    require_capability(user=actor, project_id=version.project_id, capability=capability)
    if verdict not in Verdict.values:
        raise _invalid("verdict", f"choose one of {', '.join(Verdict.values)}")
    note = (note or "").strip()
    if verdict == Verdict.CHANGES_REQUESTED and not note:
        raise _invalid("note", "say what should change", code="note_required")
    if len(note) > MAX_BODY:
        raise _invalid("note", f"at most {MAX_BODY} characters")
    kind = _kind(version)
    with transaction.atomic():
        project_lock(version.project_id)
        model = type(version)
        version = model.objects.select_for_update(no_key=True).get(pk=version.pk)
        approval = Approval.objects.create(
            project_id=version.project_id,
            reviewer=actor,
            verdict=verdict,
            note=note,
            **_version_fields(version),
        )
        state = approval_state(version)
        event_record(
            project=version.project_id,
            type="approval.given",
            payload={"approval": approval_payload(approval)},
            actor=actor,
        )
        if state.approved != version.is_approved:
            version.is_approved = state.approved
            version.save(update_fields=["is_approved"])
            event_record(
                project=version.project_id,
                type=f"{kind}.approval_changed",
                payload={
                    kind: {"id": version.pk, "song": version.song_id, "is_approved": state.approved}
                },
                actor=actor,
            )
    return approval


# --- working sessions -------------------------------------------------------------------------
SESSION_FIELDS = ("kind", "starts_at", "ends_at", "notes", "participants")


def _check_session(project_id: int, fields: dict[str, Any]) -> None:
    if fields.get("kind") not in SessionKind.values:
        raise _invalid("kind", f"choose one of {', '.join(SessionKind.values)}")
    starts, ends = fields.get("starts_at"), fields.get("ends_at")
    for name, value in (("starts_at", starts), ("ends_at", ends)):
        if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
            raise _invalid(name, "give a date and time with a time zone")
    if ends <= starts:  # type: ignore[operator]
        raise _invalid("ends_at", "must be after starts_at")
    if ends - starts > datetime.timedelta(days=2):  # type: ignore[operator]
        raise _invalid("ends_at", "a session lasts at most 48 hours")
    participants = fields.get("participants") or []
    members = set(
        Membership.objects.filter(project_id=project_id).values_list("user_id", flat=True)
    )
    for user_id in participants:
        if user_id not in members:
            raise _invalid("participants", f"user {user_id} is not a member of this project")
    if len(fields.get("notes") or "") > 10000:
        raise _invalid("notes", "at most 10000 characters")


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
    require_capability(user=actor, project_id=song.project_id, capability=Capability.SESSION_EDIT)
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
        user=actor, project_id=session.project_id, capability=Capability.SESSION_EDIT
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
        for name in ("kind", "starts_at", "ends_at", "notes"):
            setattr(session, name, merged[name])
        session.save()
        if "participants" in changes:
            session.participants.set(merged["participants"])
        _session_event(actor, session, "session.updated")
    return session


def session_delete(*, actor: Any, session: WorkingSession) -> None:
    """Cancel a session. Its takes stay attached to the song."""
    require_capability(
        user=actor, project_id=session.project_id, capability=Capability.SESSION_EDIT
    )
    with transaction.atomic():
        project_lock(session.project_id)
        payload = {"session": {"id": session.pk, "song": session.song_id}}
        project_id = session.project_id
        session.delete()
        event_record(project=project_id, type="session.deleted", payload=payload, actor=actor)


session_cancel = session_delete


def session_add_take(*, actor: Any, session: WorkingSession, take: Take) -> WorkingSession:
    require_capability(
        user=actor, project_id=session.project_id, capability=Capability.SESSION_EDIT
    )
    if take.song_id != session.song_id:
        raise _invalid("take", "that take belongs to another song", code="take_other_song")
    with transaction.atomic():
        project_lock(session.project_id)
        session.takes.add(take)
        _session_event(actor, session, "session.updated")
    return session


def session_remove_take(*, actor: Any, session: WorkingSession, take: Take) -> WorkingSession:
    require_capability(
        user=actor, project_id=session.project_id, capability=Capability.SESSION_EDIT
    )
    if not session.takes.filter(pk=take.pk).exists():
        raise _invalid("take", "that take is not in this session", code="take_not_in_session")
    with transaction.atomic():
        project_lock(session.project_id)
        session.takes.remove(take)
        _session_event(actor, session, "session.updated")
    return session


# --- keeper takes -----------------------------------------------------------------------------
def keeper_payload(takes: list[Take]) -> dict[str, Any]:
    return {
        "takes": [
            {"id": t.pk, "song": t.song_id, "part": t.part, "is_keeper": t.is_keeper} for t in takes
        ]
    }


def _keeper_apply(take: Take, is_keeper: bool) -> list[Take]:
    """At most one keeper take per song and part: marking `take` clears the others. Returns
    every take whose flag changed. Runs inside the caller's transaction, under the project lock."""
    changed: list[Take] = []
    if is_keeper:
        others = Take.objects.select_for_update(no_key=True).filter(
            song_id=take.song_id, part=take.part, is_keeper=True
        )
        for other in others.exclude(pk=take.pk):
            other.is_keeper = False
            other.save(update_fields=["is_keeper"])
            changed.append(other)
    if take.is_keeper != is_keeper:
        take.is_keeper = is_keeper
        take.save(update_fields=["is_keeper"])
        changed.append(take)
    return changed


def take_set_keeper(*, actor: Any, take: Take, is_keeper: bool = True) -> Take:
    """The one door to the keeper flag (the API's POST /api/keepers/ and the song page both
    call it; the takes API refuses the field). Mark (or unmark) the keeper take of a part: at
    most one keeper per song and part, so marking one clears the others. One
    `take.keeper_changed` event lists every take whose flag changed (none when nothing did)."""
    require_capability(user=actor, project_id=take.project_id, capability=Capability.SESSION_EDIT)
    with transaction.atomic():
        project_lock(take.project_id)
        take = Take.objects.select_for_update(no_key=True).get(pk=take.pk)
        changed = _keeper_apply(take, is_keeper)
        if changed:
            event_record(
                project=take.project_id,
                type="take.keeper_changed",
                payload=keeper_payload(changed),
                actor=actor,
            )
    return take
