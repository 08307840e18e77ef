"""The `deliver` job kind: a release, as the service built it, made into its files and stored.

The job's parameters are the engine's release spec (sources `asset:<id>.wav` naming the
masters' audio, the artwork `asset:<id>.jpg|png`), the release's id and the ISRCs it used. The
handler resolves each asset to a local file (the stored file, or a scratch copy of a remote
one), runs the engine's `deliver` into the run's work folder with the job's progress (a cancel
stops it at its next report; the work folder goes when the run ends), then zips the whole set
with its manifest into a bundle (audio stored, not recompressed; fixed timestamps, so the same
files give the same zip). Files are stored as the project's assets:
- the CUE sheet, the DDP image's files, the QC report, the manifest and the bundle through
  `stored_file_create` (each in its own transaction, before the job finishes: a run that then
  fails leaves stored files nothing points at, deduplicated by checksum like any asset);
- the WAV, FLAC and MP3 files (and the album WAV) as audio assets, probed by the engine, in
  `apply`, i.e. in `job_finish`'s transaction under the project lock, as the master job stores
  its outputs; no analysis job (they are downloads).
`apply` then writes Delivery N of the release (files with sizes and SHA-256 and their assets,
the bundle, the QC report, the UPC and ISRCs used) and records `release.delivered`.

Exactly one Delivery per job (`Delivery.job` is unique; a run whose job made its delivery
already hands it back).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import zipfile
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max

from audio import storage
from audio.engine.deliver.release import Release as EngineRelease
from audio.engine.deliver.release import ReleaseInvalid
from audio.engine.deliver.run import deliver
from audio.engine.io import Limits, probe
from audio.jobs.registry import QUEUE_AUDIO, JobKindSpec, Outcome, Param, Progress, register
from audio.models import Asset, AssetKind, Job
from audio.services.assets import audio_asset_row_create, engine_limits_kwargs, stored_file_create
from delivery.models import Delivery, Release
from delivery.payloads import delivery_payload
from eventlog.services import event_record
from studio.roles import Capability

DELIVER_KIND = "deliver"
SPEC_MAX_JSON = 200_000
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3")
STORED_IN_ZIP = (".wav", ".flac", ".mp3", ".dat")  # compressed already, or PCM: not deflated
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
BUNDLE = "bundle.zip"


def _kind_and_type(rel: str) -> tuple[str, str]:
    """The stored file's kind and media type, for a delivered file that is not audio."""
    name = rel.lower()
    if name.endswith(".cue"):
        return AssetKind.CUE, "application/x-cue"
    if name.startswith("ddp/"):
        return AssetKind.DDP, "application/octet-stream"
    if name.endswith(".json"):
        return AssetKind.REPORT, "application/json"
    if name.endswith(".zip"):
        return AssetKind.BUNDLE, "application/zip"
    # qc.html: a download, never rendered from the app's origin
    return AssetKind.OTHER, "application/octet-stream"


