"""A person's own profile page (/account/): the display name others see (User.first_name), the
time zone their pages show times in, and the way to the password change."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from pages.kit import page
from studio.errors import Invalid
from studio.services.accounts import DISPLAY_NAME_MAX, profile_get, profile_update, time_zone_names


@page
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """GET shows the form; POST saves it and comes back here (so the page after a change of zone
    is already drawn in the new zone). A refused field re-renders the form with a 400."""
    user: Any = request.user
    error = ""
    if request.method == "POST":
        try:
            profile_update(
                actor=user,
                display_name=request.POST.get("display_name", ""),
                time_zone=request.POST.get("time_zone", ""),
            )
        except Invalid as failure:
            error = failure.detail
        else:
            return redirect(f"{request.path}?saved=1")
        user.refresh_from_db(fields=["first_name"])  # the refused form shows what was typed
    current = profile_get(user=user)
    typed = request.POST if error else {}
    return render(
        request,
        "registration/profile.html",
        {
            "error": error,
            "saved": request.GET.get("saved") == "1" and not error,
            "display_name": typed.get("display_name", user.first_name),
            "time_zone": typed.get("time_zone", current.time_zone),
            "time_zones": time_zone_names(),
            "name_max": DISPLAY_NAME_MAX,
        },
        status=400 if error else 200,
    )
