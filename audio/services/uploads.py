"""Resumable uploads with tus 1.0 semantics (core, creation, checksum, expiration, termination).

Every request body is bounded (UPLOAD_MAX_CHUNK_BYTES) and streamed to disk in small blocks
while the running SHA-256 (whose state is stored with the upload) and the chunk checksum are
computed. A chunk that is short, or whose checksum does not match, is cut off again: the offset
only moves after the bytes are fsynced. The last chunk triggers completion: the engine probes the
file (in the sandbox), and an accepted file becomes an Asset (deduplicated by checksum) with an
analysis job, attached to a song when the metadata says so, all in one transaction.

A file identical to one the song already has (the same bytes as a mix version, for a mix; as a
stem or take, for a stem or take) is not attached silently: the upload is held
(`UploadState.HELD`) until its uploader confirms (`upload_confirm`: attached as asked, with its
event) or cancels (`upload_cancel`: nothing is added).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from audio import sandbox, storage
from audio.models import (
    JOB_OVER,
    Asset,
    Job,
    JobKind,
    Mix,
    Stem,
    StoredAt,
    Take,
    Upload,
    UploadState,
)
from audio.services import assets as asset_services
from audio.services import jobs as job_services
from audio.services import mixes as mix_services
from eventlog.services import project_lock
from studio.errors import Conflict, DomainError, Invalid, NotFound
from studio.metrics import UPLOAD_BYTES
from studio.models import Project, Song
from studio.parsing import whole_number
from studio.roles import Capability
from studio.selectors import require_capability

logger = logging.getLogger(__name__)

READ_BLOCK = 1024 * 1024
# The running SHA-256 of each chunk's blocks is taken here, beside the request's own thread.
_HASHING = ThreadPoolExecutor(max_workers=4, thread_name_prefix="upload-sha256")
KINDS = ("stem", "take", "mix")
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
METADATA_KEYS = ("filename", "project", "song", "kind", "instrument", "part", "note", "filetype")
# A staged asset whose store jobs all ended without storing it gets another this long after the
# last one ended, up to this many in all (storage down past the retries, or misconfigured).
STORE_AGAIN_AFTER_S = 600
STORE_JOBS_MAX = 5


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class QuotaExceeded(DomainError):
    status = 413
    code = "quota_exceeded"


class TooManyUploads(DomainError):
    status = 429
    code = "too_many_uploads"


class UploadGone(DomainError):
    status = 410
    code = "upload_expired"


class ChecksumMismatch(DomainError):
    status = 460
    code = "checksum_mismatch"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def _human_bytes(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def parse_metadata(header: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated `key base64value` pairs."""
    out: dict[str, str] = {}
    if not header:
        return out
    if len(header) > 8192:
        raise Invalid("Upload-Metadata is too long", fields={"Upload-Metadata": ["too long"]})
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Invalid(
                f"Upload-Metadata value for '{key[:40]}' is not base64 UTF-8",
                fields={"Upload-Metadata": [f"bad value for {key[:40]}"]},
            ) from None
        if "\x00" in decoded or "\x00" in key:  # PostgreSQL text cannot hold one
            raise Invalid(
                f"Upload-Metadata value for '{key[:40]}' holds a NUL character",
                fields={"Upload-Metadata": [f"NUL in {key[:40]}"]},
            )
        out[key[:40]] = decoded[:2000]
    return out


def parse_checksum(header: str) -> tuple[str, bytes] | None:
    """tus Upload-Checksum: `<algorithm> <base64 digest>`."""
    if not header:
        return None
    algo, _, value = header.strip().partition(" ")
    algo = algo.lower()
    if algo not in CHECKSUM_ALGORITHMS:
        raise Invalid(
            f"checksum algorithm '{algo[:20]}' is not supported (use sha1, sha256 or md5)",
            code="bad_checksum_algorithm",
            fields={"Upload-Checksum": ["use sha1, sha256 or md5"]},
        )
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            "Upload-Checksum digest is not base64", fields={"Upload-Checksum": ["not base64"]}
        ) from None
    return algo, digest


def _int_meta(meta: dict[str, str], key: str) -> int | None:
    raw = meta.get(key, "").strip()
    if not raw:
        return None
    value = whole_number(raw)
    if value is None:
        raise Invalid(f"metadata '{key}' must be an id", fields={key: ["must be an id"]})
    return value


