"""The event types that tell someone something, each turned into notifications by one rule of
notifications.services. eventlog calls these inside the transaction of the change
(eventlog.registry.register_listener); the apps that record the events know nothing of this."""

from __future__ import annotations

from typing import Any

from audio.models import Master, Mix
from eventlog.models import Event
from eventlog.registry import register_listener
from notifications.models import Kind
from notifications.services import link_to, members_with_roles, notify
from sessions.models import WorkingSession
from studio.models import Song, Stage
from studio.roles import Capability, roles_with

TASK_TYPES = ("task.created", "task.updated", "task.moved")
BOOKING_TYPES = ("booking.created", "booking.updated", "booking.deleted")


def _who(event: Event) -> str:
    actor = event.actor
    if actor is None:
        return "Someone"
    return actor.get_short_name() or actor.username


def _title(song_id: int | None) -> str:
    if song_id is None:
        return "a song"
    title = Song.objects.filter(pk=song_id).values_list("title", flat=True).first()
    return f"'{title}'" if title is not None else "a song"


def _id(value: Any) -> int | None:
    """An id from a payload value: an int, or an object with one."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _version(payload: dict[str, Any]) -> tuple[str, int | None, int | None, Any]:
    """(mix|master, its id, its song id, the object) of a comment's version."""
    comment = payload.get("comment") or {}
    if comment.get("mix"):
        mix = Mix.objects.filter(pk=comment["mix"]).first()
        return "mix", comment["mix"], getattr(mix, "song_id", None), mix
    master_id = _id(comment.get("master"))
    master = Master.objects.filter(pk=master_id).first() if master_id is not None else None
    return "master", master_id, getattr(master, "song_id", None), master


# --- mentions -------------------------------------------------------------------------------


def on_comment(event: Event) -> None:
    """The members a comment mentions (the comment service lets only members be mentioned); an
    edit tells only those it newly mentions."""
    comment = event.payload.get("comment") or {}
    mentioned = [i for i in comment.get("mentions") or [] if isinstance(i, int)]
    if not mentioned or comment.get("deleted"):
        return
    kind, version_id, song_id, version = _version(event.payload)
    if version_id is None or version is None:
        return
    name = f"{'Mix' if kind == 'mix' else 'Master'} {version.number} of {_title(song_id)}"
    body = " ".join(str(comment.get("body", "")).split())
    quote = body if len(body) <= 80 else body[:79] + "…"
    notify(
        event=event,
        kind=Kind.MENTION,
        subject=f"comment:{comment.get('id')}",
        candidates=mentioned,
        sentence=f"{_who(event)} mentioned you on {name}: “{quote}”",
        link=link_to(f"{kind}-player", **{f"{kind}_id": version_id}),
        song_id=song_id,
        skip_already_told=True,
    )


# --- tasks ----------------------------------------------------------------------------------


def _previous_assignee(event: Event, task_id: int) -> int | None:
    """Who the task was assigned to before this event, from the log itself."""
    before = (
        Event.objects.filter(
            project_id=event.project_id,
            type__in=TASK_TYPES,
            seq__lt=event.seq,
            payload__task__id=task_id,
        )
        .order_by("-seq")
        .values_list("payload", flat=True)
        .first()
    )
    if before is None:
        return None
    return _id((before.get("task") or {}).get("assignee"))


def on_task(event: Event) -> None:
    """A task's assignee is told when the task becomes theirs (created for them, or reassigned
    to them); saving it again while it stays theirs tells nobody."""
    task = event.payload.get("task") or {}
    assignee, task_id = _id(task.get("assignee")), _id(task)
    if assignee is None or task_id is None:
        return
    if event.type != "task.created" and _previous_assignee(event, task_id) == assignee:
        return
    song_id = _id(task.get("song"))
    notify(
        event=event,
        kind=Kind.TASK,
        subject=f"task:{task_id}",
        candidates=[assignee],
        sentence=f"{_who(event)} assigned you '{task.get('title', '')}' on {_title(song_id)}",
        link=link_to("project-board", project_id=event.project_id),
        song_id=song_id,
    )


