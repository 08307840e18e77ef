"""The websocket handshake's Origin check: the page must come from the very host and port it
connects to (or from an origin in CSRF_TRUSTED_ORIGINS).

Channels' AllowedHostsOriginValidator compares host names only, so a page served by another
program on the same host at another port (a dev server, a compromised tool) could open the
live stream with a member's cookie. Browsers always send Origin on websockets; a handshake
without one is refused as before.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    """True when `origin` (scheme://host[:port]) names the host and port of `host_header`
    (host[:port], as the browser sent it), or is one of CSRF_TRUSTED_ORIGINS."""
    if not origin or not host_header:
        return False
    try:
        parsed = urlsplit(origin)
        target = urlsplit(f"//{host_header}")
        origin_port, target_port = parsed.port, target.port
    except ValueError:  # a port that is not a number
        return False
    if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname or not target.hostname:
        return False
    if origin.rstrip("/") in settings.CSRF_TRUSTED_ORIGINS:
        return True
    if not validate_host(target.hostname, settings.ALLOWED_HOSTS):
        return False
    default = DEFAULT_PORTS[parsed.scheme]
    # A Host without a port is the default port of the scheme the page was loaded with.
    return parsed.hostname.lower() == target.hostname.lower() and (origin_port or default) == (
        target_port or default
    )


class SameOriginValidator:
    """ASGI middleware for websockets: deny the handshake unless origin_allowed()."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin1") or None
        host = headers.get(b"host", b"").decode("latin1") or None
        if origin_allowed(origin, host):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
