import secrets

from django.conf import settings
from django.db import models

from studio.querysets import MembershipQuerySet, ProjectQuerySet
from studio.roles import Role


def new_epoch() -> str:
    return secrets.token_hex(6)


class Project(models.Model):
    """A body of work (single, EP, album, client job) shared by its members."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The event outbox counter: bumped under a row lock by eventlog.services.event_record.
    last_event_seq = models.PositiveBigIntegerField(default=0)
    # Changes when the event history is lost (a restored database): clients must resync.
    event_epoch = models.CharField(max_length=32, default=new_epoch)
    # Checks the project adds to its stage gates: names from studio.gates.PROJECT_CHECKS.
    gate_checks = models.JSONField(default=list, blank=True)
    # Whether viewers (label, manager) may download files; members of other roles always may.
    viewers_may_download = models.BooleanField(default=True)
    # Archived: read-only and out of the active lists, until unarchived.
    archived_at = models.DateTimeField(null=True, blank=True)
    # Deleted: gone from every list and read; a producer can undo for 30 days, then it is purged.
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"
