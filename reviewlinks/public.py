"""The pages a link holder sees, with no account: `/r/`, its audio and its comments.

The token never travels in a path (a proxy's or Daphne's access log prints paths): the link a
recipient gets is `/r/#<token>`; the fragment stays in the browser, whose script
(static/js/reviewlink.js) posts it once to `/r/open/`, which answers with an HttpOnly cookie
scoped to `/r/` holding it. Every request after that presents the cookie and is checked again
(`services.link_for_token`), so a revoked link is refused on the next request. Every refusal,
whatever its reason (unknown, revoked, expired, its sender lost the role), is the same 404
page, which also carries the opener, so a fresh link still opens from it. Pages and media
requests are rate-limited per address through the cache (as sign-in is)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audio import storage
from audio.api.files import RangeNotSatisfiable, parse_range
from audio.models import Asset
from audio.peaks import peaks_level
from reviewlinks import services
from reviewlinks.models import AccessKind, ReviewLink
from studio.errors import Conflict, Invalid, NotFound
from studio.services.sign_in import client_address

COOKIE = "review_link"
COOKIE_PATH = "/r/"
COOKIE_AGE_S = 30 * 24 * 3600
# Requests a minute per address: pages, comments and listening reports; media (a player asks
# in many ranges).
LIMITS = {"page": 120, "media": 900}
WINDOW_S = 60
STREAM_BLOCK = 256 * 1024


def _quiet(response: HttpResponse) -> HttpResponse:
    """Refusals are not written by django.request's logger (it would name the path)."""
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _limited(bucket: str) -> Callable[..., Any]:
    """At most LIMITS[bucket] requests a minute per address, then 429 with Retry-After."""

    def deco(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            key = f"reviewlink:{bucket}:{client_address(request.META)}"
            cache.add(key, 0, timeout=WINDOW_S)
            try:
                count = cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=WINDOW_S)
                count = 1
            if count > LIMITS[bucket]:
                response = HttpResponse(
                    "Too many requests; wait a minute.", status=429, content_type="text/plain"
                )
                response["Retry-After"] = str(WINDOW_S)
                return _quiet(response)
            return view(request, *args, **kwargs)

        return wrapper

    return deco


def refused(request: HttpRequest, *, forget: bool = True) -> HttpResponse:
    """The one 404 page. `forget` drops the cookie of a link that no longer works (kept when
    the link works but this thing is not there: a copy still being made, no download)."""
    response = render(request, "reviewlinks/missing.html", status=404)
    if forget:
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return _quiet(response)


def _link(request: HttpRequest) -> ReviewLink:
    return services.link_for_token(request.COOKIES.get(COOKIE, ""))


def _version_duration(link: ReviewLink) -> float | None:
    """The version's length, so the waveform is drawn from the peaks before the audio loads."""
    version = link.master if link.master_id else link.mix
    asset = version.asset if version is not None else None
    return asset.duration_s if asset is not None else None


def _version_peaks(link: ReviewLink) -> Any:
    version = link.master if link.master_id else link.mix
    asset = version.asset if version is not None else None
    level = peaks_level(asset, 900) if asset is not None else None
    return level.get("data") if level is not None else None


@never_cache
@require_GET
@_limited("page")
def link_page(request: HttpRequest) -> HttpResponse:
    try:
        link = _link(request)
    except NotFound:
        return refused(request)
    services.access_record(link=link, kind=AccessKind.OPENED, address=client_address(request.META))
    ctx = {
        "link": link,
        "song_title": (link.master or link.mix).song.title,  # type: ignore[union-attr]
        "ready": link.marked_asset_id is not None,
        "plays_left": services.plays_left(link),
        "comments": link.comments.all(),
        "peaks": _version_peaks(link),
        "duration": _version_duration(link),
    }
    return render(request, "reviewlinks/public.html", ctx)