def _project_for(actor: Any, meta: dict[str, str]) -> Project:
    project_id = _int_meta(meta, "project")
    if project_id is None:
        raise Invalid("metadata 'project' is required", fields={"project": ["required"]})
    require_capability(user=actor, project_id=project_id, capability=Capability.ASSET_UPLOAD)
    return Project.objects.get(pk=project_id)


def _validate_attach(actor: Any, project: Project, meta: dict[str, str]) -> None:
    kind = meta.get("kind", "").strip()
    song_id = _int_meta(meta, "song")
    if not kind and song_id is None:
        return
    if kind not in KINDS:
        raise Invalid(
            f"metadata 'kind' must be one of {', '.join(KINDS)}", fields={"kind": list(KINDS)}
        )
    if song_id is None:
        raise Invalid("metadata 'song' is required with 'kind'", fields={"song": ["required"]})
    if not Song.objects.filter(pk=song_id, project=project).exists():
        raise NotFound("song not found", fields={"song": ["not found in this project"]})
    if kind == "take" and not meta.get("part", "").strip():
        raise Invalid("a take needs metadata 'part'", fields={"part": ["required for a take"]})
    if kind == "mix":
        require_capability(user=actor, project_id=project.pk, capability=Capability.MIX_EDIT)


def _bytes_reserved(project_id: int, now: Any) -> int:
    active = Upload.objects.filter(
        project_id=project_id, state=UploadState.ACTIVE, expires_at__gt=now
    ).aggregate(t=Sum("length"))["t"]
    return asset_services.project_bytes_used(project_id) + int(active or 0)


def upload_create(*, actor: Any, length: int, metadata: dict[str, str]) -> Upload:
    """Open an upload session. Refused before any byte is stored: over the size limit (413),
    over the project's quota (413), or over the user's concurrent uploads (429)."""
    project = _project_for(actor, metadata)
    if length > settings.UPLOAD_MAX_BYTES:
        cap = _human_bytes(settings.UPLOAD_MAX_BYTES)
        raise TooLarge(
            f"the file is {_human_bytes(length)}, over the {cap} upload limit",
            fields={"Upload-Length": [f"at most {settings.UPLOAD_MAX_BYTES}"]},
        )
    if length <= 0:
        raise Invalid("Upload-Length must be positive", fields={"Upload-Length": ["positive"]})
    _validate_attach(actor, project, metadata)
    now = timezone.now()
    with transaction.atomic():
        # Serialise quota decisions per project (and per user count) under the project lock.
        Project.objects.select_for_update(no_key=True).get(pk=project.pk)
        active = Upload.objects.filter(
            user=actor, state=UploadState.ACTIVE, expires_at__gt=now
        ).count()
        limit = settings.UPLOAD_MAX_CONCURRENT_PER_USER
        if active >= limit:
            raise TooManyUploads(
                f"you already have {active} uploads in progress (the limit is {limit}); "
                "finish or cancel one first"
            )
        quota = settings.PROJECT_STORAGE_QUOTA_BYTES
        if _bytes_reserved(project.pk, now) + length > quota:
            raise QuotaExceeded(
                f"project storage quota ({_human_bytes(quota)}) exceeded",
                fields={"Upload-Length": ["over the project's storage quota"]},
            )
        upload_id = uuid.uuid4()
        temp_name = f"{upload_id.hex}.part"
        storage.upload_temp_path(temp_name).touch()
        upload = Upload.objects.create(
            id=upload_id,
            project=project,
            user=actor,
            length=length,
            metadata={k: v for k, v in metadata.items() if k in METADATA_KEYS},
            sha256_state=storage.ResumableSha256().state()
            if storage.ResumableSha256.available()
            else b"",
            temp_name=temp_name,
            expires_at=now + timedelta(seconds=settings.UPLOAD_EXPIRY_SECONDS),
        )
    sandbox.warm()  # the completing chunk's probe then finds its launcher started
    return upload


def upload_get_for_user(*, actor: Any, upload_id: str | uuid.UUID) -> Upload:
    """Only the uploader sees an upload (404 for everyone else); an expired one is 410."""
    try:
        upload = Upload.objects.get(pk=upload_id, user=actor)
    except (Upload.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound("upload not found") from None
    if upload.state == UploadState.FAILED:
        raise UploadGone("this upload was refused or cancelled")
    live = (UploadState.ACTIVE, UploadState.HELD)
    if upload.state in live and upload.expires_at <= timezone.now():
        _discard(upload, UploadState.FAILED, {"code": "upload_expired"})
        raise UploadGone("this upload expired; start again")
    return upload


def _discard(upload: Upload, state: str, error: dict[str, Any] | None) -> None:
    storage.upload_temp_path(upload.temp_name).unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk).update(state=state, error=error, sha256_state=b"")


