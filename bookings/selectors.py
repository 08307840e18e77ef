"""Reads of the inventory, the bookings and the calendar scoped to the user's memberships
(another project's row is a 404), the week a calendar shows, and the sessions a feed serves."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from bookings.models import Booking, CalendarFeed, Resource
from sessions.models import WorkingSession
from studio.errors import Invalid, NotFound
from studio.roles import Capability
from studio.selectors import require_capability

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def resource_get_for_member(
    *, user: Any, resource_id: Any, capability: str = Capability.VIEW
) -> Resource:
    try:
        resource = Resource.objects.visible_to(user).get(pk=int(resource_id))
    except (Resource.DoesNotExist, ValueError, TypeError):
        raise NotFound("resource not found") from None
    require_capability(user=user, project_id=resource.project_id, capability=capability)
    return resource


def booking_get_for_member(
    *, user: Any, booking_id: Any, capability: str = Capability.VIEW
) -> Booking:
    try:
        booking = (
            Booking.objects.visible_to(user)
            .select_related("resource", "session__song")
            .get(pk=int(booking_id))
        )
    except (Booking.DoesNotExist, ValueError, TypeError):
        raise NotFound("booking not found") from None
    require_capability(user=user, project_id=booking.project_id, capability=capability)
    return booking


def session_get_for_member(*, user: Any, session_id: Any) -> WorkingSession:
    try:
        return (
            WorkingSession.objects.visible_to(user).select_related("song").get(pk=int(session_id))
        )
    except (WorkingSession.DoesNotExist, ValueError, TypeError):
        raise NotFound("session not found") from None


def project_resources(project_id: int) -> list[Resource]:
    return list(Resource.objects.filter(project_id=project_id).order_by("kind", "name", "id"))


def session_bookings(session_id: int) -> list[Booking]:
    """What a session needs: its bookings in time order, with their resources."""
    return list(
        Booking.objects.filter(session_id=session_id)
        .select_related("resource", "created_by")
        .order_by("starts_at", "id")
    )


@dataclass(frozen=True)
class Week:
    """An ISO week: Monday 00:00 to the next Monday 00:00 in a zone."""

    year: int
    number: int
    zone: datetime.tzinfo

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> datetime.date:
        return datetime.date.fromisocalendar(self.year, self.number, 1)

    @property
    def days(self) -> list[datetime.date]:
        return [self.monday + datetime.timedelta(days=i) for i in range(7)]

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime.combine(self.monday, datetime.time(), tzinfo=self.zone)

    @property
    def end(self) -> datetime.datetime:
        nxt = self.monday + datetime.timedelta(days=7)
        return datetime.datetime.combine(nxt, datetime.time(), tzinfo=self.zone)

    def shifted(self, weeks: int) -> Week:
        y, w, _ = (self.monday + datetime.timedelta(weeks=weeks)).isocalendar()
        return Week(y, w, self.zone)


def week_of(raw: str | None, *, today: datetime.date, zone: datetime.tzinfo) -> Week:
    """`2026-W49` (ISO 8601 week), or the week of `today` when none is given; a malformed or
    impossible week is a 400 that says the form."""
    if not raw:
        y, w, _ = today.isocalendar()
        return Week(y, w, zone)
    match = _WEEK.fullmatch(raw.strip())
    if match is None:
        raise Invalid("week: give a week as 2026-W49", fields={"week": ["as YYYY-Www"]})
    year, number = int(match.group(1)), int(match.group(2))
    try:
        datetime.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise Invalid(
            f"week: {raw[:20]} is not a week", fields={"week": ["no such week"]}
        ) from None
    if not 1900 <= year <= 9998:
        raise Invalid("week: a year from 1900 to 9998", fields={"week": ["out of range"]})
    return Week(year, number, zone)


def sessions_between(
    project_id: int, start: datetime.datetime, end: datetime.datetime
) -> list[WorkingSession]:
    """The live sessions (no deleted song) overlapping [start, end), with their bookings."""
    return list(
        WorkingSession.objects.filter(
            project_id=project_id,
            song__deleted_at__isnull=True,
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .select_related("song")
        .prefetch_related("participants", "bookings__resource")
        .order_by("starts_at", "id")
    )


def feed_sessions(feed: CalendarFeed) -> list[WorkingSession]:
    """Every session of the feed's project its member can see (songs not deleted), with their
    bookings and participants."""
    return list(
        WorkingSession.objects.visible_to(feed.user)
        .filter(project_id=feed.project_id)
        .select_related("song", "project")
        .prefetch_related("participants", "bookings__resource")
        .order_by("starts_at", "id")
    )


def live_feed(*, user: Any, project_id: int) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(
        project_id=project_id, user=user, revoked_at__isnull=True
    ).first()
