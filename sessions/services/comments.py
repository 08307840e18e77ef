"""Time-coded comments on a mix or master version: threads one level deep, @mentions of members,
edits and soft deletes by their author, resolve and reopen."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from audio.models import Master, Mix
from eventlog.services import event_record, project_lock
from sessions.models import Comment
from sessions.payloads import comment_payload
from sessions.services.checks import MAX_BODY, invalid, version_fields, version_of
from studio.errors import Conflict, Forbidden, Invalid
from studio.models import Membership
from studio.roles import Capability
from studio.selectors import require_capability

# A mention is "@" at the start or after a character that cannot end an e-mail's local part
# (so "leo@example.com" mentions nobody), then a handle of username characters, taken whole and
# not followed by another "@" (an address written after an @ is still an address). Trailing dots
# end the sentence, not the handle. A handle of digits alone ("@1:23", "@2.5") is a time in the
# audio unless a member is called that.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.+-]{1,150})(?![\w.+-]|@)")
_NUMERIC = re.compile(r"[\d.]+")


def _duration(version: Mix | Master) -> float | None:
    asset = version.asset if version.asset_id else None
    return asset.duration_s if asset is not None else None


def _check_times(version: Mix | Master, start_s: float | None, end_s: float | None) -> None:
    if start_s is None:
        if end_s is not None:
            raise invalid("end_s", "a time range needs start_s too")
        return
    if start_s < 0:
        raise invalid("start_s", "must be 0 or more")
    if end_s is not None and end_s <= start_s:
        raise invalid("end_s", "must be after start_s")
    duration = _duration(version)
    if duration is not None:
        for name, value in (("start_s", start_s), ("end_s", end_s)):
            if value is not None and value > duration + 1e-6:
                raise invalid(
                    name,
                    f"{value:g} s is past the end of the audio ({duration:.3f} s)",
                    code="time_out_of_range",
                )


def _handles(project_id: int) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Members by handle, lower-cased: every username, and a display name of one word (the
    `first_name` "Leo") when it names no other member's username. Returns the unambiguous handles
    and, for a display name two members share, their usernames."""
    rows = list(
        Membership.objects.filter(project_id=project_id).values_list(
            "user_id", "user__username", "user__first_name"
        )
    )
    handles = {username.lower(): user_id for user_id, username, _ in rows}
    shared: dict[str, list[str]] = {}
    by_name: dict[str, list[tuple[int, str]]] = {}
    for user_id, username, first_name in rows:
        name = first_name.strip().lower()
        if name and MENTION_RE.fullmatch("@" + name) and name not in handles:
            by_name.setdefault(name, []).append((user_id, username))
    for name, people in by_name.items():
        if len(people) == 1:
            handles[name] = people[0][0]
        else:
            shared[name] = sorted(username for _, username in people)
    return handles, shared


def _mentions(project_id: int, body: str, explicit: list[int] | None) -> list[int]:
    """Mentioned members: explicit ids (each must be a member, else 400) plus every `@handle` in
    the body. A handle that names no member is a 400 with a sentence (the author meant someone
    and would otherwise believe they were told); one that names two members asks for the
    username."""
    if not explicit and "@" not in body:
        return []  # nothing to look up (the members are read only when a mention can match)
    handles, shared = _handles(project_id)
    ids = set(handles.values())
    chosen: set[int] = set()
    for user_id in explicit or []:
        if user_id not in ids:
            raise invalid("mentions", f"user {user_id} is not a member of this project")
        chosen.add(user_id)
    unknown: list[str] = []
    for raw in MENTION_RE.findall(body):
        name = raw.rstrip(".")
        key = name.lower()
        if not name:
            continue
        if key in handles:
            chosen.add(handles[key])
        elif key in shared:
            who = " or ".join(f"@{u}" for u in shared[key])
            raise Invalid(
                f"@{name} could be more than one member of this project: write {who}",
                code="ambiguous_mention",
                fields={"body": [f"@{name} names more than one member"]},
            )
        elif not _NUMERIC.fullmatch(name) and name not in unknown:
            unknown.append(name)
    if unknown:
        names = " or ".join(f"@{n}" for n in unknown[:5])
        raise Invalid(
            f"No one called {names} is a member of this project",
            code="unknown_mention",
            fields={"body": [f"no member is called {names}"]},
        )
    return sorted(chosen)


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise invalid("body", "write something")
    if len(body) > MAX_BODY:
        raise invalid("body", f"at most {MAX_BODY} characters")
    return body


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
    version = version_of(mix, master)
    require_capability(
        user=actor,
        project_id=version.project_id,
        capability=Capability.COMMENT,
        song_id=version.song_id,
    )
    body = _clean_body(body)
    _check_times(version, start_s, end_s)
    if parent is not None:
        if (parent.mix_id, parent.master_id) != (
            getattr(mix, "pk", None),
            getattr(master, "pk", None),
        ):
            raise invalid(
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
            **version_fields(version),
        )
        if mention_ids:  # a new comment has none to replace
            comment.mentions.add(*mention_ids)
        event_record(
            project=version.project_id,
            type="comment.added",
            payload={"comment": comment_payload(comment, mentions=mention_ids)},
            actor=actor,
        )
    return comment


def _song_id(comment: Comment) -> int | None:
    """The song of the version the comment is on (for the archived-song check)."""
    version = comment.mix or comment.master
    return version.song_id if version is not None else None


def _own_live_comment(actor: Any, comment: Comment, verb: str) -> None:
    require_capability(
        user=actor,
        project_id=comment.project_id,
        capability=Capability.COMMENT,
        song_id=_song_id(comment),
    )
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
    require_capability(
        user=actor,
        project_id=comment.project_id,
        capability=Capability.COMMENT,
        song_id=_song_id(comment),
    )
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