def upload_write(
    *,
    actor: Any,
    upload_id: str | uuid.UUID,
    offset: int,
    content_length: int,
    read: Callable[[int], bytes],
    checksum: tuple[str, bytes] | None = None,
) -> Upload:
    """Append one chunk at `offset` (409 if the server's offset differs, unchanged). When the
    upload is complete, run `upload_complete`."""
    upload = upload_get_for_user(actor=actor, upload_id=upload_id)
    require_capability(user=actor, project_id=upload.project_id, capability=Capability.ASSET_UPLOAD)
    sandbox.warm()  # this process may not be the one the upload was created on
    if content_length > settings.UPLOAD_MAX_CHUNK_BYTES:
        raise TooLarge(
            f"chunks are at most {_human_bytes(settings.UPLOAD_MAX_CHUNK_BYTES)}",
            code="chunk_too_large",
        )
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        complete = (UploadState.DONE, UploadState.HELD)
        if upload.state in complete and offset == upload.length == upload.offset:
            return upload
        if upload.state != UploadState.ACTIVE:
            raise Conflict("this upload is already complete", code="upload_complete")
        if offset != upload.offset:
            raise Conflict(
                f"offset {offset} does not match the server's offset {upload.offset}",
                code="offset_mismatch",
                fields={"Upload-Offset": [str(upload.offset)]},
            )
        if offset + content_length > upload.length:
            raise TooLarge(
                f"the chunk runs past the declared length of {upload.length} bytes",
                code="past_length",
            )
        state, written = _write_chunk(upload, offset, content_length, read, checksum)
        upload.offset = offset + written
        upload.sha256_state = state
        upload.save(update_fields=["offset", "sha256_state"])
        complete = upload.offset == upload.length
        if complete:
            upload.state = UploadState.COMPLETING
            upload.save(update_fields=["state"])
    UPLOAD_BYTES.inc(written)  # stored and committed
    if complete:
        return upload_complete(actor=actor, upload=upload)
    return upload


def _write_chunk(
    upload: Upload,
    offset: int,
    content_length: int,
    read: Callable[[int], bytes],
    checksum: tuple[str, bytes] | None,
) -> tuple[bytes, int]:
    """Stream the body to the file at `offset`; returns (new hash state, bytes written).

    Each block is written and added to the chunk's checksum on this thread while the upload's
    running SHA-256 takes it on a hashing thread (OpenSSL and the kernel release the GIL, so the
    two hashes of a block run on two cores); one block is in flight, in order."""
    path = storage.upload_temp_path(upload.temp_name)
    hasher = storage.ResumableSha256(bytes(upload.sha256_state)) if upload.sha256_state else None
    chunk_hash = hashlib.new(checksum[0]) if checksum else None
    got = 0
    pending: Future[None] | None = None
    with open(path, "r+b") as fh:
        fh.truncate(offset)
        fh.seek(offset)
        try:
            while got < content_length:
                data = read(min(READ_BLOCK, content_length - got))
                if not data:
                    break
                if pending is not None:
                    pending.result()
                if hasher is not None:
                    pending = _HASHING.submit(hasher.update, data)
                fh.write(data)
                got += len(data)
                if chunk_hash is not None:
                    chunk_hash.update(data)
        except OSError:
            fh.truncate(offset)
            raise Invalid(
                "the connection broke during the chunk", code="incomplete_chunk"
            ) from None
        finally:
            if pending is not None:
                pending.result()
        if got != content_length:
            fh.truncate(offset)
            raise Invalid(
                f"the chunk ended after {got} of {content_length} bytes",
                code="incomplete_chunk",
            )
        if chunk_hash is not None and checksum is not None and chunk_hash.digest() != checksum[1]:
            fh.truncate(offset)
            raise ChecksumMismatch(
                "the chunk's checksum does not match its bytes; send it again",
                fields={"Upload-Checksum": ["mismatch"]},
            )
        fh.flush()
        os.fdatasync(fh.fileno())
    return (hasher.state() if hasher is not None else b""), got


