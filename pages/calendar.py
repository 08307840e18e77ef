"""The bookings pages: a project's week calendar of sessions and bookings, its inventory of
rooms and equipment, what a working session needs (the fragment on the song page's sessions
card, with book and release), the member's private calendar feed page, and the feed itself.

Thin: reads through bookings.selectors, writes through bookings.services. Times are shown and
read in the reader's zone (studio.timezones activates it). The feed (`/ics/feed.ics?token=`)
needs no sign-in: the token is its key, so it travels in the query string, which none of
Studio's logs print (Django's request log and the metrics name the path or the route only)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bookings import services
from bookings.ics import feed_calendar
from bookings.models import Availability, ResourceKind
from bookings.selectors import (
    booking_get_for_member,
    feed_sessions,
    live_feed,
    project_resources,
    resource_get_for_member,
    session_bookings,
    session_get_for_member,
    sessions_between,
    week_of,
)
from pages.kit import capabilities, is_htmx, member_project, page, page_context, readable
from studio.errors import Conflict, Invalid, NotFound
from studio.parsing import FIRST_YEAR, LAST_YEAR, local_datetime
from studio.roles import Capability as C

# --- the week calendar -----------------------------------------------------------------------


def _day_items(sessions: list[Any], day: datetime.date, zone: Any) -> list[dict[str, Any]]:
    """The sessions touching `day` (in the reader's zone), each with its bookings in order."""
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=zone)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=zone)
    items = []
    for ws in sessions:
        if ws.starts_at >= end or ws.ends_at <= start:
            continue
        bookings = sorted(ws.bookings.all(), key=lambda x: (x.starts_at, x.pk))
        items.append({"ws": ws, "bookings": bookings})
    return items


@page
@require_GET
def project_calendar(request: HttpRequest, project_id: int) -> HttpResponse:
    """?week=2026-W49 (ISO week), this week by default."""
    project, role = member_project(request, project_id)
    zone = timezone.get_current_timezone()
    week = week_of(request.GET.get("week"), today=timezone.localdate(), zone=zone)
    sessions = sessions_between(project.pk, week.start, week.end)
    days = [{"date": d, "items": _day_items(sessions, d, zone)} for d in week.days]
    ctx = page_context(
        project,
        role,
        nav="calendar",
        week=week,
        previous=week.shifted(-1),
        next=week.shifted(1),
        days=days,
        sessions=sessions,
        zone_name=str(zone),
        today=timezone.localdate(),
    )
    if is_htmx(request) and request.GET.get("part") == "week":
        return render(request, "bookings/_week.html", ctx)
    return render(request, "bookings/calendar.html", ctx)


# --- the inventory ---------------------------------------------------------------------------


def _resource_form(request: HttpRequest) -> dict[str, Any]:
    return {
        name: request.POST[name]
        for name in ("name", "kind", "notes", "availability", "availability_note")
        if name in request.POST
    }


def _inventory(request: HttpRequest, project: Any, role: str, **extra: Any) -> HttpResponse:
    ctx = page_context(
        project,
        role,
        nav="resources",
        resources=project_resources(project.pk),
        kinds=ResourceKind.choices,
        availabilities=Availability.choices,
        **extra,
    )
    if is_htmx(request):
        return render(request, "bookings/_resources.html", ctx)
    return render(request, "bookings/resources.html", ctx, status=400 if "error" in extra else 200)


@page
def project_resources_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    return _inventory(request, project, role)


@page
@require_POST
def resource_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.RESOURCE_EDIT)
    try:
        services.resource_create(actor=request.user, project=project, data=_resource_form(request))
    except (Invalid, Conflict) as error:
        return _inventory(request, project, role, error=readable(error.detail), posted=request.POST)
    if not is_htmx(request):
        return redirect("project-resources", project.pk)
    return _inventory(request, project, role)


@page
@require_POST
def resource_update(request: HttpRequest, resource_id: int) -> HttpResponse:
    resource = resource_get_for_member(
        user=request.user, resource_id=resource_id, capability=C.RESOURCE_EDIT
    )
    project, role = member_project(request, resource.project_id, C.RESOURCE_EDIT)
    try:
        services.resource_update(
            actor=request.user, resource=resource, data=_resource_form(request)
        )
    except (Invalid, Conflict) as error:
        return _inventory(request, project, role, error=readable(error.detail))
    if not is_htmx(request):
        return redirect("project-resources", project.pk)
    return _inventory(request, project, role)


@page
@require_POST
def resource_delete(request: HttpRequest, resource_id: int) -> HttpResponse:
    resource = resource_get_for_member(
        user=request.user, resource_id=resource_id, capability=C.RESOURCE_EDIT
    )
    project, role = member_project(request, resource.project_id, C.RESOURCE_EDIT)
    services.resource_delete(actor=request.user, resource=resource)
    if not is_htmx(request):
        return redirect("project-resources", project.pk)
    return _inventory(request, project, role)


# --- what a session needs (the song page's sessions card) -------------------------------------


def bookings_context(session: Any, can: dict[str, bool]) -> dict[str, Any]:
    """The fragment's context; also used by the template tag that renders it in the card."""
    return {
        "ws": session,
        "bookings": session_bookings(session.pk),
        "resources": project_resources(session.project_id) if can.get("session_edit") else [],
        "can": can,
    }


