"""Rooms and equipment of a project, their bookings for working sessions, and the members'
private calendar feeds.

- `Resource`: a room, microphone, instrument, outboard unit or other item of a project's
  inventory, with its availability (an out-of-service item takes no new booking).
- `Booking`: a resource held for a part (by default all) of a working session of the same
  project. Two bookings of one resource never overlap as half-open ranges [start, end): on
  PostgreSQL an exclusion constraint (`booking_no_overlap`, btree_gist for the resource's
  equality) holds it; its migration operation skips other vendors, where the service's check
  under the project lock, inside the write transaction, decides (SQLite runs one writer at a
  time: `transaction_mode` IMMEDIATE).
- `CalendarFeed`: one member's private ICS feed of a project; only the SHA-256 of its token is
  kept.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Lower

from studio.querysets import ProjectScopedQuerySet

OVERLAP_CONSTRAINT = "booking_no_overlap"


class ResourceKind(models.TextChoices):
    ROOM = "room", "Room"
    MICROPHONE = "microphone", "Microphone"
    INSTRUMENT = "instrument", "Instrument"
    OUTBOARD = "outboard", "Outboard"
    OTHER = "other", "Other"


class Availability(models.TextChoices):
    AVAILABLE = "available", "Available"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


class Resource(models.Model):
    project = models.ForeignKey(
        "studio.Project", on_delete=models.CASCADE, related_name="resources"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ResourceKind.choices)
    notes = models.TextField(blank=True, max_length=2000)
    availability = models.CharField(
        max_length=16, choices=Availability.choices, default=Availability.AVAILABLE
    )
    availability_note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "kind", "name", "id"]
        constraints = [
            models.UniqueConstraint("project", Lower("name"), name="resource_name_once"),
        ]

    def __str__(self) -> str:
        return self.name


class TsTzRange(Func):
    """tstzrange(start, end, '[)'): a booking's time as PostgreSQL's half-open range."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Booking(models.Model):
    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="bookings")
    session = models.ForeignKey(
        "live.WorkingSession", on_delete=models.CASCADE, related_name="bookings"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()
    song_paths = ("session__song",)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["resource", "starts_at"], name="booking_resource_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="booking_ends_after_start"
            ),
            # Created on PostgreSQL only (bookings/migrations/0001_initial.py: PostgresOnly).
            ExclusionConstraint(
                name=OVERLAP_CONSTRAINT,
                expressions=[
                    ("resource", RangeOperators.EQUAL),
                    (
                        TsTzRange("starts_at", "ends_at", models.Value("[)")),
                        RangeOperators.OVERLAPS,
                    ),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"booking {self.pk} of resource {self.resource_id}"


class CalendarFeed(models.Model):
    """A member's private ICS feed of one project: one live token at a time (rotating replaces
    it, revoking ends it). The token itself is shown once and never stored."""

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "user_id", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"],
                condition=Q(revoked_at__isnull=True),
                name="calendar_feed_one_live",
            ),
        ]

    def __str__(self) -> str:
        return f"calendar feed {self.pk}"
