from django.conf import settings
from django.db import models

from studio.querysets import ProjectScopedQuerySet


class CreditRole(models.TextChoices):
    COMPOSER = "composer", "Composer"
    LYRICIST = "lyricist", "Lyricist"
    ARRANGER = "arranger", "Arranger"
    PRODUCER = "producer", "Producer"
    PERFORMER = "performer", "Performer"
    RECORDING_ENGINEER = "recording_engineer", "Recording engineer"
    MIXING_ENGINEER = "mixing_engineer", "Mixing engineer"
    MASTERING_ENGINEER = "mastering_engineer", "Mastering engineer"
    FEATURED_ARTIST = "featured_artist", "Featured artist"


class Credit(models.Model):
    """Who did what on a song. The contributor need not be a user of Studio."""

    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="credits")
    role = models.CharField(max_length=24, choices=CreditRole.choices)
    contributor_name = models.CharField(max_length=200)
    instrument = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ipi = models.CharField(max_length=11, blank=True, help_text="IPI name number, 9-11 digits")
    isni = models.CharField(max_length=16, blank=True, help_text="ISNI, 16 characters")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()
    project_path = "song__project"

    class Meta:
        ordering = ["song_id", "id"]

    def __str__(self) -> str:
        return f"{self.contributor_name} ({self.role})"
