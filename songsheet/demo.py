"""The demo's song sheet: 'Night Drive' written out (sections with lyrics, a first downbeat so
the player shows them on its waveform, a palette and two influences, one of them waiting to be
recorded as a sample use). Called by the `seed_demo` command once the demo songs exist."""

from __future__ import annotations

from typing import Any

from songsheet import services
from songsheet.models import Section
from studio.models import Project, Song

SECTIONS = (
    ("intro", 4, "", "Pads and the arpeggio; the kick enters on bar 3."),
    (
        "verse",
        8,
        "Streetlights count the miles I owe you\nRadio low, the city in the rear view",
        "",
    ),
    ("pre-chorus", 4, "Hold on, hold on", "Drop the bass for two bars."),
    ("chorus", 8, "Night drive, night drive\nWe don't say a word and it's all right", ""),
    ("outro", 4, "", "Let the delay tail ring out."),
)


def seed_demo_sheet(*, project: Project, users: dict[str, Any]) -> Song | None:
    """Idempotent: writes the sheet of 'Night Drive' when it has no sections yet."""
    song = Song.objects.filter(project=project, title="Night Drive").first()
    if song is None or Section.objects.filter(song=song).exists():
        return song
    mia, ava = users["mia"], users["ava"]
    services.sheet_update(
        actor=ava,
        song=song,
        data={
            "genre": "Synthwave",
            "vibe": "Late night, windows down, a little heartbroken",
            "style_notes": "Analog pads, gated snare, a vocal close to the mic.",
            "time_signature": "4/4",
            "first_downbeat_s": 0.0,
        },
    )
    for name, bars, lyrics, notes in SECTIONS:
        services.section_add(
            actor=ava,
            song=song,
            data={"name": name, "bars": bars, "lyrics": lyrics, "notes": notes,
                  "estimate_minutes": 60 if lyrics else 30},
        )  # fmt: skip
    for name, source, player in (
        ("Juno pad", "synth patch", users["leo"].pk),
        ("Gated snare", "sample library", None),
        ("Lead vocal", "live", ava.pk),
    ):
        services.palette_add(
            actor=mia,
            song=song,
            data={"name": name, "source": source, "player": player, "status": "sourced"},
        )
    services.influence_add(
        actor=ava,
        song=song,
        data={"work": "Drive", "artist": "The Cars", "taken": ["feel"],
              "notes": "The space between the notes."},
    )  # fmt: skip
    services.influence_add(
        actor=ava,
        song=song,
        data={"work": "Midnight City", "artist": "M83", "taken": ["sound", "melody"],
              "notes": "The lead synth's hook is close: ask whether it needs clearing."},
    )  # fmt: skip
    return song
