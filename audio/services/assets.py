"""Assets (stored files): probe, store, deduplicate, analyse; attaching them as stems and takes.

An audio asset exists only for a file the engine accepted; other kinds (artwork, CUE sheets,
reports, bundles, ...) only with an allowed media type whose bytes look like it. Bytes are
stored (fsync + rename, or a completed PUT) before the row commits, under a generated name; a
refused file, or a transaction that rolls back, leaves no row and no stored file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum

from audio import storage
from audio.engine.errors import AudioError
from audio.engine.formats import format_named
from audio.engine.io import DEFAULT_LIMITS, Limits, probe
from audio.models import Asset, AssetKind, Job, JobKind, Stem, StoredAt, Take
from audio.payloads import asset_payload, stem_payload, take_payload
from audio.sandbox import ProbeCrashed, probe_isolated
from audio.services import jobs
from eventlog.services import event_record, project_lock
from studio.errors import DomainError, Forbidden, Invalid
from studio.models import Project, Song
from studio.payloads import project_payload
from studio.roles import Capability, Role
from studio.selectors import require_capability

logger = logging.getLogger(__name__)


# Non-audio kinds and the media types each may be stored (and so served) as. Never an active
# type (HTML, SVG, XML, scripts): stored files are served from the app's own origin.
STORED_MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    AssetKind.ARTWORK: ("image/png", "image/jpeg", "image/webp", "image/tiff"),
    AssetKind.CUE: ("application/x-cue", "text/plain"),
    AssetKind.DDP: ("application/octet-stream", "application/zip"),
    AssetKind.REPORT: ("application/json", "application/pdf", "text/plain", "text/csv"),
    AssetKind.BUNDLE: ("application/zip",),
    AssetKind.OTHER: ("application/octet-stream",),
}
_STORED_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/tiff": "tif",
    "application/x-cue": "cue",
    "text/plain": "txt",
    "text/csv": "csv",
    "application/json": "json",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/octet-stream": "bin",
}
# What the first bytes of a file of that type are (a claimed type must match its bytes).
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
}


def audio_extension(fmt: str) -> str:
    """The stored file's extension for an engine format (from the engine's registry)."""
    found = format_named(fmt)
    return found.extension.lstrip(".") if found else "bin"


def audio_media_type(fmt: str) -> str:
    found = format_named(fmt)
    return found.media_type if found else "application/octet-stream"


class InvalidAudio(DomainError):
    """A file the engine refused: 422 with the engine's sentence."""

    status = 422
    code = "invalid_audio"


def engine_limits_kwargs() -> dict[str, Any]:
    values = asdict(DEFAULT_LIMITS)
    values["max_file_bytes"] = int(settings.UPLOAD_MAX_BYTES)
    return values


def _field_for(code: str) -> str:
    return {
        "audio.channel_limit": "channels",
        "audio.sample_rate_limit": "sample_rate",
        "audio.too_long": "duration",
        "audio.too_large": "size",
        "audio.unsupported_format": "format",
        "audio.empty": "file",
    }.get(code, "file")


def audio_probe(path: Path, *, isolated: bool = True) -> dict[str, Any]:
    """The engine's probe as a dict, or InvalidAudio naming the reason. In the web tier the
    probe runs in the sandbox process pool (a decoder crash must not take the server down)."""
    if isolated:
        try:
            status, value = probe_isolated(str(path), engine_limits_kwargs())
        except ProbeCrashed as exc:
            raise InvalidAudio(
                f"could not read the file ({exc})", fields={"file": [str(exc)]}
            ) from None
        if status == "error":
            code, message = value
            raise InvalidAudio(message, fields={_field_for(code): [message], "reason": [code]})
        return dict(value)
    try:
        return probe(path, Limits(**engine_limits_kwargs())).to_dict()
    except AudioError as exc:
        raise InvalidAudio(
            str(exc), fields={_field_for(exc.code): [str(exc)], "reason": [exc.code]}
        ) from None


def _clean_name(name: str) -> str:
    """Metadata only (never a path): printable characters, at most 255."""
    cleaned = "".join(ch for ch in str(name) if ch.isprintable() and ch not in "\u202e\u202d")
    return cleaned.strip()[:255]