def upload_complete(*, actor: Any, upload: Upload) -> Upload:
    """Probe the finished file; accept it as an Asset (and attach it) or refuse it with the
    engine's reason, leaving no row and no stored file.

    The bytes are probed in the sandbox (a child process, off this thread). With local storage
    they are stored (fsync + rename) before the transaction. With remote storage this request
    sends nothing: inside the transaction, under the project lock, the file is renamed into the
    staging area and the Asset commits as staged with a `store` job that PUTs it later. Then the
    Asset, its jobs, the attachment (stem, take or mix), the Upload's completion and their events
    commit in one transaction. If anything in it fails, all of it rolls back, the stored (or
    staged) file is removed and the upload is refused, so no half-completed upload remains.
    """
    path = storage.upload_temp_path(upload.temp_name)
    if upload.sha256_state:
        sha = storage.ResumableSha256(bytes(upload.sha256_state)).hexdigest()
    else:
        sha = storage.sha256_file(path)
    meta = upload.metadata or {}
    project = upload.project
    staging = not storage.is_local()
    stored: str | None = None
    staged: Path | None = None
    info: dict[str, Any] = {}
    size = 0
    if not Asset.objects.filter(project=project, sha256=sha).exists():
        try:
            info = asset_services.audio_probe(path)
        except asset_services.InvalidAudio as exc:
            _discard(upload, UploadState.FAILED, {"code": exc.code, "detail": exc.detail})
            raise
        stored = storage.asset_storage_name(
            project_id=project.pk, extension=asset_services.audio_extension(info["format"])
        )
        size = path.stat().st_size
        if not staging:
            try:
                storage.store_file(path, stored)
            except BaseException:
                storage.delete_file(stored)
                _discard(upload, UploadState.FAILED, {"code": "store_failed"})
                raise
    created = False
    try:
        with transaction.atomic():
            project_lock(project.pk)
            asset = Asset.objects.filter(project=project, sha256=sha).first()
            job = None
            if asset is None and stored is not None:
                if staging:
                    # Under the lock: a staged file is keyed by checksum, and no other upload
                    # of these bytes can stage (or unstage) it until this commits or rolls back.
                    staged = storage.staged_path(
                        project_id=project.pk, sha256=sha, storage_name=stored
                    )
                    storage.stage_file(path, staged)
                asset, job = asset_services.audio_asset_row_create(
                    actor=actor,
                    project=project,
                    sha256=sha,
                    size=size,
                    storage_name=stored,
                    original_name=meta.get("filename", ""),
                    info=info,
                    staged=staging,
                )
                created = True
            elif asset is None:  # the same bytes' asset was deleted meanwhile: start again
                raise Conflict("the file's asset changed meanwhile; upload it again")
            identical = None if created else identical_on_song(asset, meta)
            attached = None if identical else _attach(actor, asset, meta)
            analysis = Job.objects.filter(asset=asset, kind=JobKind.ANALYZE).order_by("-id")
            Upload.objects.filter(pk=upload.pk).update(
                state=UploadState.HELD if identical else UploadState.DONE,
                asset=asset,
                job=job or analysis.first(),
                attached=attached,
                sha256_state=b"",
            )
    except BaseException as exc:
        if stored is not None and not staging:
            storage.delete_file(stored)
        if staged is not None:
            _unstage_unused(project.pk, sha, staged)
        code = exc.code if isinstance(exc, DomainError) else "store_failed"
        _discard(upload, UploadState.FAILED, {"code": code})
        raise
    if stored is not None and not created and not staging:  # another upload won the race
        storage.delete_file(stored)
    path.unlink(missing_ok=True)
    upload.refresh_from_db()
    return upload


def _unstage_unused(project_id: int, sha256: str, path: Path) -> bool:
    """Remove a staged file unless a staged asset uses it, deciding under the project lock (the
    only place files are staged). Best effort: if the database is away, the sweep removes it."""
    try:
        with transaction.atomic():
            project_lock(project_id)
            if Asset.objects.filter(
                project_id=project_id, sha256=sha256, stored_at=StoredAt.STAGED
            ).exists():
                return False
            path.unlink(missing_ok=True)
            return True
    except Project.DoesNotExist:
        path.unlink(missing_ok=True)
        return True
    except Exception:
        logger.warning("could not remove staged file %s; the sweep will", path.name, exc_info=True)
        return False


