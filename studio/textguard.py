"""Refuse text no column can hold before any view sees it: a NUL character in a query string, a
cookie (the session key is looked up in the database), the Authorization header (so is a token)
or a form field. PostgreSQL text cannot contain NUL, so such a value broke the query that looked it
up or the row that stored it (a 500 on the page forms, found by tests/studio/test_outside_pass.py).
The API's JSON parser refuses it in bodies (studio/api/parsers.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

MESSAGE = "the request holds a NUL character, which no text field accepts"


def holds_nul(request: HttpRequest) -> bool:
    if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get(
        "QUERY_STRING", ""
    ):
        return True
    if any("\x00" in value for value in request.COOKIES.values()):
        return True
    if "\x00" in request.META.get("HTTP_AUTHORIZATION", ""):
        return True
    if request.method in ("POST", "PUT", "PATCH") and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return any("\x00" in key or "\x00" in value for key, value in request.POST.items())
    return False


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if holds_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "bad_text", "detail": MESSAGE, "fields": {}}, status=400
                )
            return HttpResponse(f"Refused: {MESSAGE}.", status=400, content_type="text/plain")
        return self.get_response(request)