def project_bytes_used(project_id: int) -> int:
    return int(Asset.objects.filter(project_id=project_id).aggregate(t=Sum("size_bytes"))["t"] or 0)


def asset_create_from_file(
    *,
    actor: Any,
    project: Project,
    path: Path,
    sha256: str,
    original_name: str,
    info: dict[str, Any],
    consume: bool = True,
) -> tuple[Asset, Job | None, bool]:
    """Store a probed local file as an Asset (or return the project's existing one with the same
    checksum). New assets get `asset.created` and an analysis job. Returns (asset, job, created).
    With `consume`, `path` is moved into storage (or deleted when deduplicated)."""
    existing = Asset.objects.filter(project=project, sha256=sha256).first()
    if existing is not None:
        if consume:
            path.unlink(missing_ok=True)
        return existing, None, False
    size = path.stat().st_size
    name = storage.asset_storage_name(
        project_id=project.pk, extension=audio_extension(info["format"])
    )
    if consume:
        storage.store_file(path, name)
    else:
        fd, tmp = storage.scratch_file()
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, storage.COPY_BLOCK)
            storage.store_file(tmp, name)
        finally:
            tmp.unlink(missing_ok=True)
    try:
        with transaction.atomic():
            project_lock(project.pk)
            if Asset.objects.filter(project=project, sha256=sha256).exists():
                raise IntegrityError("duplicate")
            asset, job = audio_asset_row_create(
                actor=actor,
                project=project,
                sha256=sha256,
                size=size,
                storage_name=name,
                original_name=original_name,
                info=info,
            )
    except IntegrityError:
        storage.delete_file(name)
        return Asset.objects.get(project=project, sha256=sha256), None, False
    except BaseException:
        storage.delete_file(name)
        raise
    return asset, job, True


