from django.conf import settings
from django.db import models

from studio.querysets import ProjectScopedQuerySet


class Verdict(models.TextChoices):
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class SessionKind(models.TextChoices):
    RECORDING = "recording", "Recording"
    OVERDUB = "overdub", "Overdub"
    MIX = "mix", "Mix"
    LISTENING = "listening", "Listening"


def _one_version_constraint(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=(
            models.Q(mix__isnull=False, master__isnull=True)
            | models.Q(mix__isnull=True, master__isnull=False)
        ),
        name=name,
    )


class Comment(models.Model):
    """A note on one version (a mix or a master: exactly one is set) at a time or a time range
    in its audio, threaded one level deep through `parent`, resolvable. Deleting keeps the row
    (`deleted_at`) so a thread's replies keep their place."""

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="comments")
    mix = models.ForeignKey(
        "audio.Mix", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    master = models.ForeignKey(
        "audio.Master", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=5000)
    start_s = models.FloatField(null=True, blank=True)
    end_s = models.FloatField(null=True, blank=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [_one_version_constraint("comment_one_version")]

    def __str__(self) -> str:
        return f"Comment {self.pk}"


class Approval(models.Model):
    """One verdict by one reviewer on one version. Rows are appended, never edited: the latest
    verdict per reviewer per version is the one that counts (see sessions.services)."""

    project = models.ForeignKey(
        "studio.Project", on_delete=models.CASCADE, related_name="approvals"
    )
    mix = models.ForeignKey(
        "audio.Mix", null=True, blank=True, on_delete=models.CASCADE, related_name="approvals"
    )
    master = models.ForeignKey(
        "audio.Master", null=True, blank=True, on_delete=models.CASCADE, related_name="approvals"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    note = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [_one_version_constraint("approval_one_version")]

    def __str__(self) -> str:
        return f"{self.verdict} by {self.reviewer_id}"


class WorkingSession(models.Model):
    """A scheduled working session on a song: recording, overdub, mix or listening."""

    project = models.ForeignKey(
        "studio.Project", on_delete=models.CASCADE, related_name="working_sessions"
    )
    song = models.ForeignKey(
        "studio.Song", on_delete=models.CASCADE, related_name="working_sessions"
    )
    kind = models.CharField(max_length=16, choices=SessionKind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    notes = models.TextField(blank=True, max_length=10000)
    takes = models.ManyToManyField("audio.Take", blank=True, related_name="working_sessions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "starts_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} session {self.pk}"
