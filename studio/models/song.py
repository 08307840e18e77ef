from django.conf import settings
from django.db import models

from studio.querysets import ProjectScopedQuerySet


class Stage(models.TextChoices):
    """The pipeline, in order. Order matters: moving forward checks gates, back does not."""

    PRE_PRODUCTION = "pre_production", "Pre-production"
    RECORDING = "recording", "Recording"
    EDITING = "editing", "Editing"
    MIXING = "mixing", "Mixing"
    MASTERING = "mastering", "Mastering"
    DELIVERED = "delivered", "Delivered"


class Song(models.Model):
    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="songs")
    title = models.CharField(max_length=200)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.PRE_PRODUCTION)
    key = models.CharField(max_length=20, blank=True)
    tempo_bpm = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    isrc = models.CharField(max_length=12, blank=True)
    notes = models.TextField(blank=True, max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Archived: read-only and out of the active lists, until unarchived.
    archived_at = models.DateTimeField(null=True, blank=True)
    # Deleted: gone from every list and read; a producer can undo for 30 days, then it is purged.
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "id"]

    def __str__(self) -> str:
        return self.title


class StageChange(models.Model):
    """One move of a song between stages: who, when, from, to and why."""

    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()
    project_path = "song__project"

    class Meta:
        ordering = ["song_id", "id"]

    def __str__(self) -> str:
        return f"{self.from_stage} -> {self.to_stage}"
