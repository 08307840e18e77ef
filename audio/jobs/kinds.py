"""The built-in job kinds, registered when the audio app is ready.

- `analyze`: the engine's report and peaks of an asset (queue "audio"). The output is written
  under a path keyed by the job, and the peaks file keyed by the asset's checksum
  (audio.peaks), before the run finishes; the asset's analysis and the peaks file's name are
  set, and `asset.analyzed` recorded, in `job_finish`'s transaction.
- `noop`: the runner's own cost and nothing else (the job-overhead bench); one tiny output.
- `store` (remote storage only): PUTs an uploaded asset's staged bytes to storage, checked by
  SHA-256 and ETag; in `job_finish`'s transaction the asset is marked stored and `asset.stored`
  recorded; the staged file is removed after the commit. Unreachable storage is retried (the
  staged file stays and reads keep using it).

Renders, masters and deliveries register their kinds the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
from functools import partial
from pathlib import Path
from typing import Any

from django.db import transaction

from audio import storage
from audio.engine.analysis import analyze_file
from audio.engine.io import Limits
from audio.jobs.registry import QUEUE_AUDIO, JobKindSpec, Outcome, Progress, register
from audio.models import Asset, Job, JobKind, StoredAt
from audio.payloads import asset_payload
from audio.peaks import peaks_store
from audio.services.assets import engine_limits_kwargs
from eventlog.services import event_record
from studio.roles import Capability


def analyze(job: Job, progress: Progress, workdir: Path) -> Outcome:
    """Raises the engine's AudioError for a file it refuses."""
    asset = Asset.objects.get(pk=job.asset_id or 0)
    storage.job_clean_temp(job.pk)
    with storage.asset_path(asset) as path:  # staged or stored: wherever the bytes are
        report = analyze_file(path, limits=Limits(**engine_limits_kwargs()), on_progress=progress)
    data = report.to_dict()
    peaks = data.pop("peaks", None)
    content = storage.json_bytes({"report": data, "peaks": peaks})
    output = storage.job_output_write(job.pk, "analysis.json", content)
    stored_peaks: dict[str, Any] = {}
    if peaks is not None:  # stored before the row names them
        stored_peaks = peaks_store(project_id=asset.project_id, sha256=asset.sha256, peaks=peaks)

    def apply(job: Job) -> None:
        # A re-analysis giving other peaks (another engine version) names another file; the
        # old one stays, as a reader holding the old row may still be reading it.
        Asset.objects.filter(pk=asset.pk).update(analysis=data, **stored_peaks)
        asset.analysis = data
        for field, value in stored_peaks.items():
            setattr(asset, field, value)
        event_record(
            project=job.project_id,
            type="asset.analyzed",
            payload={
                "asset": asset_payload(asset),
                "job": job.pk,
                "integrated_lufs": data.get("integrated_lufs"),
            },
            actor=None,
        )

    result: dict[str, Any] = {
        "asset": asset.pk,
        "output": output,
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    return Outcome(result=result, apply=apply)


def store(job: Job, progress: Progress, workdir: Path) -> Outcome:
    """Raises StorageUnavailable (a ConnectionError: retried) while storage is unreachable."""
    asset = Asset.objects.get(pk=job.asset_id or 0)
    result: dict[str, Any] = {"asset": asset.pk, "output": asset.storage_name}
    if asset.stored_at != StoredAt.STAGED:  # an earlier attempt committed
        return Outcome(result={**result, "sha256": asset.sha256})
    staged = storage.asset_staged_path(asset)
    storage.put_verified(
        staged,
        asset.storage_name,
        sha256=asset.sha256,
        content_type=asset.media_type,
        progress=progress,
    )

    def apply(job: Job) -> None:
        Asset.objects.filter(pk=asset.pk).update(stored_at=StoredAt.STORAGE)
        asset.stored_at = StoredAt.STORAGE
        event_record(
            project=job.project_id,
            type="asset.stored",
            payload={"asset": asset_payload(asset), "job": job.pk},
            actor=None,
        )
        transaction.on_commit(partial(_unstage, staged))

    return Outcome(result={**result, "sha256": asset.sha256}, apply=apply)


def _unstage(path: Path) -> None:
    with contextlib.suppress(OSError):  # left behind, the sweep removes it
        path.unlink(missing_ok=True)


def noop(job: Job, progress: Progress, workdir: Path) -> Outcome:
    data = storage.json_bytes({"job": job.pk})
    output = storage.job_output_write(job.pk, "noop.json", data)
    return Outcome(result={"output": output, "sha256": hashlib.sha256(data).hexdigest()})


ANALYZE = JobKindSpec(
    name=JobKind.ANALYZE,
    handler=analyze,
    queue=QUEUE_AUDIO,
    time_limit_s=600.0,
    progress_weight=1.0,
    capability=Capability.ASSET_UPLOAD,
    subject="asset",
    lost_message="could not decode file (decoder crashed)",
)
NOOP = JobKindSpec(name=JobKind.NOOP, handler=noop, time_limit_s=60.0, progress_weight=0.1)
STORE = JobKindSpec(
    name=JobKind.STORE,
    handler=store,
    time_limit_s=1500.0,  # 2 GiB at 1.5 MB/s; under the broker visibility timeout (1800 s)
    progress_weight=0.5,
    capability=Capability.ASSET_UPLOAD,
    subject="asset",
    lost_message="the worker was lost while storing the file",
)


def register_builtin() -> None:
    """Called by the audio app's ready(); the same specs again are a no-op."""
    for spec in (ANALYZE, NOOP, STORE):
        register(spec)
