"""How review events read in the activity feed (registered in LiveConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventlog.registry import Ref, Told, register_event_type, register_quiet


def _version_refs(key: str) -> Any:
    """A comment or approval names its version by `mix` or `master` id."""

    def refs(p: dict[str, Any]) -> Iterable[Ref]:
        obj = p.get(key) or {}
        yield ("mix", obj.get("mix"))
        yield ("master", obj.get("master"))

    return refs


def _song_of(key: str) -> Any:
    def refs(p: dict[str, Any]) -> Iterable[Ref]:
        yield ("song", (p.get(key) or {}).get("song"))

    return refs


def _takes_refs(p: dict[str, Any]) -> Iterable[Ref]:
    for take in p.get("takes") or []:
        if isinstance(take, dict):
            yield ("take", take.get("id"))
            yield ("song", take.get("song"))


def _approval_changed_refs(p: dict[str, Any]) -> Iterable[Ref]:
    for kind in ("mix", "master"):
        yield (kind, (p.get(kind) or {}).get("id"))


def _comment_added(t: Told) -> str:
    c = t.payload.get("comment", {})
    at = c.get("start_s")
    when = f" at {int(at) // 60}:{int(at) % 60:02d}" if isinstance(at, int | float) else ""
    verb = "replied" if c.get("parent") else "commented"
    return f"{t.who} {verb}{when} on {t.names.version(c)}"


def _comment_changed(t: Told) -> str:
    version = t.names.version(t.payload.get("comment", {}))
    verb = {"comment.resolved": "resolved", "comment.reopened": "reopened"}.get(t.type, "deleted")
    return f"{t.who} {verb} a comment on {version}"


def _approval_given(t: Told) -> str:
    a = t.payload.get("approval", {})
    if a.get("verdict") == "approved":
        return f"{t.who} approved {t.names.version(a)}"
    return f"{t.who} requested changes on {t.names.version(a)}"


def _approval_changed(t: Told) -> str:
    kind = "mix" if "mix" in t.payload else "master"
    obj = t.payload.get(kind, {})
    name = t.names.get(kind, obj.get("id")) or f"A {kind}"
    return f"{name} is {'approved' if obj.get('is_approved') else 'no longer approved'}"


def _session(t: Told) -> str:
    s = t.payload.get("session", {})
    kind = f"{s['kind']} session" if s.get("kind") else "session"
    verb = {"session.scheduled": "scheduled", "session.deleted": "cancelled"}.get(t.type, "updated")
    article = "the" if verb == "updated" else "an" if kind[0] in "aeiou" else "a"
    return f"{t.who} {verb} {article} {kind} for {t.names.song(s.get('song'))}"


def _keeper_changed(t: Told) -> str | None:
    takes = [x for x in t.payload.get("takes") or [] if isinstance(x, dict)]
    kept = [x for x in takes if x.get("is_keeper")]
    if kept:
        x = kept[0]
        number = t.names.get("take", x.get("id"))
        take = f"{x.get('part')} take {number}" if number else f"a {x.get('part')} take"
        return f"{t.who} chose {take} as the keeper of {t.names.song(x.get('song'))}"
    if takes:
        x = takes[0]
        return f"{t.who} unmarked the {x.get('part')} keeper of {t.names.song(x.get('song'))}"
    return None


def register() -> None:
    register_quiet("comment.edited")  # the thread reads the same; an edit is no news
    register_event_type("comment.added", _comment_added, refs=_version_refs("comment"))
    for type in ("comment.resolved", "comment.reopened", "comment.deleted"):
        register_event_type(type, _comment_changed, refs=_version_refs("comment"))
    register_event_type("approval.given", _approval_given, refs=_version_refs("approval"))
    for type in ("mix.approval_changed", "master.approval_changed"):
        register_event_type(type, _approval_changed, refs=_approval_changed_refs)
    for type in ("session.scheduled", "session.updated", "session.deleted"):
        register_event_type(type, _session, refs=_song_of("session"))
    register_event_type("take.keeper_changed", _keeper_changed, refs=_takes_refs)
