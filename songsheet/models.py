"""The song sheet: what pre-production decides about a song before the first take.

- `SongSheet`: one per song (its primary key is the song's), genre, vibe, style notes, time
  signature and the first downbeat (seconds into the mix where bar 1 starts). Key and tempo are
  the song's own (`studio.Song.key`, `.tempo_bpm`): the sheet shows them, never copies them.
- `Section`: the arrangement in order (a dense `position` 1..n per song): name, bars, lyrics,
  notes and `estimate_minutes` (how much time the section will take; the timesheets app reads
  it by that name). Start times are computed (songsheet.timing), never stored.
- `PaletteItem`: a planned instrument or sound: its source, who plays or designs it (a member
  or a free-text name), the working session of the same song it is tracked in, its status.
- `Influence`: a work and its artist, what was taken from it, and the sample use recorded for
  it when it needs clearance (`sample_use`: the gate into delivered reads sample uses).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.querysets import ProjectScopedQuerySet

LYRICS_MAX = 20_000
NOTES_MAX = 5_000


class SongSheet(models.Model):
    project_path = "song__project"

    song = models.OneToOneField(
        "studio.Song", primary_key=True, on_delete=models.CASCADE, related_name="sheet"
    )
    genre = models.CharField(max_length=100, blank=True)
    vibe = models.CharField(max_length=200, blank=True)
    style_notes = models.TextField(blank=True, max_length=NOTES_MAX)
    time_signature = models.CharField(max_length=5, default="4/4")
    first_downbeat_s = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id"]

    def __str__(self) -> str:
        return f"Sheet of song {self.song_id}"


class Section(models.Model):
    project_path = "song__project"

    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    bars = models.PositiveIntegerField()
    lyrics = models.TextField(blank=True, max_length=LYRICS_MAX)
    notes = models.TextField(blank=True, max_length=NOTES_MAX)
    estimate_minutes = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(bars__gt=0), name="section_bars_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class PaletteStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    SOURCED = "sourced", "Sourced"
    TRACKED = "tracked", "Tracked"
    DROPPED = "dropped", "Dropped"


class PaletteItem(models.Model):
    project_path = "song__project"

    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="palette")
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True)  # live, sample library, synth patch...
    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    player_name = models.CharField(max_length=200, blank=True)
    session = models.ForeignKey(
        "live.WorkingSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="palette_items",
    )
    status = models.CharField(
        max_length=16, choices=PaletteStatus.choices, default=PaletteStatus.PLANNED
    )
    notes = models.TextField(blank=True, max_length=NOTES_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "id"]

    def __str__(self) -> str:
        return self.name


TAKEN = ("feel", "groove", "melody", "lyrics", "sound")


class Influence(models.Model):
    project_path = "song__project"

    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="influences")
    work = models.CharField(max_length=300)
    artist = models.CharField(max_length=300, blank=True)
    taken = models.JSONField(default=list)  # a subset of TAKEN, in that order
    notes = models.TextField(blank=True, max_length=NOTES_MAX)
    sample_use = models.OneToOneField(
        "studio.SampleUse",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="influence",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "id"]

    def __str__(self) -> str:
        return self.work

    @property
    def asks_clearance(self) -> bool:
        """Anything beyond feel may be a sample or an interpolation that needs clearance."""
        return any(t != "feel" for t in self.taken)
