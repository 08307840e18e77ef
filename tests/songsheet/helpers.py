"""Builders for the song sheet's tests."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone


def session_of(s: Any, song: Any) -> Any:
    """A recording session of `song`, tomorrow for three hours."""
    from sessions.services import session_schedule

    start = timezone.now() + datetime.timedelta(days=1)
    return session_schedule(
        actor=s.users["producer"],
        song=song,
        kind="recording",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )


def written_song(s: Any, title: str = "Sheet song", *, tempo: str | None = "120") -> Any:
    """A song with a tempo and three sections: intro 4, verse 8, chorus 8 (4/4)."""
    from songsheet.services import section_add
    from studio.services.songs import song_create

    song = song_create(actor=s.users["producer"], project=s.project, title=title, tempo_bpm=tempo)
    for name, bars in (("intro", 4), ("verse", 8), ("chorus", 8)):
        section_add(actor=s.users["producer"], song=song, data={"name": name, "bars": bars})
    return song
