"""Time spent: what a member logged against a task or a working session of a song.

The time planned is not stored here: it is the estimates of the song's tasks
(`studio.Task.estimate_minutes`) and of its arrangement sections
(`songsheet.Section.estimate_minutes`); `timesheets.selectors` sums both against these entries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.models.song import Stage
from studio.querysets import ProjectScopedQuerySet

# A day's worth: one entry is the time of one day, never more.
ENTRY_MAX_MINUTES = 24 * 60
NOTE_MAX = 2000


class TimeEntry(models.Model):
    """Minutes one member spent on a song on one day, counted to one stage.

    It names a task or a working session of the song (at least one, the services check it). If
    that task or session is deleted later the entry stays, with its song and stage: time spent
    is not undone by tidying the board."""

    project = models.ForeignKey(
        "studio.Project", on_delete=models.CASCADE, related_name="time_entries"
    )
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="time_entries")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_entries"
    )
    task = models.ForeignKey(
        "studio.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="time_entries",
    )
    session = models.ForeignKey(
        "live.WorkingSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="time_entries",
    )
    stage = models.CharField(max_length=20, choices=Stage.choices)
    minutes = models.PositiveIntegerField()
    spent_on = models.DateField()
    note = models.TextField(blank=True, max_length=NOTE_MAX)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "-spent_on", "-id"]
        indexes = [models.Index(fields=["project", "song", "stage"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minutes__gt=0) & models.Q(minutes__lte=ENTRY_MAX_MINUTES),
                name="time_entry_minutes_in_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on song {self.song_id}"