def audio_asset_row_create(
    *,
    actor: Any,
    project: Project,
    sha256: str,
    size: int,
    storage_name: str,
    original_name: str,
    info: dict[str, Any],
    staged: bool = False,
    analyse: bool = True,
) -> tuple[Asset, Job | None]:
    """The rows of a new audio asset whose bytes are stored: the Asset, `asset.created` and its
    analysis job; returns (asset, analysis job). With `staged`, the bytes wait in the staging
    area (remote storage) and a `store` job is queued too, which PUTs them and marks the asset
    stored. Without `analyse`, no analysis job (a file nobody plays in the browser: a master's
    pre-limiter file). Runs inside the caller's transaction, which holds the project lock and
    has checked there is no asset with this checksum yet."""
    asset = Asset.objects.create(
        project=project,
        kind=AssetKind.AUDIO,
        media_type=audio_media_type(info["format"]),
        sha256=sha256,
        size_bytes=size,
        storage_name=storage_name,
        stored_at=StoredAt.STAGED if staged else StoredAt.STORAGE,
        original_name=_clean_name(original_name),
        format=info["format"],
        codec=info.get("codec") or "",
        sample_rate=info["sample_rate"],
        channels=info["channels"],
        bit_depth=info.get("bit_depth"),
        frames=info["frames"],
        duration_s=info["duration_s"],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    event_record(
        project=project.pk,
        type="asset.created",
        payload={"asset": asset_payload(asset)},
        actor=actor,
    )
    if staged:
        jobs.job_create(actor=actor, project=project.pk, kind=JobKind.STORE, asset=asset)
    if not analyse:
        return asset, None
    job = jobs.job_create(actor=actor, project=project.pk, kind=JobKind.ANALYZE, asset=asset)
    return asset, job


def _media_type_for(kind: str, media_type: str) -> str:
    if kind not in STORED_MEDIA_TYPES:
        choices = ", ".join(STORED_MEDIA_TYPES)
        raise Invalid(
            f"kind must be one of {choices} (audio goes through an upload, which probes it)",
            fields={"kind": list(STORED_MEDIA_TYPES)},
        )
    cleaned = media_type.split(";")[0].strip().lower()
    allowed = STORED_MEDIA_TYPES[kind]
    if cleaned not in allowed:
        raise Invalid(
            f"a {kind} file may be {', '.join(allowed)}, not {cleaned[:100]!r}",
            code="unsupported_media_type",
            fields={"media_type": list(allowed)},
        )
    return cleaned


def _copy_to_scratch(source: Path | bytes) -> tuple[Path, str, int, bytes]:
    """A private copy of the bytes in the upload dir: (path, sha256, size, first 16 bytes)."""
    fd, tmp = storage.scratch_file()
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        src = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
        with os.fdopen(fd, "wb") as out, src:
            while block := src.read(storage.COPY_BLOCK):
                head += block[: max(0, 16 - len(head))]
                digest.update(block)
                size += len(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest(), size, head


def stored_file_create(
    *,
    project: Project,
    kind: str,
    media_type: str,
    path_or_bytes: Path | str | bytes,
    name: str = "",
    actor: Any = None,
) -> tuple[Asset, bool]:
    """Store a non-audio file (artwork, a CUE sheet, a DDP image, a report, a bundle) as an
    Asset of that kind, deduplicated by checksum within the project; returns (asset, created).
    The media type must be one the kind allows and match the file's first bytes where the type
    has a signature. A given path is copied, never consumed. Callers check the capability
    (a job's output has no user). It opens its own transaction; inside a caller's that later
    rolls back, the stored bytes would be left behind, so call it outside one."""
    cleaned = _media_type_for(kind, media_type)
    source = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes)
    tmp, sha256, size, head = _copy_to_scratch(source)
    try:
        if size == 0:
            raise Invalid("the file is empty", fields={"file": ["empty"]})
        magic = _MAGIC.get(cleaned)
        if magic and not head.startswith(magic):
            raise Invalid(
                f"the file's bytes are not {cleaned}",
                code="media_type_mismatch",
                fields={"media_type": [f"the bytes are not {cleaned}"]},
            )
        existing = Asset.objects.filter(project=project, sha256=sha256).first()
        if existing is not None:
            return existing, False
        storage_name = storage.asset_storage_name(
            project_id=project.pk, extension=_STORED_EXTENSIONS[cleaned]
        )
        storage.store_file(tmp, storage_name)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        with transaction.atomic():
            project_lock(project.pk)
            existing = Asset.objects.filter(project=project, sha256=sha256).first()
            if existing is not None:  # stored meanwhile by another request
                storage.delete_file(storage_name)
                return existing, False
            asset = Asset.objects.create(
                project=project,
                kind=kind,
                media_type=cleaned,
                sha256=sha256,
                size_bytes=size,
                storage_name=storage_name,
                original_name=_clean_name(name),
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            event_record(
                project=project.pk,
                type="asset.created",
                payload={"asset": asset_payload(asset)},
                actor=actor,
            )
    except BaseException:
        storage.delete_file(storage_name)
        raise
    return asset, True


def asset_ingest_file(
    *, actor: Any, project: Project, path: Path | str, original_name: str
) -> Asset:
    """Probe, store, dedupe and enqueue analysis for a local file (the file is left in place).
    For scripts and the demo seeder; uploads go through services.uploads."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.ASSET_UPLOAD)
    path = Path(path)
    info = audio_probe(path, isolated=False)
    sha = storage.sha256_file(path)
    asset, _job, _created = asset_create_from_file(
        actor=actor,
        project=project,
        path=path,
        sha256=sha,
        original_name=original_name,
        info=info,
        consume=False,
    )
    return asset


# --- stems and takes ---------------------------------------------------------------------------


def _check_same_project(song: Song, asset: Asset) -> None:
    if song.project_id != asset.project_id:
        raise Invalid(
            "the asset belongs to another project",
            code="cross_project",
            fields={"asset": ["not found in this song's project"]},
        )
    require_audio(asset)


def require_audio(asset: Asset) -> None:
    """Stems, takes and mixes are audio: a stored file of another kind cannot be one."""
    if asset.kind != AssetKind.AUDIO:
        raise Invalid(
            f"the asset is a {asset.get_kind_display().lower()} file, not audio",
            code="not_audio",
            fields={"asset": ["not an audio file"]},
        )


def stem_attach(
    *, actor: Any, song: Song, asset: Asset, instrument: str = "", notes: str = ""
) -> Stem:
    require_capability(user=actor, project_id=song.project_id, capability=Capability.ASSET_UPLOAD)
    _check_same_project(song, asset)
    with transaction.atomic():
        project_lock(song.project_id)
        stem = Stem.objects.create(
            project_id=song.project_id,
            song=song,
            asset=asset,
            instrument=instrument[:100],
            notes=notes[:5000],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        event_record(
            project=song.project_id,
            type="stem.attached",
            payload={"stem": stem_payload(stem)},
            actor=actor,
        )
    return stem


def take_attach(
    *,
    actor: Any,
    song: Song,
    asset: Asset,
    part: str,
    number: int | None = None,
    notes: str = "",
) -> Take:
    """Attach a take of `part`; without a number it gets the next one for that part. A new take
    is never the keeper: choosing one is the review layer's rule (sessions), one door for all."""
    require_capability(user=actor, project_id=song.project_id, capability=Capability.ASSET_UPLOAD)
    _check_same_project(song, asset)
    part = (part or "").strip()[:100]
    if not part:
        raise Invalid("a take needs a part", fields={"part": ["name the part, e.g. lead vocal"]})
    with transaction.atomic():
        project_lock(song.project_id)
        if number is None:
            top = Take.objects.filter(song=song, part=part).aggregate(m=Max("number"))["m"]
            number = (top or 0) + 1
        elif Take.objects.filter(song=song, part=part, number=number).exists():
            raise Invalid(
                f"{part} already has a take {number}",
                code="take_exists",
                fields={"number": ["already taken for this part"]},
            )
        take = Take.objects.create(
            project_id=song.project_id,
            song=song,
            asset=asset,
            part=part,
            number=number,
            notes=notes[:5000],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        event_record(
            project=song.project_id,
            type="take.attached",
            payload={"take": take_payload(take)},
            actor=actor,
        )
    return take


def take_update(*, actor: Any, take: Take, notes: str) -> Take:
    """Change a take's notes. (The keeper flag has one door: sessions' take_set_keeper.)"""
    require_capability(user=actor, project_id=take.project_id, capability=Capability.ASSET_UPLOAD)
    with transaction.atomic():
        project_lock(take.project_id)
        take = Take.objects.select_for_update(no_key=True).get(pk=take.pk)
        take.notes = str(notes)[:5000]
        take.save(update_fields=["notes"])
        event_record(
            project=take.project_id,
            type="take.updated",
            payload={"take": take_payload(take)},
            actor=actor,
        )
    return take


# --- downloads ---------------------------------------------------------------------------------
VIEWERS_MAY_NOT_DOWNLOAD = (
    "The producers of this project have turned off downloads for viewers: "
    "you can still play every file in the player."
)


def may_download(*, project: Project, role: str | None) -> bool:
    """Whether a member with `role` may save the project's files (an attachment), as against
    playing them in the page (an inline stream, open to every member). Viewers may unless a
    producer has turned `viewers_may_download` off."""
    if role is None:
        return False
    return role != Role.VIEWER or project.viewers_may_download


def asset_download_check(*, user: Any, asset: Asset) -> None:
    """Forbidden (403, with the sentence) when the user may read the asset but not save it."""
    role = require_capability(user=user, project_id=asset.project_id, capability=Capability.VIEW)
    project = Project.objects.only("pk", "viewers_may_download").get(pk=asset.project_id)
    if not may_download(project=project, role=role):
        raise Forbidden(VIEWERS_MAY_NOT_DOWNLOAD, code="download_off")


def project_set_viewers_may_download(*, actor: Any, project: Project, allowed: bool) -> Project:
    """A producer allows or forbids viewers to download the project's files (playing them stays
    open to viewers). Records `project.updated`, so open pages show or hide their Download
    links; setting the value it already has records nothing."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.PROJECT_EDIT)
    with transaction.atomic():
        project = project_lock(project.pk)
        if project.viewers_may_download == bool(allowed):
            return project
        project.viewers_may_download = bool(allowed)
        project.save(update_fields=["viewers_may_download"])
        event_record(
            project=project,
            type="project.updated",
            payload={"project": project_payload(project)},
            actor=actor,
        )
    return project