def store_stalled_assets() -> int:
    """Queue a new store job for each staged asset whose store jobs all ended (failed after
    their retries, lost, or cancelled) at least STORE_AGAIN_AFTER_S ago, while it has had fewer
    than STORE_JOBS_MAX; so a file reaches storage once storage is back or fixed. Returns the
    count queued."""
    cutoff = timezone.now() - timedelta(seconds=STORE_AGAIN_AFTER_S)
    live = Job.objects.filter(kind=JobKind.STORE).exclude(state__in=JOB_OVER)
    candidates = (
        Asset.objects.filter(stored_at=StoredAt.STAGED)
        .exclude(pk__in=live.values("asset_id"))
        .values_list("pk", "project_id")
    )
    queued = 0
    for asset_id, project_id in candidates[:100]:
        with transaction.atomic():
            project_lock(project_id)
            asset = Asset.objects.filter(pk=asset_id, stored_at=StoredAt.STAGED).first()
            if asset is None:
                continue
            ended = Job.objects.filter(asset=asset, kind=JobKind.STORE)
            if ended.exclude(state__in=JOB_OVER).exists() or ended.count() >= STORE_JOBS_MAX:
                continue
            if ended.filter(finished_at__gt=cutoff).exists():
                continue
            job_services.job_create(actor=None, project=project_id, kind=JobKind.STORE, asset=asset)
            queued += 1
    return queued


def sweep_staged_files() -> int:
    """Remove staged files that no staged asset uses: left by a completion killed between the
    rename and the commit, or by a store job killed between its commit and the removal. The
    staged files of assets still waiting for their store job are left alone. Returns the count
    removed."""
    waiting = set(
        Asset.objects.filter(stored_at=StoredAt.STAGED).values_list("project_id", "sha256")
    )
    return sum(
        _unstage_unused(project_id, sha, path)
        for project_id, sha, path in list(storage.staged_files())
        if (project_id, sha) not in waiting
    )


def _attach(actor: Any, asset: Asset, meta: dict[str, str]) -> dict[str, Any] | None:
    kind = meta.get("kind", "").strip()
    song_id = _int_meta(meta, "song")
    if not kind or song_id is None:
        return None
    song = Song.objects.filter(pk=song_id, project_id=asset.project_id).first()
    if song is None:
        raise NotFound("song not found", fields={"song": ["not found in this project"]})
    if kind == "stem":
        stem = asset_services.stem_attach(
            actor=actor,
            song=song,
            asset=asset,
            instrument=meta.get("instrument", ""),
            notes=meta.get("note", ""),
        )
        return {"type": "stem", "id": stem.pk}
    if kind == "take":
        take = asset_services.take_attach(
            actor=actor,
            song=song,
            asset=asset,
            part=meta.get("part", ""),
            notes=meta.get("note", ""),
        )
        return {"type": "take", "id": take.pk}
    mix = mix_services.mix_create(actor=actor, song=song, asset=asset, note=meta.get("note", ""))
    return {"type": "mix", "id": mix.pk}


def identical_on_song(asset: Asset, meta: dict[str, str]) -> dict[str, Any] | None:
    """What of the song the upload names already has these bytes, when the upload would attach
    them again: for a mix, its earliest mix version with this asset; for a stem or a take, its
    first stem or take with it. {"type", "id", "name"} ("Mix 1", "the stem Bass", "Lead vocal
    take 2"), or None (a new file, or one the song does not hold in that role)."""
    kind = meta.get("kind", "").strip()
    song_id = _int_meta(meta, "song")
    if kind not in KINDS or song_id is None:
        return None
    if kind == "mix":
        mix = Mix.objects.filter(song_id=song_id, asset=asset).order_by("number").first()
        return None if mix is None else {"type": "mix", "id": mix.pk, "name": f"Mix {mix.number}"}
    stem = Stem.objects.filter(song_id=song_id, asset=asset).order_by("id").first()
    if stem is not None:
        label = f"the stem {stem.instrument}" if stem.instrument else f"stem {stem.pk}"
        return {"type": "stem", "id": stem.pk, "name": label}
    take = Take.objects.filter(song_id=song_id, asset=asset).order_by("part", "number").first()
    if take is not None:
        return {"type": "take", "id": take.pk, "name": f"{take.part} take {take.number}"}
    return None


