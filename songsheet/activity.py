"""How the song sheet's events read in the activity feed (registered in SongSheetConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from eventlog.registry import Ref, Told, register_event_type, register_quiet


def _song_of(key: str) -> Callable[[dict[str, Any]], Iterable[Ref]]:
    def refs(p: dict[str, Any]) -> Iterable[Ref]:
        yield ("song", (p.get(key) or {}).get("song"))

    return refs


def _sheet(t: Told) -> str:
    return f"{t.who} edited the song sheet of {t.names.song(t.payload['sheet'].get('song'))}"


def _section(verb: str) -> Callable[[Told], str]:
    def tell(t: Told) -> str:
        s = t.payload.get("section") or {}
        return f"{t.who} {verb} the {s.get('name', '')} of {t.names.song(s.get('song'))}"

    return tell


def _palette(verb: str) -> Callable[[Told], str]:
    def tell(t: Told) -> str:
        p = t.payload.get("palette_item") or {}
        return f"{t.who} {verb} {p.get('name', '')} in the palette of {t.names.song(p.get('song'))}"

    return tell


def _influence(verb: str) -> Callable[[Told], str]:
    def tell(t: Told) -> str:
        i = t.payload.get("influence") or {}
        by = f" by {i['artist']}" if i.get("artist") else ""
        song = t.names.song(i.get("song"))
        return f"{t.who} {verb} '{i.get('work', '')}'{by} as an influence on {song}"

    return tell


def register() -> None:
    register_event_type("sheet.updated", _sheet, refs=_song_of("sheet"))
    register_event_type("section.added", _section("wrote"), refs=_song_of("section"))
    register_event_type("section.updated", _section("edited"), refs=_song_of("section"))
    register_event_type("section.removed", _section("removed"), refs=_song_of("section"))
    register_event_type("palette.added", _palette("planned"), refs=_song_of("palette_item"))
    register_event_type("palette.updated", _palette("updated"), refs=_song_of("palette_item"))
    register_event_type("palette.removed", _palette("removed"), refs=_song_of("palette_item"))
    register_event_type("influence.added", _influence("named"), refs=_song_of("influence"))
    register_event_type("influence.updated", _influence("edited"), refs=_song_of("influence"))
    register_event_type("influence.removed", _influence("removed"), refs=_song_of("influence"))
    register_quiet("sections.reordered")  # every up/down: live, not news
