"""A person's inbox (/inbox/): their notifications, mark one or all read, and which kinds reach
the inbox and the e-mail digest. Per person, not per project: no capability, and another
person's notification is a 404. Thin: the rules are in notifications.services."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from notifications import services
from notifications.models import Kind, Notification
from pages.kit import is_htmx, page

PAGE_SIZE = 50


def _context(request: HttpRequest) -> dict[str, Any]:
    only_unread = request.GET.get("unread") == "1"
    rows = Notification.objects.for_user(request.user).select_related("project")
    if only_unread:
        rows = rows.unread()
    return {
        "notifications": list(rows[:PAGE_SIZE]),
        "only_unread": only_unread,
        "unread": services.unread_count(request.user),
        "preferences": services.preferences_get(user=request.user),
        "nav": "inbox",
        "saved": request.GET.get("saved") == "1",
    }


def _list(request: HttpRequest) -> HttpResponse:
    """The list fragment for htmx, the whole page otherwise."""
    name = "notifications/_inbox.html" if is_htmx(request) else "notifications/inbox.html"
    return render(request, name, _context(request))


@page
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return _list(request)


@page
@require_GET
def inbox_count(request: HttpRequest) -> HttpResponse:
    """The header's count alone (refetched by static/js/inbox.js after a reconnect)."""
    return render(
        request, "notifications/_count.html", {"unread": services.unread_count(request.user)}
    )


@page
@require_POST
def inbox_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one read; with `open=1`, go on to what it is about."""
    found = services.notification_get(user=request.user, notification_id=notification_id)
    services.notification_mark_read(user=request.user, notification=found)
    if request.POST.get("open") == "1" and url_has_allowed_host_and_scheme(
        found.link, allowed_hosts={request.get_host()}
    ):
        return redirect(found.link)
    return _list(request) if is_htmx(request) else redirect("inbox")


@page
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_all_read(user=request.user)
    return _list(request) if is_htmx(request) else redirect("inbox")


@page
@require_POST
def inbox_preferences(request: HttpRequest) -> HttpResponse:
    """The whole table at once: a kind's box unticked is off (a browser sends only ticked ones)."""
    for kind in Kind.values:
        services.preference_set(
            user=request.user,
            kind=kind,
            inbox=request.POST.get(f"{kind}-inbox") == "on",
            email=request.POST.get(f"{kind}-email") == "on",
        )
    return redirect(f"{reverse('inbox')}?saved=1")


urlpatterns = [
    path("inbox/", inbox, name="inbox"),
    path("inbox/count/", inbox_count, name="inbox-count"),
    path("inbox/read-all/", inbox_read_all, name="inbox-read-all"),
    path("inbox/preferences/", inbox_preferences, name="inbox-preferences"),
    path("inbox/<int:notification_id>/read/", inbox_read, name="inbox-read"),
]
