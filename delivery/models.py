"""Releases: an ordered set of mastered songs with its identifiers, and what delivering it made.

- `Isrc`: the ISRC of one mastered recording (an `audio.Master`), so the same master keeps its
  code on every release it appears on; a code is unique within the instance.
- `Release`: title, artist, label, UPC/EAN, p- and c-line, release date and the front cover (an
  artwork Asset of the project).
- `ReleaseTrack`: a song at a position of a release, with the master that goes on the disc (the
  song's approved master, or none yet: the release page lists that as a missing piece), its
  title and artist as printed, pregap, trims and fades in seconds.
- `Delivery`: one `deliver` job's result: every file (path, size, SHA-256, asset), the zip
  bundle, the QC report, and the UPC and ISRCs it used.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models

from studio.querysets import ProjectScopedQuerySet


class Isrc(models.Model):
    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="+")
    master = models.OneToOneField("audio.Master", on_delete=models.CASCADE, related_name="isrc")
    code = models.CharField(max_length=12, unique=True)
    assigned_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "code"]

    def __str__(self) -> str:
        return self.code


class Release(models.Model):
    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="releases")
    title = models.CharField(max_length=200)
    artist = models.CharField(max_length=200)
    label = models.CharField(max_length=200, blank=True)
    upc = models.CharField(max_length=13, blank=True)
    p_line = models.CharField(max_length=200, blank=True)
    c_line = models.CharField(max_length=200, blank=True)
    release_date = models.DateField(null=True, blank=True)
    artwork = models.ForeignKey(
        "audio.Asset", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "-id"]

    def __str__(self) -> str:
        return self.title


class ReleaseTrack(models.Model):
    project_path = "release__project"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="tracks")
    position = models.PositiveSmallIntegerField()
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="+")
    master = models.ForeignKey(
        "audio.Master", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    artist = models.CharField(max_length=200, blank=True)
    pregap_s = models.FloatField(default=0.0)
    trim_start_s = models.FloatField(default=0.0)
    trim_end_s = models.FloatField(default=0.0)
    fade_in_s = models.FloatField(default=0.0)
    fade_out_s = models.FloatField(default=0.0)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["release_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["release", "song"], name="release_track_song_once"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Delivery(models.Model):
    project_path = "release__project"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="deliveries")
    job = models.OneToOneField("audio.Job", on_delete=models.CASCADE, related_name="delivery")
    number = models.PositiveIntegerField()
    files = models.JSONField(default=list)  # [{"path", "bytes", "sha256", "asset"}]
    bundle = models.ForeignKey(
        "audio.Asset", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    qc = models.JSONField(default=dict)
    qc_status = models.CharField(max_length=8)
    upc = models.CharField(max_length=13, blank=True)
    isrcs = models.JSONField(default=list)  # [{"position", "song", "master", "isrc"}]
    summary = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["release_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["release", "number"], name="delivery_unique_number"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.number}"
