"""Review links: a version (mix or master) sent to a named listener outside the project, who
hears their own watermarked copy through an unguessable link; every access is logged, and a
copy found in the wild is traced back to its link by the mark it carries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from studio.querysets import ProjectScopedQuerySet


class ReviewSettings(models.Model):
    """A project's review-link secrets and rules: the watermark key (never leaves the server)
    and whether a link stops working when the member who sent it loses the role to send."""

    project = models.OneToOneField(
        "studio.Project", on_delete=models.CASCADE, related_name="review_settings"
    )
    watermark_key = models.CharField(max_length=128)
    stop_on_role_loss = models.BooleanField(default=True)

    objects = ProjectScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"review settings of project {self.project_id}"


class ReviewLink(models.Model):
    project = models.ForeignKey(
        "studio.Project", on_delete=models.CASCADE, related_name="review_links"
    )
    mix = models.ForeignKey(
        "audio.Mix", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    master = models.ForeignKey(
        "audio.Master", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipient_name = models.CharField(max_length=120)
    recipient_email = models.EmailField(max_length=254)
    note = models.TextField(blank=True, default="")
    # Only the token's SHA-256 is kept (as studio.models.Invitation): the link is the secret.
    token_sha256 = models.CharField(max_length=64, unique=True)
    watermark_id = models.PositiveBigIntegerField()
    marked_asset = models.ForeignKey(
        "audio.Asset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(
        "audio.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    download_allowed = models.BooleanField(default=False)
    play_limit = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(mix__isnull=False, master__isnull=True))
                | (Q(mix__isnull=True, master__isnull=False)),
                name="reviewlink_one_version",
            ),
            models.UniqueConstraint(
                fields=["project", "watermark_id"], name="reviewlink_watermark_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"review link for {self.recipient_name}"

    @property
    def version_label(self) -> str:
        if self.master_id:
            return f"Master {self.master.number}" if self.master else "Master"
        return f"Mix {self.mix.number}" if self.mix else "Mix"

    @property
    def state(self) -> str:
        """preparing, ready, revoked or expired (what the team's list shows)."""
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "ready" if self.marked_asset_id else "preparing"


class AccessKind(models.TextChoices):
    OPENED = "opened", "opened the link"
    PLAY = "play", "started playing"
    PROGRESS = "progress", "listened up to"
    STREAM = "stream", "fetched audio"
    DOWNLOAD = "download", "downloaded"
    REFUSED = "refused", "was refused"


class ReviewAccess(models.Model):
    """One access through a link: every page, play, progress report and media request."""

    link = models.ForeignKey(ReviewLink, on_delete=models.CASCADE, related_name="accesses")
    kind = models.CharField(max_length=16, choices=AccessKind.choices)
    position_s = models.FloatField(null=True, blank=True)
    address = models.CharField(max_length=64, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["link", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class ReviewComment(models.Model):
    """A time-coded comment left through a link, under the recipient's name (from outside)."""

    link = models.ForeignKey(ReviewLink, on_delete=models.CASCADE, related_name="comments")
    author_name = models.CharField(max_length=120)
    body = models.TextField()
    start_s = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start_s", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.body[:40]}"


class LeakTrace(models.Model):
    """A file found in the wild, uploaded by a member, and what the `wmtrace` job found in it."""

    project = models.ForeignKey(
        "studio.Project", on_delete=models.CASCADE, related_name="leak_traces"
    )
    asset = models.ForeignKey("audio.Asset", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(
        "audio.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    found = models.BooleanField(null=True)
    confidence = models.FloatField(null=True, blank=True)
    link = models.ForeignKey(
        ReviewLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"trace {self.pk} of project {self.project_id}"
