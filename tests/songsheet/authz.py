"""Builders of song sheet objects for the authorization matrix (tests/studio/test_authz_matrix)."""

from __future__ import annotations

from typing import Any


def _song(s: Any) -> Any:
    from studio.services.songs import song_create

    return song_create(
        actor=s.users["producer"], project=s.project, title="Matrix sheet song", tempo_bpm="120"
    )


def _section(s: Any) -> Any:
    from songsheet.services import section_add

    song = _song(s)
    section_add(actor=s.users["producer"], song=song, data={"name": "intro", "bars": 4})
    return section_add(actor=s.users["producer"], song=song, data={"name": "verse", "bars": 8})


def _palette_item(s: Any) -> Any:
    from songsheet.services import palette_add

    return palette_add(actor=s.users["producer"], song=_song(s), data={"name": "Rhodes"})


def _influence(s: Any) -> Any:
    """An influence that takes the melody: it asks for clearance, not yet recorded."""
    from songsheet.services import influence_add

    return influence_add(
        actor=s.users["producer"],
        song=_song(s),
        data={"work": "Blue Monday", "artist": "New Order", "taken": ["melody"]},
    )
