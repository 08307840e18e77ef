"""Who is told what: the fan-out rules, the inbox's writes and the preferences.

Notifications are written by listeners (notifications.listeners) that eventlog calls right after
an event's row, inside the change's transaction: a notification exists exactly when its event
does. The rules, each written once here:

- never the actor (nobody is told what they did themselves);
- only current members of the project, and only while they can see the song (a deleted song or
  project tells nobody; an archived one is still readable, so it still tells);
- each kind has its own audience: the members a comment mentions, a task's new assignee, every
  member for a stage move (viewers read songs too), the roles that approve a version, the
  participants of a booked session;
- a person who switched a kind's inbox and e-mail off gets no row; inbox off with e-mail on
  gets a row kept out of the inbox, for the digest.

Reading one's notifications (mark read, preferences) records no Event: it changes nothing in
the project, nobody else sees it, and the project's log is what every member replays.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from eventlog.broadcast import send_to_user
from notifications.models import Kind, Notification, Preference
from studio.errors import Invalid, NotFound
from studio.models import Membership, Project, Song

logger = logging.getLogger(__name__)

SENTENCE_MAX = 300


@dataclass(frozen=True)
class Choice:
    inbox: bool = True
    email: bool = True

    @property
    def any(self) -> bool:
        return self.inbox or self.email


def choices_for(user_ids: Iterable[int], kind: str) -> dict[int, Choice]:
    """Each person's choice for `kind` (both on unless they said otherwise)."""
    ids = set(user_ids)
    found = {
        user_id: Choice(inbox, email)
        for user_id, inbox, email in Preference.objects.filter(
            user_id__in=ids, kind=kind
        ).values_list("user_id", "inbox", "email")
    }
    return {user_id: found.get(user_id, Choice()) for user_id in ids}


def audience(
    *, project_id: int, song_id: int | None, candidates: Iterable[int] | None, actor_id: int | None
) -> list[int]:
    """The rule every kind shares: of `candidates` (None: every member), those who are members
    now and can see the song, never the actor."""
    project_alive = Project.objects.filter(pk=project_id, deleted_at__isnull=True).exists()
    if not project_alive:
        return []
    if (
        song_id is not None
        and not Song.objects.filter(
            pk=song_id, project_id=project_id, deleted_at__isnull=True
        ).exists()
    ):
        return []
    members = Membership.objects.filter(project_id=project_id)
    if candidates is not None:
        members = members.filter(user_id__in=set(candidates))
    return sorted(set(members.values_list("user_id", flat=True)) - {actor_id})


def members_with_roles(project_id: int, roles: Iterable[str]) -> list[int]:
    return list(
        Membership.objects.filter(project_id=project_id, role__in=set(roles)).values_list(
            "user_id", flat=True
        )
    )


def notify(
    *,
    event: Any,
    kind: str,
    subject: str,
    candidates: Iterable[int] | None,
    sentence: str,
    link: str,
    song_id: int | None,
    skip_already_told: bool = False,
) -> list[Notification]:
    """Write the notifications of one event (inside its transaction) and, after commit, ring each
    recipient's own sockets. Of `candidates` (None: every member) only the `audience` is told,
    so no kind can skip that rule; preferences are read here. With `skip_already_told`, a person
    already told about `subject` is not told again."""
    people = set(
        audience(
            project_id=event.project_id,
            song_id=song_id,
            candidates=candidates,
            actor_id=event.actor_id,
        )
    )
    if skip_already_told and people:
        told = Notification.objects.filter(
            recipient_id__in=people, kind=kind, subject=subject
        ).values_list("recipient_id", flat=True)
        people -= set(told)
    if not people:
        return []
    chosen = choices_for(people, kind)
    text = sentence if len(sentence) <= SENTENCE_MAX else sentence[: SENTENCE_MAX - 1] + "…"
    rows = [
        Notification(
            recipient_id=user_id,
            project_id=event.project_id,
            song_id=song_id,
            kind=kind,
            event=event,
            subject=subject,
            sentence=text,
            link=link,
            in_inbox=chosen[user_id].inbox,
        )
        for user_id in sorted(people)
        if chosen[user_id].any
    ]
    made = Notification.objects.bulk_create(rows)
    for row in made:
        if row.in_inbox:
            transaction.on_commit(partial(ring, row.recipient_id, kind, text, link), robust=True)
    return made


def unread_count(user: Any) -> int:
    return Notification.objects.for_user(user).unread().count()


def ring(user_id: int, kind: str, sentence: str, link: str) -> None:
    """After commit: an ephemeral frame to the person's own sockets with the new count (best
    effort; a page that reconnects refetches the count)."""
    count = Notification.objects.for_user_id(user_id).unread().count()
    send_to_user(
        user_id,
        {
            "type": "notification",
            "payload": {"kind": kind, "sentence": sentence, "link": link, "unread": count},
        },
    )


# --- the reader's own writes (no Event: see the module docstring) ----------------------------


def notification_get(*, user: Any, notification_id: int) -> Notification:
    """One of the person's own; anyone else's (or an id past any row) is a 404."""
    if not 0 < notification_id < 2**63:
        raise NotFound("notification not found")
    found = Notification.objects.for_user(user).filter(pk=notification_id).first()
    if found is None:
        raise NotFound("notification not found")
    return found


def notification_mark_read(*, user: Any, notification: Notification) -> Notification:
    """Read stays read: a second mark keeps the first time."""
    if notification.recipient_id != getattr(user, "pk", None):
        raise NotFound("notification not found")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, user: Any) -> int:
    """Every unread notification of the inbox read at once; returns how many."""
    return Notification.objects.for_user(user).unread().update(read_at=timezone.now())


def preferences_get(*, user: Any) -> list[dict[str, Any]]:
    """Every kind with the person's choice (defaults on)."""
    chosen = {
        kind: Choice(inbox, email)
        for kind, inbox, email in Preference.objects.filter(user=user).values_list(
            "kind", "inbox", "email"
        )
    }
    return [
        {
            "kind": kind.value,
            "label": kind.label,
            "inbox": chosen.get(kind.value, Choice()).inbox,
            "email": chosen.get(kind.value, Choice()).email,
        }
        for kind in Kind
    ]


def preference_set(
    *, user: Any, kind: str, inbox: bool | None = None, email: bool | None = None
) -> dict[str, Any]:
    """Switch a kind's inbox and/or e-mail on or off for oneself; an unknown kind is a 400."""
    if kind not in Kind.values:
        raise Invalid(
            f"'{kind[:40]}' is not a kind of notification: choose one of {', '.join(Kind.values)}",
            code="unknown_kind",
            fields={"kind": ["unknown kind"]},
        )
    row, _ = Preference.objects.get_or_create(user=user, kind=kind)
    if inbox is not None:
        row.inbox = inbox
    if email is not None:
        row.email = email
    row.save(update_fields=["inbox", "email"])
    return next(p for p in preferences_get(user=user) if p["kind"] == kind)


def link_to(name: str, **kwargs: int) -> str:
    """The page a notification opens; "" where this URL configuration has no pages (an API-only
    deployment, or tests that mount the API alone): the write that caused it must not fail for a
    link, and the inbox shows the sentence without one."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        logger.warning("no page %s to link a notification to", name)
        return ""
