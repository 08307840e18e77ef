"""Serving stored files to members: HTTP Range (the browser seeks in audio), the asset's own
media type (never an active one such as HTML), `nosniff`, a sandboxing CSP, and a fixed
Content-Disposition (never the client's filename)."""

from __future__ import annotations

import re

from django.http import HttpResponse, StreamingHttpResponse

from audio import storage
from audio.models import Asset

# A stored media type is checked when the file is stored; serving checks again, so a row that
# names an active type (one a browser would run) is still only ever served as bytes.
_ACTIVE = ("html", "xml", "svg", "javascript", "ecmascript", "x-shockwave")
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
STREAM_BLOCK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One `bytes=` range as inclusive (start, end); None means the whole file. Several ranges
    are answered with the whole file (allowed by RFC 9110); a malformed or unsatisfiable one
    raises RangeNotSatisfiable."""
    header = header.strip()
    if not header:
        return None
    if "," in header:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        raise RangeNotSatisfiable(header)
    first, last = match.group(1), match.group(2)
    if len(first) > 18 or len(last) > 18:
        raise RangeNotSatisfiable(header)
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return start, min(end, size - 1)


def served_media_type(asset: Asset) -> str:
    media_type = (asset.media_type or "").lower()
    if not _TOKEN.match(media_type) or any(word in media_type for word in _ACTIVE):
        return "application/octet-stream"
    return media_type


def _common_headers(
    response: HttpResponse | StreamingHttpResponse, asset: Asset, inline: bool
) -> None:
    suffix = asset.storage_name.rsplit(".", 1)[-1] if "." in asset.storage_name else ""
    ext = suffix if suffix.isalnum() and len(suffix) <= 8 else "bin"
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="asset-{asset.pk}.{ext}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    response["ETag"] = f'"{asset.sha256}"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"


def asset_file_response(
    asset: Asset, range_header: str, *, inline: bool
) -> HttpResponse | StreamingHttpResponse:
    size = storage.asset_size(asset)
    content_type = served_media_type(asset)
    try:
        span = parse_range(range_header, size)
    except RangeNotSatisfiable:
        refused = HttpResponse(status=416, content_type=content_type)
        refused["Content-Range"] = f"bytes */{size}"
        _common_headers(refused, asset, inline)
        return refused
    start, end = span if span else (0, size - 1)
    length = end - start + 1 if size else 0
    body = storage.asset_read_range(asset, start, length, STREAM_BLOCK)
    response = StreamingHttpResponse(body, status=206 if span else 200, content_type=content_type)
    response["Content-Length"] = str(length)
    if span:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    _common_headers(response, asset, inline)
    return response
