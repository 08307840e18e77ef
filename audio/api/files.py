"""Serving stored files to members: HTTP Range (the browser seeks in audio), the asset's own
media type (never an active one such as HTML), `nosniff`, a sandboxing CSP, and a
Content-Disposition (RFC 6266) naming the file as it was uploaded, sanitised: the UTF-8 name in
`filename*` (RFC 8187) and an ASCII fallback in `filename`."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse

from audio import storage
from audio.engine.formats import FORMATS
from audio.models import Asset

# A stored media type is checked when the file is stored; serving checks again, so a row that
# names an active type (one a browser would run) is still only ever served as bytes.
_ACTIVE = ("html", "xml", "svg", "javascript", "ecmascript", "x-shockwave")
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
STREAM_BLOCK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# A suggested name is at most this many characters (file systems allow 255 bytes; a UTF-8
# character may take 4), its extension kept.
NAME_MAX = 120
# Characters no file name should carry on any common system (Windows' reserved set, both path
# separators); control and format characters (CR, LF, NUL, bidi overrides) are dropped apart.
_UNSAFE = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
# RFC 8187 attr-char: what `filename*` may hold unencoded.
_ATTR_SAFE = "!#$&+-.^_`|~"


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


def stored_extension(asset: Asset) -> str:
    suffix = asset.storage_name.rsplit(".", 1)[-1] if "." in asset.storage_name else ""
    return suffix.lower() if suffix.isalnum() and len(suffix) <= 8 else "bin"


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and ext.isalnum() and len(ext) <= 8:
        return stem, "." + ext
    return name, ""


def _name_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc" or category[0] == "Z":  # CR, LF, tab, NUL, line separators: a space
        return " "
    if category[0] == "C":  # format (bidi overrides, zero-width), unassigned, private use
        return ""
    return ch


def _extensions_of(ext: str) -> set[str]:
    """The extensions a stored file of extension `ext` may be saved under: its format's (".wav",
    ".wave", ".bwf"), or the stored one and its common spelling. Any other, such as ".html",
    would let a downloaded file open as something it is not."""
    for audio_format in FORMATS:
        if audio_format.extension == f".{ext}":
            return set(audio_format.extensions)
    return {f".{ext}", *{"jpg": [".jpeg"], "tif": [".tiff"]}.get(ext, [])}


def download_name(asset: Asset) -> str:
    """The name a browser should save the file under: the uploaded name (`original_name`), its
    last path component only, with no control or format characters (CR, LF, NUL, bidi
    overrides), none of the characters a file system refuses, no leading dots, NFC-normalised,
    at most NAME_MAX characters with its extension kept, and the stored file's extension added
    when it has none or another. A name with nothing left is `asset-<id>.<ext>`."""
    raw = unicodedata.normalize("NFC", asset.original_name or "")
    kept = "".join(_name_char(ch) for ch in raw)
    last = [part for part in re.split(r"[/\\]", kept) if part.strip(". ")]
    name = _SPACES.sub(" ", _UNSAFE.sub("_", last[-1] if last else "")).strip()
    name = name.lstrip(". ").rstrip(". ")
    ext = stored_extension(asset)
    stem, name_ext = _split_extension(name)
    if name_ext.lower() not in _extensions_of(ext):  # "x.wav.html" saves as "x.wav.html.wav"
        stem, name_ext = name, f".{ext}"
    if _RESERVED.match(stem):
        stem = f"{stem}_"
    stem = stem[: max(1, NAME_MAX - len(name_ext))].rstrip(". ")
    if not stem.strip("_ "):
        return f"asset-{asset.pk}.{ext}"
    return stem + name_ext


def ascii_fallback(name: str, asset: Asset) -> str:
    """`name` for clients that do not read `filename*`: letters without their accents, any
    other non-ASCII character as `_`, never a quote or a backslash."""
    folded = unicodedata.normalize("NFKD", name)
    out = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_"
        for ch in folded
        if not unicodedata.combining(ch)
    )
    stem, ext = _split_extension(out)
    if not stem.strip("_ ."):
        return f"asset-{asset.pk}{ext or '.' + stored_extension(asset)}"
    return out


def content_disposition(asset: Asset, *, inline: bool) -> str:
    """RFC 6266: `attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded UTF-8>`."""
    name = download_name(asset)
    disposition = "inline" if inline else "attachment"
    fallback = ascii_fallback(name, asset)
    encoded = quote(name, safe=_ATTR_SAFE)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _common_headers(
    response: HttpResponse | StreamingHttpResponse, asset: Asset, inline: bool
) -> None:
    response["Content-Disposition"] = content_disposition(asset, inline=inline)
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
