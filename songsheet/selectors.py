"""Reads of the song sheet, scoped to the user's memberships (another project's song is a 404),
and the sections with the times that follow from tempo, time signature and bars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from songsheet.models import Influence, PaletteItem, Section, SongSheet
from songsheet.timing import Timed, regions_ready, section_times
from studio.models import Song
from studio.roles import Capability
from studio.selectors import song_get_for_member


@dataclass(frozen=True)
class TimedSection:
    section: Section
    time: Timed


@dataclass(frozen=True)
class Sheet:
    """A song's sheet as read: the stored sheet (or its defaults), the song's key and tempo, the
    sections in order with their times, and whether the waveform can show them."""

    song: Song
    sheet: SongSheet
    sections: list[TimedSection]

    @property
    def regions_ready(self) -> bool:
        return regions_ready(self.song.tempo_bpm, self.sheet.first_downbeat_s)

    def regions(self) -> list[dict[str, Any]]:
        """The sections as waveform regions (empty until the tempo and first downbeat are set)."""
        if not self.regions_ready:
            return []
        return [
            {"id": t.section.pk, "name": t.section.name, "start_s": t.time.start_s,
             "end_s": t.time.end_s}
            for t in self.sections
        ]  # fmt: skip


def song_for_member(*, user: Any, song_id: Any, capability: str = Capability.VIEW) -> Song:
    return song_get_for_member(user=user, song_id=song_id, capability=capability)


def timed_sections(song: Song, sheet: SongSheet) -> list[TimedSection]:
    sections = list(Section.objects.filter(song=song).order_by("position", "id"))
    times = section_times(
        [s.bars for s in sections],
        tempo_bpm=song.tempo_bpm,
        time_signature=sheet.time_signature,
        first_downbeat_s=sheet.first_downbeat_s,
    )
    return [TimedSection(s, t) for s, t in zip(sections, times, strict=True)]


def sheet_read(song: Song) -> Sheet:
    sheet = SongSheet.objects.filter(song=song).first() or SongSheet(song=song)
    return Sheet(song=song, sheet=sheet, sections=timed_sections(song, sheet))


def section_times_by_id(song: Song) -> dict[int, Timed]:
    """Section id -> its time, for the API's list of sections."""
    return {t.section.pk: t.time for t in sheet_read(song).sections}


def palette_of(song: Song) -> list[PaletteItem]:
    return list(
        PaletteItem.objects.filter(song=song).select_related("player", "session").order_by("id")
    )


def influences_of(song: Song) -> list[Influence]:
    return list(Influence.objects.filter(song=song).select_related("sample_use").order_by("id"))
