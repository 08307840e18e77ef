"""Times in the viewer's zone: for a signed-in person, activate the time zone of their Profile for
the length of the request, so every time a page renders (`{{ when|date }}`, `{% now %}`, a
datetime-local value read back by `timezone.get_current_timezone()`) is in their zone.

Without a profile, or for a request that is not signed in by session (an API token is only read
later, by DRF), the default zone (settings.TIME_ZONE, UTC) stays. API timestamps are ISO 8601 with
their offset either way, so a script reads the same instant."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from studio.services.accounts import profile_time_zone


class ViewerTimeZoneMiddleware:
    """After AuthenticationMiddleware (it reads request.user). One small query per signed-in
    request; the zone is deactivated afterwards, so a reused thread never carries it over."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = profile_time_zone(user=user) if user is not None and user.is_authenticated else None
        if zone is None:
            return self.get_response(request)
        timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