# --- stage moves ----------------------------------------------------------------------------


def on_stage(event: Event) -> None:
    """Every member who can see the song (viewers too), but the one who moved it."""
    song = event.payload.get("song") or {}
    change = event.payload.get("change") or {}
    song_id = _id(song)
    if song_id is None:
        return
    to = Stage(change["to_stage"]).label if change.get("to_stage") in Stage.values else "?"
    notify(
        event=event,
        kind=Kind.STAGE,
        subject=f"song:{song_id}",
        candidates=None,
        sentence=f"{_who(event)} moved {_title(song_id)} to {to}",
        link=link_to("song-detail", song_id=song_id),
        song_id=song_id,
    )


# --- versions waiting for approval -----------------------------------------------------------


def on_version(event: Event) -> None:
    """A mix or master that can now be reviewed (an upload, a render, a mastering): the members
    whose role approves it (studio.roles: mix.approve, master.approve), as the approval rule of
    sessions.services.approvals counts them."""
    kind = "master" if event.type == "master.created" else "mix"
    version = event.payload.get(kind) or {}
    version_id, song_id = _id(version), _id(version.get("song"))
    if version_id is None:
        return
    if kind == "mix" and version.get("state") == "draft":
        return  # a draft has no audio: it waits for its render
    capability = Capability.MASTER_APPROVE if kind == "master" else Capability.MIX_APPROVE
    name = f"{'Master' if kind == 'master' else 'Mix'} {version.get('number', '')}"
    notify(
        event=event,
        kind=Kind.APPROVAL,
        subject=f"{kind}:{version_id}",
        candidates=members_with_roles(event.project_id, roles_with(capability)),
        sentence=f"{name} of {_title(song_id)} is waiting for your approval",
        link=link_to(f"{kind}-player", **{f"{kind}_id": version_id}),
        song_id=song_id,
        skip_already_told=True,
    )


# --- bookings (bookings/ records booking.created/updated/deleted, {"booking": {...}}) ------


def _booking(payload: dict[str, Any]) -> dict[str, Any]:
    """The booking object of the payload (or the payload itself, if it names the session)."""
    booking = payload.get("booking")
    return booking if isinstance(booking, dict) else payload


def on_booking(event: Event) -> None:
    """The participants of the booked session, and no one else. A booking freed because its
    session was cancelled finds the session gone: the payload still names who was in it."""
    booking = _booking(event.payload)
    session_id = _id(booking.get("session"))
    if session_id is None:
        return
    session = WorkingSession.objects.filter(pk=session_id, project_id=event.project_id).first()
    if session is not None:
        people = list(session.participants.values_list("pk", flat=True))
        song_id, session_kind = session.song_id, session.kind
    else:
        people = [i for i in booking.get("participants") or [] if isinstance(i, int)]
        song_id, session_kind = _id(booking.get("song")), str(booking.get("session_kind", ""))
    if song_id is None:
        return
    verb = {"booking.created": "booked", "booking.deleted": "released"}.get(event.type, "moved")
    thing = str(booking.get("resource_name") or "a room or equipment")
    where = f"the {session_kind} session of {_title(song_id)}".replace(
        "the  session", "the session"
    )
    notify(
        event=event,
        kind=Kind.BOOKING,
        subject=f"booking:{_id(booking) or session_id}",
        candidates=people,
        sentence=f"{_who(event)} {verb} {thing} for {where}",
        link=link_to("song-detail", song_id=song_id),
        song_id=song_id,
    )


def register() -> None:
    for type in ("comment.added", "comment.edited"):
        register_listener(type, on_comment)
    for type in TASK_TYPES:
        register_listener(type, on_task)
    register_listener("song.stage_changed", on_stage)
    for type in ("mix.created", "mix.rendered", "master.created"):
        register_listener(type, on_version)
    for type in BOOKING_TYPES:
        register_listener(type, on_booking)
