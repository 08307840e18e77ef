"""Plain-dict forms of the review objects, as carried in event payloads (part of the protocol).

Like studio.payloads: a client applies these to its snapshot, and the verify_action tests check
that snapshot + events == fresh snapshot. Schemas for them are in eventlog.schemas.
"""

from __future__ import annotations

from typing import Any

from sessions.models import Approval, Comment, WorkingSession
from studio.payloads import user_payload


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def comment_payload(comment: Comment, *, mentions: list[int] | None = None) -> dict[str, Any]:
    """`mentions`: the ids just written, when the caller has them (no query to read them back)."""
    deleted = comment.deleted_at is not None
    return {
        "id": comment.pk,
        "project": comment.project_id,
        "mix": comment.mix_id,
        "master": comment.master_id,
        "parent": comment.parent_id,
        "author": user_payload(comment.author),
        "body": "" if deleted else comment.body,
        "start_s": comment.start_s,
        "end_s": comment.end_s,
        "mentions": sorted(
            mentions if mentions is not None else (u.pk for u in comment.mentions.all())
        ),
        "resolved_at": _iso(comment.resolved_at),
        "resolved_by": user_payload(comment.resolved_by),
        "edited_at": _iso(comment.edited_at),
        "deleted": deleted,
        "created_at": comment.created_at.isoformat(),
    }


def approval_payload(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.pk,
        "project": approval.project_id,
        "mix": approval.mix_id,
        "master": approval.master_id,
        "reviewer": user_payload(approval.reviewer),
        "verdict": approval.verdict,
        "note": approval.note,
        "created_at": approval.created_at.isoformat(),
    }


def session_payload(session: WorkingSession) -> dict[str, Any]:
    return {
        "id": session.pk,
        "project": session.project_id,
        "song": session.song_id,
        "kind": session.kind,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "participants": sorted(u.pk for u in session.participants.all()),
        "notes": session.notes,
        "takes": sorted(t.pk for t in session.takes.all()),
    }
