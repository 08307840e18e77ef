"""The Content-Security-Policy of every response: scripts only from our own static files or
inline with this response's nonce, nothing from another origin, no plugins, no framing.

Inline scripts carry `nonce="{{ csp_nonce }}"` (the context processor below puts it in every
template); styles may stay inline (the pages use style attributes, htmx adds its indicator
style). `connect-src 'self'` covers the websocket to the same host and port.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; "
    "media-src 'self' blob:; "
    "connect-src 'self'; "
    "font-src 'self'; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", POLICY.format(nonce=nonce))
        return response


def csp_nonce(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: `csp_nonce` for inline scripts (django-htmx reads it too)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