def _zip(folder: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(rel, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            stored = path.suffix.lower() in STORED_IN_ZIP
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as out:
                shutil.copyfileobj(src, out, storage.COPY_BLOCK)
    os.replace(tmp, dest)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _resolve(stack: ExitStack, spec: dict[str, Any], project_id: int, workdir: Path) -> Any:
    """The spec with every `asset:<id>` replaced by a local path."""

    def asset_of(name: str) -> Asset:
        pk = name.removeprefix("asset:").split(".")[0]
        asset = Asset.objects.filter(project_id=project_id, pk=int(pk)).first()
        if asset is None:
            raise ReleaseInvalid([f"{name}: the file was removed meanwhile"])
        return asset

    out = dict(spec)
    out["tracks"] = []
    for track in spec["tracks"]:
        path = stack.enter_context(storage.asset_path(asset_of(track["source"])))
        out["tracks"].append({**track, "source": str(path)})
    if spec.get("artwork"):
        art = asset_of(spec["artwork"])
        cover = workdir / f"cover{Path(spec['artwork']).suffix}"
        with storage.asset_path(art) as path:
            shutil.copyfile(path, cover)
        out["artwork"] = cover.name
    return out


def deliver_release(job: Job, progress: Progress, workdir: Path) -> Outcome:
    """Raises the engine's AudioError (the job fails with its sentence) when the release is
    refused, e.g. a master's file went missing meanwhile."""
    made = Delivery.objects.filter(job_id=job.pk).first()
    if made is not None:  # an earlier attempt committed
        return Outcome(result={"delivery": made.pk, "number": made.number})
    release_row = (
        Release.objects.select_related("project").filter(pk=job.params["release_id"]).first()
    )
    if release_row is None:
        raise ReleaseInvalid(["release: it was deleted while its delivery waited"])
    outdir = workdir / "out"
    with ExitStack() as stack:
        spec = _resolve(stack, job.params["spec"], job.project_id, workdir)
        engine_release = EngineRelease.from_dict(spec)
        summary = deliver(
            engine_release,
            workdir,
            outdir,
            on_progress=lambda f: progress(0.9 * f),
            limits=Limits(**engine_limits_kwargs()),
        )
    progress(0.92)
    bundle = workdir / BUNDLE
    _zip(outdir, bundle)
    progress(0.96)
    qc = json.loads((outdir / "qc.json").read_text()) if (outdir / "qc.json").exists() else {}
    title = release_row.title
    files: list[dict[str, Any]] = [
        {"path": "manifest.json", "bytes": (outdir / "manifest.json").stat().st_size},
        *summary["files"],
    ]
    audio_kept: list[tuple[dict[str, Any], Path, dict[str, Any]]] = []
    try:
        for entry in files:
            rel = entry["path"]
            path = outdir / rel
            if rel.lower().endswith(AUDIO_SUFFIXES):
                info = probe(path, Limits(**engine_limits_kwargs())).to_dict()
                fd, kept = storage.scratch_file(suffix=Path(rel).suffix)
                os.close(fd)
                shutil.move(path, kept)
                entry["sha256"] = entry.get("sha256") or storage.sha256_file(kept)
                audio_kept.append((entry, kept, info))
                continue
            kind, media_type = _kind_and_type(rel)
            asset, _ = stored_file_create(
                project=release_row.project,
                kind=kind,
                media_type=media_type,
                path_or_bytes=path,
                name=f"{title} - {rel}",
                actor=job.created_by,
            )
            entry.update(asset=asset.pk, sha256=asset.sha256, bytes=asset.size_bytes)
        bundle_asset, _ = stored_file_create(
            project=release_row.project,
            kind=AssetKind.BUNDLE,
            media_type="application/zip",
            path_or_bytes=bundle,
            name=f"{title}.zip",
            actor=job.created_by,
        )
    except BaseException:
        for _entry, kept, _info in audio_kept:
            _discard(kept)
        raise
    progress(0.99)
    qc_status = str(qc.get("status") or summary.get("qc", {}).get("status") or "")
    brief = {k: v for k, v in summary.items() if k != "files"}
    result: dict[str, Any] = {
        "release": release_row.pk,
        "bundle": bundle_asset.pk,
        "qc_status": qc_status,
        "files": len(files) + 1,
    }

    def apply(job: Job) -> None:
        if not Release.objects.filter(pk=release_row.pk).exists():
            raise ReleaseInvalid(["release: it was deleted while it was being delivered"])
        if Delivery.objects.filter(job_id=job.pk).exists():  # never a second one for a job
            for _entry, kept, _info in audio_kept:
                transaction.on_commit(partial(_discard, kept))
            return
        for entry, kept, info in audio_kept:
            asset = _store_audio(job, release_row, kept, entry, info, f"{title} - {entry['path']}")
            entry.update(asset=asset.pk, bytes=asset.size_bytes)
        top = Delivery.objects.filter(release_id=release_row.pk).aggregate(m=Max("number"))["m"]
        delivery = Delivery.objects.create(
            release_id=release_row.pk,
            job=job,
            number=(top or 0) + 1,
            files=[
                *files,
                {
                    "path": BUNDLE,
                    "bytes": bundle_asset.size_bytes,
                    "sha256": bundle_asset.sha256,
                    "asset": bundle_asset.pk,
                },
            ],
            bundle=bundle_asset,
            qc=qc,
            qc_status=qc_status,
            upc=job.params["spec"].get("upc") or "",
            isrcs=job.params["tracks"]["used"],
            summary=brief,
            created_by=job.created_by,
        )
        Job.objects.filter(pk=job.pk).update(
            result={**result, "delivery": delivery.pk, "number": delivery.number}
        )
        event_record(
            project=job.project_id,
            type="release.delivered",
            payload={"delivery": delivery_payload(delivery), "job": job.pk},
            actor=job.created_by,
        )

    return Outcome(result=result, apply=apply)


def _store_audio(
    job: Job, release: Release, kept: Path, entry: dict[str, Any], info: dict[str, Any], name: str
) -> Asset:
    """The project's audio Asset of these bytes: found, or stored now (staged with remote
    storage). Inside `job_finish`'s transaction, under the project lock."""
    sha = entry["sha256"]
    asset = Asset.objects.filter(project_id=release.project_id, sha256=sha).first()
    if asset is not None:
        transaction.on_commit(partial(_discard, kept))
        return asset
    extension = Path(entry["path"]).suffix.lstrip(".").lower()
    storage_name = storage.asset_storage_name(project_id=release.project_id, extension=extension)
    staged = not storage.is_local()
    if staged:
        storage.stage_file(
            kept,
            storage.staged_path(
                project_id=release.project_id, sha256=sha, storage_name=storage_name
            ),
        )
    else:
        storage.store_file(kept, storage_name)
    asset, _analysis = audio_asset_row_create(
        actor=job.created_by,
        project=release.project,
        sha256=sha,
        size=entry["bytes"],
        storage_name=storage_name,
        original_name=name,
        info=info,
        staged=staged,
        analyse=False,
    )
    return asset


DELIVER = JobKindSpec(
    name=DELIVER_KIND,
    handler=deliver_release,
    queue=QUEUE_AUDIO,
    time_limit_s=1500.0,  # under the broker visibility timeout (1800 s)
    progress_weight=6.0,
    capability=Capability.RELEASE_DELIVER,
    subject="",
    params={
        "release_id": Param(int, required=True, minimum=1),
        "spec": Param(dict, required=True, max_length=SPEC_MAX_JSON),
        "tracks": Param(dict, required=True, max_length=SPEC_MAX_JSON),
    },
    lost_message="the worker was lost while delivering the release",
)


def register_deliver() -> None:
    """Called by the delivery app's ready(); the same spec again is a no-op."""
    register(DELIVER)
