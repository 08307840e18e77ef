"""The sign-in page: Django's LoginView with the failed sign-in counter in front of it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from studio.services.sign_in import (
    BLOCKED_MESSAGE,
    client_address,
    sign_in_blocked,
    sign_in_failed,
    sign_in_succeeded,
)


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(open_signup=settings.STUDIO_OPEN_SIGNUP, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")[:150]
        if sign_in_blocked(username, client_address(request.META)):
            form = self.get_form()
            form.add_error(None, BLOCKED_MESSAGE)
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = "900"
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        sign_in_succeeded(form.get_user().get_username(), client_address(self.request.META))
        return super().form_valid(form)

    def form_invalid(self, form: Any) -> HttpResponse:
        username = self.request.POST.get("username", "")[:150]
        sign_in_failed(username, client_address(self.request.META))
        return super().form_invalid(form)
