"""Open sign-up, for instances that want it (STUDIO_OPEN_SIGNUP=true; off by default: a team
joins by invitation). A new account belongs to no project until someone adds it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from pages.invitations import password_from_form
from studio.errors import DomainError
from studio.services.accounts import account_create


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.STUDIO_OPEN_SIGNUP:
        raise Http404("sign-up is by invitation on this Studio")
    if request.user.is_authenticated:
        return redirect("project-list")
    error = ""
    if request.method == "POST":
        try:
            user = account_create(
                username=request.POST.get("username", ""),
                email=request.POST.get("email", ""),
                password=password_from_form(request),
                display_name=request.POST.get("display_name", ""),
            )
        except DomainError as failure:
            error = failure.detail
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("project-list")
    return render(
        request, "registration/signup.html", {"error": error}, status=400 if error else 200
    )