def upload_identical_to(upload: Upload) -> dict[str, Any] | None:
    """For a held upload: what it is identical to, with the sentence the page shows
    ("mix2.wav is identical to Mix 1"). None for an upload that is not held."""
    if upload.state != UploadState.HELD or upload.asset is None:
        return None
    meta = upload.metadata or {}
    found = identical_on_song(upload.asset, meta)
    if found is None:  # what it matched is gone meanwhile: confirming simply attaches it
        return {
            "type": None,
            "id": None,
            "name": "",
            "detail": "Nothing of the song matches this file any more: confirm to add it.",
        }
    name = meta.get("filename") or "This file"
    return {**found, "detail": f"{name} is identical to {found['name']}."}


def _held_for_decision(actor: Any, upload_id: str | uuid.UUID) -> Upload:
    upload = upload_get_for_user(actor=actor, upload_id=upload_id)
    require_capability(user=actor, project_id=upload.project_id, capability=Capability.ASSET_UPLOAD)
    return upload


def upload_confirm(*, actor: Any, upload_id: str | uuid.UUID) -> Upload:
    """Attach a held upload as its metadata asked (a new mix version, stem or take of the song,
    with its event), although the song already has these bytes. Confirming twice is one
    attachment: the second answers the completed upload. 409 for an upload that is not held."""
    upload = _held_for_decision(actor, upload_id)
    with transaction.atomic():
        project_lock(upload.project_id)
        upload = (
            Upload.objects.select_for_update(of=("self",)).select_related("asset").get(pk=upload.pk)
        )
        if upload.state == UploadState.DONE and upload.attached:
            return upload
        if upload.state != UploadState.HELD:
            raise Conflict("this upload is not waiting for a decision", code="upload_not_held")
        if upload.asset is None:
            raise Conflict(
                "the uploaded file is gone meanwhile; upload it again", code="asset_gone"
            )
        attached = _attach(actor, upload.asset, upload.metadata or {})
        Upload.objects.filter(pk=upload.pk).update(state=UploadState.DONE, attached=attached)
    upload.refresh_from_db()
    return upload


def upload_cancel(*, actor: Any, upload_id: str | uuid.UUID) -> None:
    """Drop a held upload: nothing is added to the song (the file was already in the project,
    so no file or asset goes). 409 for an upload that is not held."""
    upload = _held_for_decision(actor, upload_id)
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.state != UploadState.HELD:
            raise Conflict("this upload is not waiting for a decision", code="upload_not_held")
        Upload.objects.filter(pk=upload.pk).delete()


def upload_terminate(*, actor: Any, upload_id: str | uuid.UUID) -> None:
    """tus termination: drop the session and its bytes (a completed upload's asset stays)."""
    upload = upload_get_for_user(actor=actor, upload_id=upload_id)
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.state == UploadState.COMPLETING:
            raise Conflict("this upload is being checked", code="upload_completing")
        if upload.state in (UploadState.DONE, UploadState.HELD):  # a held one: nothing added
            Upload.objects.filter(pk=upload.pk).delete()
            return
        storage.upload_temp_path(upload.temp_name).unlink(missing_ok=True)
        Upload.objects.filter(pk=upload.pk).delete()


def upload_sweep_expired() -> int:
    """Remove expired sessions and their files, temp files with no session, scratch copies a
    killed process left behind (U4 in docs/reliability.md), and staged files no staged asset
    uses (never those of an asset waiting for its store job)."""
    now = timezone.now()
    count = 0
    for upload in Upload.objects.filter(expires_at__lte=now).exclude(state=UploadState.DONE):
        storage.upload_temp_path(upload.temp_name).unlink(missing_ok=True)
        upload.delete()
        count += 1
    Upload.objects.filter(state=UploadState.DONE, expires_at__lte=now - timedelta(days=7)).delete()
    known = set(
        Upload.objects.filter(state__in=[UploadState.ACTIVE, UploadState.COMPLETING]).values_list(
            "temp_name", flat=True
        )
    )
    cutoff = now.timestamp() - settings.UPLOAD_EXPIRY_SECONDS
    directory = Path(storage.upload_dir())
    for path in [*directory.glob("*.part"), *directory.glob(f"{storage.SCRATCH_PREFIX}*")]:
        try:
            stale = path.name not in known and path.stat().st_mtime < cutoff
        except FileNotFoundError:  # removed meanwhile (by its own process or another sweeper)
            continue
        if stale:
            path.unlink(missing_ok=True)
            count += 1
    return count + sweep_staged_files()
