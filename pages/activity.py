"""The dashboard's activity feed: events from the log, told as sentences people read
("Mia approved Mix 3 of 'Night Drive'"). Read-only; names are looked up in bulk, so a page of
events costs a fixed handful of queries. Owned by the front end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from studio.models import Song, Stage, TaskStatus

# Types that change nothing a person would read about.
QUIET = {"job.queued", "job.started", "job.running", "job.progress", "task.updated", "song.updated"}

STAGE_LABELS = dict(Stage.choices)
STATUS_LABELS = dict(TaskStatus.choices)


@dataclass
class Activity:
    seq: int
    type: str
    actor: str
    text: str
    at: datetime


def _name(user: Any) -> str:
    if user is None:
        return "Studio"
    return user.get_short_name() or user.username


def _payload_user(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("username") or "someone")
    return "someone"


def describe(events: list[Any]) -> list[Activity]:
    """Sentences for events (newest first in, newest first out), skipping quiet types."""
    from audio.models import Asset, Master, Mix, Take

    song_ids: set[int] = set()
    asset_ids: set[int] = set()
    take_ids: set[int] = set()
    mix_ids: set[int] = set()
    master_ids: set[int] = set()
    for event in events:
        p = event.payload or {}
        for key in ("song", "task", "credit", "sample_use", "change", "session"):
            obj = p.get(key)
            if isinstance(obj, dict) and isinstance(obj.get("song"), int):
                song_ids.add(obj["song"])
        if isinstance(p.get("song"), int):
            song_ids.add(p["song"])
        if isinstance(p.get("song"), dict) and isinstance(p["song"].get("id"), int):
            song_ids.add(p["song"]["id"])
        for key in ("comment", "approval", "job"):
            obj = p.get(key)
            if isinstance(obj, dict):
                if isinstance(obj.get("mix"), int):
                    mix_ids.add(obj["mix"])
                if isinstance(obj.get("master"), int):
                    master_ids.add(obj["master"])
        for key in ("mix",):
            obj = p.get(key)
            if isinstance(obj, dict) and isinstance(obj.get("id"), int):
                mix_ids.add(obj["id"])
                if isinstance(obj.get("song"), int):
                    song_ids.add(obj["song"])
        if isinstance(p.get("master"), dict) and isinstance(p["master"].get("id"), int):
            master_ids.add(p["master"]["id"])
        job = p.get("job")
        if isinstance(job, dict) and isinstance(job.get("asset"), int):
            asset_ids.add(job["asset"])
        for take in p.get("takes") or []:
            if isinstance(take, dict) and isinstance(take.get("id"), int):
                take_ids.add(take["id"])
                if isinstance(take.get("song"), int):
                    song_ids.add(take["song"])
    mixes = {m.pk: m for m in Mix.objects.filter(pk__in=mix_ids).select_related("song")}
    masters = {m.pk: m for m in Master.objects.filter(pk__in=master_ids).select_related("song")}
    songs = {s.pk: s.title for s in Song.objects.filter(pk__in=song_ids)}
    for m in [*mixes.values(), *masters.values()]:
        songs.setdefault(m.song_id, m.song.title)
    files = dict(Asset.objects.filter(pk__in=asset_ids).values_list("pk", "original_name"))
    take_numbers = dict(Take.objects.filter(pk__in=take_ids).values_list("pk", "number"))
    names = {"files": files, "takes": take_numbers}

    def song_title(song_id: Any) -> str:
        return f"'{songs[song_id]}'" if song_id in songs else "a deleted song"

    def version(obj: dict[str, Any]) -> str:
        if obj.get("mix") in mixes:
            mix = mixes[obj["mix"]]
            return f"Mix {mix.number} of '{mix.song.title}'"
        if obj.get("master") in masters:
            master = masters[obj["master"]]
            return f"Master {master.number} of '{master.song.title}'"
        return "a version"

    out: list[Activity] = []
    for event in events:
        if event.type in QUIET:
            continue
        text = _sentence(event, song_title, version, mixes, names)
        if text is None:
            continue
        out.append(Activity(event.seq, event.type, _name(event.actor), text, event.created_at))
    return out


def _sentence(
    event: Any,
    song_title: Any,
    version: Any,
    mixes: dict[int, Any],
    names: dict[str, dict[int, Any]] | None = None,
) -> str | None:
    names = names or {"files": {}, "takes": {}}
    p: dict[str, Any] = event.payload or {}
    who = _name(event.actor)
    t = event.type
    if t == "project.created":
        return f"{who} created the project"
    if t in ("member.added", "member.role_changed", "member.removed"):
        m = p.get("member", {})
        name: str | None = _payload_user(m.get("user"))
        role = m.get("role", "")
        if t == "member.removed":
            return f"{who} removed {name} from the project"
        if t == "member.added":
            return f"{who} added {name} as {role}"
        return f"{who} made {name} a {role}"
    if t == "song.created":
        return f"{who} created the song '{p.get('song', {}).get('title', '')}'"
    if t == "song.deleted":
        return f"{who} deleted a song"
    if t == "song.stage_changed":
        change = p.get("change", {})
        to = STAGE_LABELS.get(change.get("to_stage"), change.get("to_stage"))
        title = song_title(p.get("song", {}).get("id"))
        stages = list(STAGE_LABELS)
        back = (
            change.get("from_stage") in stages
            and change.get("to_stage") in stages
            and (stages.index(change["to_stage"]) < stages.index(change["from_stage"]))
        )
        if back:
            return f"{who} moved {title} back to {to}: {change.get('reason', '')}"
        return f"{who} moved {title} to {to}"
    if t.startswith("task."):
        task = p.get("task", {})
        title = task.get("title")
        if t == "task.created":
            assignee = task.get("assignee")
            extra = f", assigned to {_payload_user(assignee)}" if assignee else ""
            return f"{who} added the task '{title}' on {song_title(task.get('song'))}{extra}"
        if t == "task.moved":
            return f"{who} moved '{title}' to {STATUS_LABELS.get(task.get('status'), '')}"
        if t == "task.deleted":
            return f"{who} deleted a task"
        return None
    if t == "credit.added":
        c = p.get("credit", {})
        role = str(c.get("role", "")).replace("_", " ")
        return (
            f"{who} credited {c.get('contributor_name')} as {role} on {song_title(c.get('song'))}"
        )
    if t == "splits.set":
        right = "composition" if p.get("right") == "composition" else "master recording"
        return f"{who} set the {right} splits of {song_title(p.get('song'))}"
    if t in ("sample_use.added", "sample_use.updated"):
        s = p.get("sample_use", {})
        clearance = str(s.get("clearance", "")).replace("_", " ")
        return f"{who} noted '{s.get('source_work')}' in {song_title(s.get('song'))} ({clearance})"
    if t == "comment.added":
        c = p.get("comment", {})
        at = c.get("start_s")
        when = f" at {int(at) // 60}:{int(at) % 60:02d}" if isinstance(at, int | float) else ""
        verb = "replied" if c.get("parent") else "commented"
        return f"{who} {verb}{when} on {version(c)}"
    if t in ("comment.resolved", "comment.reopened"):
        verb = "resolved" if t == "comment.resolved" else "reopened"
        return f"{who} {verb} a comment on {version(p.get('comment', {}))}"
    if t == "approval.given":
        a = p.get("approval", {})
        if a.get("verdict") == "approved":
            return f"{who} approved {version(a)}"
        return f"{who} requested changes on {version(a)}"
    if t == "mix.approval_changed":
        mix = p.get("mix", {})
        m = mixes.get(mix.get("id"))
        name = f"Mix {m.number} of '{m.song.title}'" if m else "A mix"
        return f"{name} is {'approved' if mix.get('is_approved') else 'no longer approved'}"
    if t == "mix.created":
        mix = p.get("mix", {})
        return f"{who} added Mix {mix.get('number', '')} of {song_title(mix.get('song'))}"
    if t == "stem.attached":
        return f"{who} added a stem to {song_title(p.get('stem', {}).get('song'))}"
    if t == "take.attached":
        return f"{who} added a take to {song_title(p.get('take', {}).get('song'))}"
    if t == "job.finished":
        job = p.get("job", {})
        if job.get("kind") == "analyze":
            name = names["files"].get(job.get("asset"))
            if name:
                return f"Analysis of '{name}' finished"
            return "Analysis finished: the waveform and loudness are ready"
        return f"{str(job.get('kind', 'A')).capitalize()} job {job.get('id', '')} finished"
    if t == "job.failed":
        job = p.get("job", {})
        name = names["files"].get(job.get("asset"))
        if job.get("kind") == "analyze" and name:
            return f"Analysis of '{name}' failed: {job.get('error', '')}"
        return f"{str(job.get('kind', 'A')).capitalize()} job failed: {job.get('error', '')}"
    if t.startswith("session."):
        s = p.get("session", {})
        kind = f"{s['kind']} session" if s.get("kind") else "session"
        verb = {"session.scheduled": "scheduled", "session.deleted": "cancelled"}.get(t, "updated")
        article = "the" if verb == "updated" else "an" if kind[0] in "aeiou" else "a"
        return f"{who} {verb} {article} {kind} for {song_title(s.get('song'))}"
    if t == "take.keeper_changed":
        kept = [x for x in p.get("takes") or [] if isinstance(x, dict) and x.get("is_keeper")]
        if kept:
            x = kept[0]
            number = names["takes"].get(int(x.get("id") or 0))
            take = f"{x.get('part')} take {number}" if number else f"a {x.get('part')} take"
            return f"{who} chose {take} as the keeper of {song_title(x.get('song'))}"
        dropped = [x for x in p.get("takes") or [] if isinstance(x, dict)]
        if dropped:
            x = dropped[0]
            return f"{who} unmarked the {x.get('part')} keeper of {song_title(x.get('song'))}"
        return None
    if t == "credit.updated":
        c = p.get("credit", {})
        name, song = c.get("contributor_name"), song_title(c.get("song"))
        return f"{who} updated the credit of {name} on {song}"
    if t == "comment.deleted":
        return f"{who} deleted a comment on {version(p.get('comment', {}))}"
    return None


def user_names(ids: list[int]) -> dict[int, str]:
    return {u.pk: _name(u) for u in get_user_model().objects.filter(pk__in=ids)}
