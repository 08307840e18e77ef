"""How the delivery app's events read in the activity feed (registered in DeliveryConfig.ready)."""

from __future__ import annotations

from typing import Any

from eventlog.registry import Told, register_event_type, register_quiet


def _title(p: dict[str, Any]) -> str:
    return f"'{(p.get('release') or {}).get('title', '')}'"


def _created(t: Told) -> str:
    return f"{t.who} started the release {_title(t.payload)}"


def _updated(t: Told) -> str:
    return f"{t.who} edited the release {_title(t.payload)}"


def _deleted(t: Told) -> str:
    return f"{t.who} deleted the release {_title(t.payload)}"


def _isrc(t: Told) -> str:
    isrc = t.payload.get("isrc") or {}
    return f"{t.who} gave {t.names.song(isrc.get('song'))} the ISRC {isrc.get('code', '')}"


def _isrc_refs(p: dict[str, Any]) -> Any:
    yield ("song", (p.get("isrc") or {}).get("song"))


def _delivered(t: Told) -> str:
    d = t.payload.get("delivery") or {}
    status = str(d.get("qc_status", "")).upper()
    title = f"'{d['title']}'" if d.get("title") else "a release"
    return f"Delivery {d.get('number', '')} of {title} is ready (QC {status})"


def register() -> None:
    register_event_type("release.created", _created)
    register_event_type("release.updated", _updated)
    register_event_type("release.deleted", _deleted)
    register_event_type("isrc.assigned", _isrc, refs=_isrc_refs)
    register_event_type("release.delivered", _delivered)
    register_quiet("release.tracks_changed")  # every drag of the sequence: live, not news
