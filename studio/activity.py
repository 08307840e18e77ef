"""How the studio domain's events read in the activity feed (registered in StudioConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventlog.registry import (
    Ref,
    Told,
    register_event_type,
    register_names,
    register_quiet,
)
from studio.models import Song, Stage, TaskStatus

STAGE_LABELS = dict(Stage.choices)
STATUS_LABELS = dict(TaskStatus.choices)


def payload_user(data: Any) -> str:
    """A user as events carry it ({id, username})."""
    if isinstance(data, dict):
        return str(data.get("username") or "someone")
    return "someone"


def _song_ref(*keys: str) -> Any:
    """Refs of the song named by payload[key]["song"] (an id) or payload[key]["id"] for songs."""

    def refs(p: dict[str, Any]) -> Iterable[Ref]:
        for key in keys:
            obj = p.get(key)
            if key == "song" and isinstance(obj, dict):
                yield ("song", obj.get("id"))
            elif key == "song":
                yield ("song", obj)
            elif isinstance(obj, dict):
                yield ("song", obj.get("song"))

    return refs


def _song_titles(ids: set[int]) -> dict[int, str]:
    return dict(Song.objects.filter(pk__in=ids).values_list("pk", "title"))


def _project_created(t: Told) -> str:
    return f"{t.who} created the project"


def _member(t: Told) -> str:
    m = t.payload.get("member", {})
    name = payload_user(m.get("user"))
    role = m.get("role", "")
    if t.type == "member.removed":
        return f"{t.who} removed {name} from the project"
    if t.type == "member.added":
        if t.actor_id is not None and t.actor_id == (m.get("user") or {}).get("id"):
            return f"{t.who} joined as {role}"
        return f"{t.who} added {name} as {role}"
    return f"{t.who} made {name} a {role}"


def _renamed(t: Told) -> str:
    new = str(t.payload.get("display_name") or "")
    previous = str(t.payload.get("previous") or "")
    username = payload_user((t.payload.get("member") or {}).get("user"))
    if not new:
        return f"{previous} now goes by their user name, {username}"
    return f"{previous} is now called {new}"


def _invitation(t: Told) -> str:
    invitation = t.payload.get("invitation", {})
    email, role = invitation.get("email", ""), invitation.get("role", "")
    if t.type == "member.invited":
        return f"{t.who} invited {email} as {role}"
    return f"{t.who} withdrew the invitation of {email}"


def _song_created(t: Told) -> str:
    return f"{t.who} created the song '{t.payload.get('song', {}).get('title', '')}'"


def _song_deleted(t: Told) -> str:
    title = (t.payload.get("song") or {}).get("title")
    return f"{t.who} deleted the song '{title}'" if title else f"{t.who} deleted a song"


LIFECYCLE_VERBS = {
    "archived": "archived",
    "unarchived": "unarchived",
    "restored": "restored",
}


def _song_lifecycle(t: Told) -> str:
    title = (t.payload.get("song") or {}).get("title", "")
    if t.type == "song.purged":
        return f"The deleted song '{title}' was removed for good"
    return f"{t.who} {LIFECYCLE_VERBS[t.type.split('.')[1]]} the song '{title}'"


def _project_lifecycle(t: Told) -> str:
    verb = t.type.split(".")[1]
    return f"{t.who} {LIFECYCLE_VERBS.get(verb, verb)} the project"


def _stage_changed(t: Told) -> str:
    change = t.payload.get("change", {})
    to = STAGE_LABELS.get(change.get("to_stage"), change.get("to_stage"))
    title = t.names.song(t.payload.get("song", {}).get("id"))
    stages = list(STAGE_LABELS)
    back = (
        change.get("from_stage") in stages
        and change.get("to_stage") in stages
        and stages.index(change["to_stage"]) < stages.index(change["from_stage"])
    )
    if back:
        return f"{t.who} moved {title} back to {to}: {change.get('reason', '')}"
    return f"{t.who} moved {title} to {to}"


def _task(t: Told) -> str | None:
    task = t.payload.get("task", {})
    title = task.get("title")
    if t.type == "task.created":
        assignee = task.get("assignee")
        extra = f", assigned to {payload_user(assignee)}" if assignee else ""
        return f"{t.who} added the task '{title}' on {t.names.song(task.get('song'))}{extra}"
    if t.type == "task.moved":
        return f"{t.who} moved '{title}' to {STATUS_LABELS.get(task.get('status'), '')}"
    return f"{t.who} deleted a task"


def _credit(t: Told) -> str:
    c = t.payload.get("credit", {})
    song = t.names.song(c.get("song"))
    if t.type == "credit.updated":
        return f"{t.who} updated the credit of {c.get('contributor_name')} on {song}"
    role = str(c.get("role", "")).replace("_", " ")
    return f"{t.who} credited {c.get('contributor_name')} as {role} on {song}"


def _project_updated(t: Told) -> str:
    return f"{t.who} updated the project details"


def _removed(what: str, key: str) -> Any:
    def describe(t: Told) -> str:
        return (
            f"{t.who} removed a {what} from {t.names.song((t.payload.get(key) or {}).get('song'))}"
        )

    return describe


def _splits(t: Told) -> str:
    right = "composition" if t.payload.get("right") == "composition" else "master recording"
    return f"{t.who} set the {right} splits of {t.names.song(t.payload.get('song'))}"


def _sample_use(t: Told) -> str:
    s = t.payload.get("sample_use", {})
    clearance = str(s.get("clearance", "")).replace("_", " ")
    song = t.names.song(s.get("song"))
    return f"{t.who} noted '{s.get('source_work')}' in {song} ({clearance})"


def register() -> None:
    register_names("song", _song_titles)
    register_quiet("task.updated", "song.updated")
    register_event_type("project.created", _project_created)
    register_event_type("project.updated", _project_updated)
    register_event_type("credit.removed", _removed("credit", "credit"), refs=_song_ref("credit"))
    register_event_type(
        "sample_use.removed", _removed("sample use", "sample_use"), refs=_song_ref("sample_use")
    )
    for type in ("member.added", "member.role_changed", "member.removed"):
        register_event_type(type, _member)
    register_event_type("member.renamed", _renamed)
    for type in ("member.invited", "member.invitation_revoked"):
        register_event_type(type, _invitation)
    register_event_type("song.created", _song_created)
    register_event_type("song.deleted", _song_deleted)
    for type in ("song.archived", "song.unarchived", "song.restored", "song.purged"):
        register_event_type(type, _song_lifecycle)
    for type in ("project.archived", "project.unarchived", "project.deleted", "project.restored"):
        register_event_type(type, _project_lifecycle)
    register_event_type("song.stage_changed", _stage_changed, refs=_song_ref("song"))
    for type in ("task.created", "task.moved", "task.deleted"):
        register_event_type(type, _task, refs=_song_ref("task"))
    for type in ("credit.added", "credit.updated"):
        register_event_type(type, _credit, refs=_song_ref("credit"))
    register_event_type("splits.set", _splits, refs=_song_ref("song"))
    for type in ("sample_use.added", "sample_use.updated"):
        register_event_type(type, _sample_use, refs=_song_ref("sample_use"))
