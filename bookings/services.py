"""Every write of the bookings app: the inventory, the bookings, and the private calendar feeds.
One transaction each, under the project lock, with its Event.

Rules, once:
- A resource has a name (unique in its project, whatever the case), a kind and an availability;
  an out-of-service resource takes no new booking (409), its existing bookings stay.
- A booking holds a resource of the session's own project (another project's resource or
  session is a 400) for a part of that session: its times default to the session's, and must
  lie inside it, end after they start (an inverted or zero-length range is a 400).
- Two bookings of one resource never overlap as [start, end): touching ends are fine. On
  PostgreSQL the exclusion constraint decides and its IntegrityError becomes the 409; on other
  vendors (embedded SQLite, one writer at a time) the check below, inside the same transaction
  and after the project lock, decides. Never a read before the transaction.
- The 409 says who holds the resource, in the reader's zone: "Live room is booked Wed 2 Dec
  14:00–16:00 CET by Mia for the recording session of 'Night Drive'".
- A session that moves takes its bookings with it (a booking that covered the whole session
  keeps covering it; a part moves by as much as the start did and is cut to the session); a move
  that would collide is refused with the sentence, and so is one that leaves a booking no time.
  A cancelled session frees its bookings (`booking.deleted` for each), and so does a deleted
  song for its sessions' bookings that have not ended yet.
- A calendar feed token is 256 bits from `secrets`, shown once; only its SHA-256 is kept.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import zoneinfo
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from bookings.models import (
    OVERLAP_CONSTRAINT,
    Availability,
    Booking,
    CalendarFeed,
    Resource,
    ResourceKind,
)
from bookings.payloads import booking_payload, resource_payload
from eventlog.models import Event
from eventlog.services import event_record, project_lock
from sessions.models import WorkingSession
from studio.errors import Conflict, Invalid, NotFound
from studio.models import Project
from studio.roles import Capability
from studio.selectors import member_role, require_capability
from studio.services.accounts import profile_time_zone

NAME_MAX, NOTES_MAX, NOTE_MAX = 100, 2000, 200
TOKEN_BYTES = 32  # 256 bits


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# --- the sentence ----------------------------------------------------------------------------


def reader_zone(actor: Any) -> datetime.tzinfo:
    """The actor's own zone (Profile.time_zone), else the request's, else UTC: an API script
    signed in by token gets its owner's zone too."""
    zone = profile_time_zone(user=actor) if getattr(actor, "is_authenticated", False) else None
    return zoneinfo.ZoneInfo(zone) if zone else timezone.get_current_timezone()


def span_text(start: datetime.datetime, end: datetime.datetime, zone: datetime.tzinfo) -> str:
    """'Wed 2 Dec 14:00–16:00 CET', or both days when the range crosses midnight."""
    a, b = start.astimezone(zone), end.astimezone(zone)
    day = f"{a:%a} {a.day} {a:%b}"
    if a.date() == b.date():
        return f"{day} {a:%H:%M}–{b:%H:%M} {b.tzname()}"
    return f"{day} {a:%H:%M} – {b:%a} {b.day} {b:%b} {b:%H:%M} {b.tzname()}"


def person(user: Any) -> str:
    if user is None:
        return "a former member"
    return user.get_short_name() or user.username


def holder_sentence(holder: Booking, actor: Any) -> str:
    session = holder.session
    return (
        f"{holder.resource.name} is booked "
        f"{span_text(holder.starts_at, holder.ends_at, reader_zone(actor))} "
        f"by {person(holder.created_by)} for the {session.get_kind_display().lower()} session "
        f"of '{session.song.title}'"
    )


