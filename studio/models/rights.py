from django.db import models

from studio.querysets import ProjectScopedQuerySet


class Right(models.TextChoices):
    COMPOSITION = "composition", "Composition (publishing)"
    MASTER = "master", "Master recording"


class Split(models.Model):
    """A party's share of one right on a song. A song's shares of one right total exactly 100.00;
    the set is replaced as a whole by `split_set`, so no partial state is ever stored."""

    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="splits")
    right = models.CharField(max_length=16, choices=Right.choices)
    party = models.CharField(max_length=200)
    share = models.DecimalField(max_digits=5, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    objects = ProjectScopedQuerySet.as_manager()
    project_path = "song__project"

    class Meta:
        ordering = ["song_id", "right", "position", "id"]

    def __str__(self) -> str:
        return f"{self.party} {self.share}% of {self.right}"


class SampleKind(models.TextChoices):
    SAMPLE = "sample", "Sample"
    INTERPOLATION = "interpolation", "Interpolation"
    REFERENCE = "reference", "Reference"


class Clearance(models.TextChoices):
    NOT_NEEDED = "not_needed", "Not needed"
    PENDING = "pending", "Pending"
    CLEARED = "cleared", "Cleared"
    DENIED = "denied", "Denied"


class SampleUse(models.Model):
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="sample_uses")
    source_work = models.CharField(max_length=300)
    rights_holder = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=16, choices=SampleKind.choices)
    clearance = models.CharField(
        max_length=16, choices=Clearance.choices, default=Clearance.PENDING
    )
    notes = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()
    project_path = "song__project"

    class Meta:
        ordering = ["song_id", "id"]

    def __str__(self) -> str:
        return self.source_work
