"""What a person is told: one Notification per recipient and event, their preferences per kind,
and the e-mail digests already sent (so a notification is never mailed twice)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    MENTION = "mention", "Mentions in comments"
    TASK = "task", "Tasks assigned to you"
    STAGE = "stage", "A song moving to another stage"
    APPROVAL = "approval", "Versions waiting for your approval"
    BOOKING = "booking", "Changes to bookings of your sessions"


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> NotificationQuerySet:
        """A person's own inbox: only theirs, and only of what they can still see (a project
        they are still in, not deleted, and a song that is not deleted)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.for_user_id(user.pk)

    def for_user_id(self, user_id: int, *, inbox_only: bool = True) -> NotificationQuerySet:
        """By id (after commit, in the digest); `inbox_only=False` adds the e-mail-only rows."""
        rows = self.filter(
            Q(song__isnull=True) | Q(song__deleted_at__isnull=True),
            recipient_id=user_id,
            project__memberships__user_id=user_id,
            project__deleted_at__isnull=True,
        )
        return rows.filter(in_inbox=True) if inbox_only else rows

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Digest(models.Model):
    """One e-mail digest sent to a person, and how many notifications it held."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"digest {self.pk} to {self.recipient_id} ({self.count})"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="+")
    song = models.ForeignKey(
        "studio.Song", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    event = models.ForeignKey("eventlog.Event", on_delete=models.CASCADE, related_name="+")
    # What it is about ("comment:12", "task:4"): a comment edited or a task saved again does not
    # tell the same person twice.
    subject = models.CharField(max_length=64)
    sentence = models.CharField(max_length=300)
    link = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # False when the person switched the kind's inbox off but kept its e-mail: mailed, not listed.
    in_inbox = models.BooleanField(default=True)
    digest = models.ForeignKey(
        Digest, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event", "kind"], name="notification_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: {self.sentence}"


class Preference(models.Model):
    """A person's choice for one kind; no row means both on (the default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    inbox = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["user_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: inbox={self.inbox} email={self.email}"