def _session_fragment(
    request: HttpRequest, session: Any, error: str = "", status: int = 200, refetch: bool = False
) -> HttpResponse:
    """The session's bookings region; a write's answer also sets or clears its refusal out of
    band (the refusal sits outside the region, so a live refetch leaves it as it is)."""
    _project, role = member_project(request, session.project_id)
    ctx = bookings_context(session, capabilities(role))
    ctx["error"] = error
    ctx["error_slot"] = None if refetch else "oob"
    if not is_htmx(request):
        if error:
            return render(
                request, "refused.html", {"error": Invalid(error), "status": status}, status=status
            )
        return redirect("song-detail", session.song_id)
    return render(request, "bookings/_session_bookings.html", ctx, status=status)


@page
@require_GET
def session_bookings_part(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_member(user=request.user, session_id=session_id)
    return _session_fragment(request, session, refetch=True)


def _when(raw: str | None, label: str) -> datetime.datetime | None:
    """A datetime-local value in the reader's zone; blank is None (the session's own time)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    value = local_datetime(raw)
    if value is None:
        raise Invalid(f"the {label} is not a date and time between {FIRST_YEAR} and {LAST_YEAR}")
    return timezone.make_aware(value, timezone.get_current_timezone())


@page
@require_POST
def booking_create(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_member(user=request.user, session_id=session_id)
    member_project(request, session.project_id, C.SESSION_EDIT)
    try:
        resource = resource_get_for_member(
            user=request.user, resource_id=request.POST.get("resource")
        )
        services.booking_create(
            actor=request.user,
            resource=resource,
            session=session,
            starts_at=_when(request.POST.get("starts_at"), "start"),
            ends_at=_when(request.POST.get("ends_at"), "end"),
            note=request.POST.get("note", ""),
        )
    except NotFound:
        return _session_fragment(
            request, session, "Choose an item of this project's inventory.", 400
        )
    except (Invalid, Conflict) as error:
        return _session_fragment(request, session, readable(error.detail), error.status)
    return _session_fragment(request, session)


@page
@require_POST
def booking_cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = booking_get_for_member(user=request.user, booking_id=booking_id)
    member_project(request, booking.project_id, C.SESSION_EDIT)
    session = booking.session
    services.booking_delete(actor=request.user, booking=booking)
    return _session_fragment(request, session)


# --- the private calendar feed ---------------------------------------------------------------


def _feed_page(request: HttpRequest, project: Any, role: str, token: str = "") -> HttpResponse:
    feed = live_feed(user=request.user, project_id=project.pk)
    url = request.build_absolute_uri(f"/ics/feed.ics?token={token}") if token else ""
    ctx = page_context(project, role, nav="calendar", feed=feed, feed_url=url)
    response = render(request, "bookings/feed.html", ctx)
    response["Cache-Control"] = "no-store"  # the URL shown once must not be kept by a cache
    return response


@page
def calendar_feed(request: HttpRequest, project_id: int) -> HttpResponse:
    """GET: whether the member has a live feed. POST: issue one (or rotate: the old URL stops
    working), shown once on the answer to copy."""
    project, role = member_project(request, project_id)
    if request.method == "POST":
        _feed, token = services.feed_issue(actor=request.user, project=project)
        return _feed_page(request, project, role, token)
    return _feed_page(request, project, role)


@page
@require_POST
def calendar_feed_revoke(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    services.feed_revoke(actor=request.user, project=project)
    return _feed_page(request, project, role)


def _not_found() -> HttpResponse:
    """The same bare 404 for every refused token: no page, no hint of why."""
    return HttpResponse("Not found\n", status=404, content_type="text/plain; charset=utf-8")


@require_GET
def ics_feed(request: HttpRequest) -> HttpResponse:
    """The feed a calendar app subscribes to: text/calendar of the project's sessions the
    member can see, or 404 for a revoked, rotated-away or unknown token or a lost membership."""
    try:
        feed = services.feed_for_token(request.GET.get("token"))
    except NotFound:
        return _not_found()
    services.feed_touch(feed)
    zone = services.reader_zone(feed.user)
    body = feed_calendar(
        name=f"{feed.project.name} · Studio", sessions=feed_sessions(feed), zone=zone
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="studio.ics"'
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


urlpatterns = [
    path("p/<int:project_id>/calendar/", project_calendar, name="project-calendar"),
    path("p/<int:project_id>/calendar/feed/", calendar_feed, name="calendar-feed"),
    path(
        "p/<int:project_id>/calendar/feed/revoke/",
        calendar_feed_revoke,
        name="calendar-feed-revoke",
    ),
    path("p/<int:project_id>/resources/", project_resources_page, name="project-resources"),
    path("p/<int:project_id>/resources/new/", resource_create, name="resource-create"),
    path("resources/<int:resource_id>/edit/", resource_update, name="resource-update"),
    path("resources/<int:resource_id>/delete/", resource_delete, name="resource-delete"),
    path("sessions/<int:session_id>/bookings/", session_bookings_part, name="session-bookings"),
    path("sessions/<int:session_id>/bookings/new/", booking_create, name="booking-create"),
    path("bookings/<int:booking_id>/cancel/", booking_cancel, name="booking-cancel"),
    path("ics/feed.ics", ics_feed, name="ics-feed"),
]