def overlapping(
    resource_id: int,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    exclude: tuple[int, ...] = (),
) -> Booking | None:
    """The first booking of the resource that overlaps [starts_at, ends_at), if any."""
    return (
        Booking.objects.filter(
            resource_id=resource_id, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .exclude(pk__in=exclude)
        .select_related("resource", "session__song", "created_by")
        .order_by("starts_at", "id")
        .first()
    )


def _save_unless_overlap(booking: Booking, actor: Any) -> None:
    """Insert or update the booking, or raise the 409 naming who holds the time. On PostgreSQL
    the exclusion constraint decides (in a savepoint, so the caller's transaction goes on to
    raise); elsewhere the check, under the project lock the caller holds."""
    exclude = (booking.pk,) if booking.pk else ()
    if connection.vendor != "postgresql":
        holder = overlapping(booking.resource_id, booking.starts_at, booking.ends_at, exclude)
        if holder is not None:
            raise Conflict(holder_sentence(holder, actor), code="booking_overlap")
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:
        if OVERLAP_CONSTRAINT not in str(exc):
            raise
        holder = overlapping(booking.resource_id, booking.starts_at, booking.ends_at, exclude)
        sentence = (
            holder_sentence(holder, actor)
            if holder is not None
            else f"{booking.resource.name} is already booked at that time"
        )
        raise Conflict(sentence, code="booking_overlap") from None


# --- resources -------------------------------------------------------------------------------


def _text(fields: dict[str, list[str]], name: str, value: Any, high: int, required: bool) -> str:
    if value is not None and not isinstance(value, str):
        fields[name] = ["must be text"]
        return ""
    text = (value or "").strip()
    if name == "name":
        text = " ".join(text.split())
    if required and not text:
        fields[name] = ["this field is required"]
    elif len(text) > high:
        fields[name] = [f"at most {high} characters"]
    return text


def _clean_resource(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fields: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, high, required in (
        ("name", NAME_MAX, True),
        ("notes", NOTES_MAX, False),
        ("availability_note", NOTE_MAX, False),
    ):
        if name in data or not partial:
            out[name] = _text(fields, name, data.get(name), high, required)
    if "kind" in data or not partial:
        if data.get("kind") not in ResourceKind.values:
            fields["kind"] = [f"choose one of {', '.join(ResourceKind.values)}"]
        else:
            out["kind"] = data["kind"]
    if "availability" in data or not partial:
        value = data.get("availability") or Availability.AVAILABLE
        if value not in Availability.values:
            fields["availability"] = [f"choose one of {', '.join(Availability.values)}"]
        else:
            out["availability"] = value
    if fields:
        first = next(iter(fields))
        raise Invalid(f"{first}: {fields[first][0]}", fields=fields)
    return out


def _name_taken(project_id: int, name: str, exclude: int | None = None) -> None:
    clash = Resource.objects.filter(project_id=project_id, name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise Conflict(
            f"the inventory already has an item named '{name}'",
            code="resource_name_taken",
            fields={"name": ["already in the inventory"]},
        )


def _resource_event(actor: Any, resource: Resource, type: str) -> None:
    event_record(
        project=resource.project_id,
        type=type,
        payload={"resource": resource_payload(resource)},
        actor=actor,
    )


def resource_create(*, actor: Any, project: Project, data: dict[str, Any]) -> Resource:
    """A new item of the inventory (`resource.created`): name, kind, notes, availability and
    availability_note."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.RESOURCE_EDIT)
    cleaned = _clean_resource(data, partial=False)
    with transaction.atomic():
        project_lock(project.pk)
        _name_taken(project.pk, cleaned["name"])
        resource = Resource.objects.create(project=project, created_by=_user(actor), **cleaned)
        _resource_event(actor, resource, "resource.created")
    return resource


def resource_update(*, actor: Any, resource: Resource, data: dict[str, Any]) -> Resource:
    require_capability(
        user=actor, project_id=resource.project_id, capability=Capability.RESOURCE_EDIT
    )
    cleaned = _clean_resource(data, partial=True)
    if cleaned.get("availability") == Availability.AVAILABLE and "availability_note" not in data:
        cleaned["availability_note"] = ""  # back in service: the old reason no longer holds
    with transaction.atomic():
        project_lock(resource.project_id)
        if "name" in cleaned:
            _name_taken(resource.project_id, cleaned["name"], exclude=resource.pk)
        Resource.objects.filter(pk=resource.pk).update(**cleaned, updated_at=timezone.now())
        resource.refresh_from_db()
        _resource_event(actor, resource, "resource.updated")
    return resource


def resource_delete(*, actor: Any, resource: Resource) -> None:
    """Remove an item; its bookings are released first (`booking.deleted` for each, so the
    sessions' participants hear of it), then `resource.deleted`."""
    require_capability(
        user=actor, project_id=resource.project_id, capability=Capability.RESOURCE_EDIT
    )
    with transaction.atomic():
        project_lock(resource.project_id)
        for booking in _bookings(Booking.objects.filter(resource=resource)):
            _booking_gone(actor, booking)
        payload = {"resource": resource_payload(resource)}
        project_id = resource.project_id
        resource.delete()
        event_record(project=project_id, type="resource.deleted", payload=payload, actor=actor)


# --- bookings --------------------------------------------------------------------------------


def _bookings(qs: Any) -> list[Booking]:
    return list(
        qs.select_related("resource", "session__song").prefetch_related("session__participants")
    )


def _booking_event(actor: Any, booking: Booking, type: str) -> None:
    event_record(
        project=booking.project_id,
        type=type,
        payload={"booking": booking_payload(booking)},
        actor=actor,
    )


def _booking_gone(actor: Any, booking: Booking) -> None:
    payload = {"booking": booking_payload(booking)}
    project_id = booking.project_id
    booking.delete()
    event_record(project=project_id, type="booking.deleted", payload=payload, actor=actor)


def _when(name: str, value: Any) -> datetime.datetime:
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(
                f"{name}: give a date and time (ISO 8601)", fields={name: ["not a date and time"]}
            ) from None
    if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
        raise Invalid(
            f"{name}: give a date and time with a time zone", fields={name: ["no time zone"]}
        )
    return instant_in_utc(name, value)


def instant_in_utc(name: str, value: datetime.datetime) -> datetime.datetime:
    """An aware datetime as the same instant in UTC: PostgreSQL stores offsets up to ±15:59
    only, and one that leaves the calendar when converted is a 400 naming the field."""
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        raise Invalid(
            f"{name}: out of the calendar's range", fields={name: ["out of range"]}
        ) from None


def _times(session: WorkingSession, starts_at: Any, ends_at: Any) -> tuple[Any, Any]:
    """The booking's range: the session's where not given, checked to lie inside it."""
    starts = session.starts_at if starts_at is None else _when("starts_at", starts_at)
    ends = session.ends_at if ends_at is None else _when("ends_at", ends_at)
    if ends <= starts:
        raise Invalid(
            "ends_at: must be after starts_at (a booking needs some time)",
            code="booking_times",
            fields={"ends_at": ["must be after starts_at"]},
        )
    if starts < session.starts_at or ends > session.ends_at:
        raise Invalid(
            "a booking lies inside its session's time",
            code="booking_outside_session",
            fields={
                "starts_at" if starts < session.starts_at else "ends_at": ["outside the session"]
            },
        )
    return starts, ends


def _note(value: Any) -> str:
    fields: dict[str, list[str]] = {}
    text = _text(fields, "note", value, NOTE_MAX, False)
    if fields:
        raise Invalid(f"note: {fields['note'][0]}", fields=fields)
    return text


def booking_create(
    *,
    actor: Any,
    resource: Resource,
    session: WorkingSession,
    starts_at: Any = None,
    ends_at: Any = None,
    note: Any = "",
) -> Booking:
    """Book `resource` for `session` (`booking.created`): all of it unless times are given."""
    require_capability(
        user=actor,
        project_id=session.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=session.song_id,
    )
    if resource.project_id != session.project_id:
        raise Invalid(
            "that resource belongs to another project",
            code="resource_other_project",
            fields={"resource": ["not in this session's project"]},
        )
    starts, ends = _times(session, starts_at, ends_at)
    text = _note(note)
    with transaction.atomic():
        project_lock(session.project_id)
        resource = Resource.objects.get(pk=resource.pk)  # its availability, read under the lock
        if resource.availability == Availability.OUT_OF_SERVICE:
            reason = f": {resource.availability_note}" if resource.availability_note else ""
            raise Conflict(
                f"{resource.name} is out of service{reason}", code="resource_out_of_service"
            )
        booking = Booking(
            project_id=session.project_id,
            resource=resource,
            session=session,
            starts_at=starts,
            ends_at=ends,
            note=text,
            created_by=_user(actor),
        )
        _save_unless_overlap(booking, actor)
        _booking_event(actor, booking, "booking.created")
    return booking


def booking_update(
    *,
    actor: Any,
    booking: Booking,
    starts_at: Any = None,
    ends_at: Any = None,
    note: Any = None,
) -> Booking:
    """Change a booking's times (inside its session) or note (`booking.updated`)."""
    session = booking.session
    require_capability(
        user=actor,
        project_id=booking.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=session.song_id,
    )
    starts, ends = _times(
        session,
        booking.starts_at if starts_at is None else starts_at,
        booking.ends_at if ends_at is None else ends_at,
    )
    text = booking.note if note is None else _note(note)
    with transaction.atomic():
        project_lock(booking.project_id)
        booking.starts_at, booking.ends_at, booking.note = starts, ends, text
        _save_unless_overlap(booking, actor)
        _booking_event(actor, booking, "booking.updated")
    return booking


def booking_delete(*, actor: Any, booking: Booking) -> None:
    require_capability(
        user=actor,
        project_id=booking.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=booking.session.song_id,
    )
    with transaction.atomic():
        project_lock(booking.project_id)
        _booking_gone(actor, booking)


# --- following the sessions (registered with sessions.hooks in BookingsConfig.ready) ---------


def follow_session_moved(
    actor: Any, session: WorkingSession, old_start: datetime.datetime, old_end: datetime.datetime
) -> None:
    """Inside session_update's transaction: move the session's bookings with it."""
    delta = session.starts_at - old_start
    bookings = _bookings(Booking.objects.filter(session=session))
    # Later ones first when moving later (earlier first when earlier), so the bookings of one
    # session never meet each other half-way (the constraint is checked row by row).
    bookings.sort(key=lambda b: b.starts_at, reverse=delta > datetime.timedelta(0))
    for booking in bookings:
        if booking.starts_at == old_start and booking.ends_at == old_end:
            starts, ends = session.starts_at, session.ends_at
        else:
            starts = max(booking.starts_at + delta, session.starts_at)
            ends = min(booking.ends_at + delta, session.ends_at)
        if ends <= starts:
            raise Conflict(
                f"the booking of {booking.resource.name} "
                f"({span_text(booking.starts_at, booking.ends_at, reader_zone(actor))}) would "
                "fall outside the moved session: change or release it first",
                code="booking_outside_session",
            )
        booking.session = session
        booking.starts_at, booking.ends_at = starts, ends
        _save_unless_overlap(booking, actor)
        _booking_event(actor, booking, "booking.updated")


def follow_session_cancelled(actor: Any, session: WorkingSession) -> None:
    """Inside session_delete's transaction: free the session's bookings."""
    for booking in _bookings(Booking.objects.filter(session=session)):
        _booking_gone(actor, booking)


def follow_song_deleted(event: Event) -> None:
    """Inside song_delete's transaction (an eventlog listener on `song.deleted`): a deleted song
    no longer holds rooms or equipment, so the bookings of its sessions that have not ended yet
    are freed (with their `booking.deleted` events); the ones in the past stay as history. A
    restored song's sessions are booked again by hand."""
    song_id = (event.payload.get("song") or {}).get("id")
    if not isinstance(song_id, int):
        return
    held = Booking.objects.filter(
        project_id=event.project_id, session__song_id=song_id, ends_at__gt=timezone.now()
    )
    for booking in _bookings(held):
        _booking_gone(event.actor, booking)


# --- calendar feeds --------------------------------------------------------------------------


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_issue(*, actor: Any, project: Project) -> tuple[CalendarFeed, str]:
    """A new private feed for the actor in this project: (feed, token). Any live feed of theirs
    is revoked in the same transaction (rotating), so one URL works at a time. The token is
    handed back once and never kept."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.VIEW)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        CalendarFeed.objects.select_for_update().filter(
            project=project, user=actor, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        feed = CalendarFeed.objects.create(
            project=project, user=actor, token_sha256=token_sha256(token)
        )
    return feed, token


def feed_revoke(*, actor: Any, project: Project) -> int:
    """End the actor's live feed of this project; the old URL answers 404. How many ended."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.VIEW)
    with transaction.atomic():
        return CalendarFeed.objects.filter(
            project=project, user=actor, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())


def feed_for_token(token: Any) -> CalendarFeed:
    """The live feed this token opens, or NotFound for anything else (malformed, unknown,
    revoked, rotated away, the member gone, the project deleted): one answer, no hint."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound("not found")
    digest = token_sha256(token)
    feed = (
        CalendarFeed.objects.select_related("project", "user")
        .filter(token_sha256=digest, revoked_at__isnull=True)
        .first()
    )
    if feed is None or not hmac.compare_digest(feed.token_sha256, digest):
        raise NotFound("not found")
    if feed.project.deleted_at is not None or not feed.user.is_active:
        raise NotFound("not found")
    if member_role(user=feed.user, project_id=feed.project_id) is None:
        raise NotFound("not found")
    return feed


def feed_touch(feed: CalendarFeed) -> None:
    """Note when a calendar app last read the feed (shown on the feed page), at most once a
    minute so a polling client costs no write per request."""
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > datetime.timedelta(minutes=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