@never_cache
@require_POST
@_limited("page")
def link_open(request: HttpRequest) -> HttpResponse:
    token = str(request.POST.get("token", ""))
    try:
        services.link_for_token(token)
    except NotFound:
        return refused(request)
    response = HttpResponse(status=204)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_AGE_S,
        path=COOKIE_PATH,
        httponly=True,
        secure=bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
        samesite="Strict",
    )
    return response


def _serve(request: HttpRequest, asset: Asset, *, download: bool) -> HttpResponse:
    size = storage.asset_size(asset)
    try:
        span = parse_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _quiet(response)
    start, end = span if span else (0, size - 1)
    length = end - start + 1 if size else 0
    body = storage.asset_read_range(asset, start, length, STREAM_BLOCK)
    streamed = StreamingHttpResponse(body, status=206 if span else 200, content_type="audio/wav")
    streamed["Content-Length"] = str(length)
    if span:
        streamed["Content-Range"] = f"bytes {start}-{end}/{size}"
    streamed["Accept-Ranges"] = "bytes"
    streamed["X-Content-Type-Options"] = "nosniff"
    streamed["Cache-Control"] = "private, no-store"
    streamed["Content-Security-Policy"] = "default-src 'none'; sandbox"
    streamed["Content-Disposition"] = (
        'attachment; filename="review-copy.wav"' if download else "inline"
    )
    return streamed  # type: ignore[return-value]


@require_GET
@_limited("media")
def link_audio(request: HttpRequest) -> HttpResponse:
    """The link's own watermarked copy, with Range; never the clean file."""
    try:
        link = _link(request)
    except NotFound:
        return refused(request)
    if link.marked_asset is None or services.plays_left(link) == 0:
        return refused(request, forget=False)
    services.access_record(link=link, kind=AccessKind.STREAM)
    return _serve(request, link.marked_asset, download=False)


@require_GET
@_limited("media")
def link_download(request: HttpRequest) -> HttpResponse:
    try:
        link = _link(request)
    except NotFound:
        return refused(request)
    if not link.download_allowed or link.marked_asset is None:
        return refused(request, forget=False)
    services.access_record(link=link, kind=AccessKind.DOWNLOAD)
    return _serve(request, link.marked_asset, download=True)


def _bad(message: str) -> HttpResponse:
    return _quiet(
        HttpResponse(json.dumps({"detail": message}), status=400, content_type="application/json")
    )


def _seconds(value: Any) -> float:
    try:
        number = float(str(value).strip() or "0")
    except ValueError:
        raise Invalid("a time in seconds", fields={"start": ["a number of seconds"]}) from None
    if number != number or number in (float("inf"), float("-inf")):  # NaN, infinities
        raise Invalid("a time in seconds", fields={"start": ["a number of seconds"]})
    return number


@never_cache
@require_POST
@_limited("page")
def link_listen(request: HttpRequest) -> HttpResponse:
    """The player's reports: `kind` play or progress, `position` in seconds."""
    try:
        link = _link(request)
    except NotFound:
        return refused(request)
    kind = str(request.POST.get("kind", ""))
    if kind not in (AccessKind.PLAY, AccessKind.PROGRESS):
        return _bad("kind: play or progress")
    try:
        position = _seconds(request.POST.get("position", "0"))
        if kind == AccessKind.PLAY and services.plays_left(link) == 0:
            return refused(request, forget=False)
        services.access_record(
            link=link, kind=kind, position_s=position, address=client_address(request.META)
        )
    except Invalid as error:
        return _bad(str(error))
    return HttpResponse(status=204)


@never_cache
@require_POST
@_limited("page")
def link_comment(request: HttpRequest) -> HttpResponse:
    try:
        link = _link(request)
    except NotFound:
        return refused(request)
    try:
        services.comment_add(
            link=link,
            body=str(request.POST.get("body", "")),
            start_s=_seconds(request.POST.get("start", "0")),
        )
    except (Invalid, Conflict) as error:
        return _bad(str(error))
    return render(
        request,
        "reviewlinks/_public_comments.html",
        {"comments": link.comments.all(), "now": timezone.now()},
    )
