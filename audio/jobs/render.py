"""The `render` job kind: a draft's spec becomes its audio.

The handler resolves the spec's sources to stored files (local paths; with remote storage,
scratch copies), renders into the run's work folder with the job's progress callback (a cancel
stops the engine at its next report and leaves no file), the project's clip cache (so a
re-render redoes only what changed) and the sources' Asset hashes as their cache keys (so no
source is read through SHA-256 again), hashes and probes the WAV, and moves it out of the work
folder to a scratch file. `apply`, in `job_finish`'s transaction under the project lock, then
stores it as the project's Asset of those bytes (or finds the one that already has them: the
same spec rendered twice is the same file and the same Asset), gives the draft its asset,
`state` rendered, `samples_sha256` and `engine_version`, records `mix.rendered`, and (for a new
asset) `asset.created` and its analysis job, so loudness and peaks follow as for uploads.

A worker killed mid-render leaves at most a temporary file in its work folder (made empty when
the job runs again, swept otherwise) or a scratch file (swept with the upload dir's); the job is
delivered again and renders again. A duplicate delivery is skipped by the claim. If the
transaction rolls back after the file was stored, the stored file is left without a row.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Any

from django.db import transaction

from audio import storage
from audio.engine.io import Limits, probe
from audio.engine.render import ENGINE_VERSION, MixSpec, render
from audio.jobs.registry import QUEUE_AUDIO, JobKindSpec, Outcome, Param, Progress, register
from audio.models import Asset, Job, JobKind, Mix, MixState
from audio.payloads import mix_payload
from audio.services import renders
from audio.services.assets import audio_asset_row_create, engine_limits_kwargs
from eventlog.services import event_record
from studio.roles import Capability

REPORT_KEYS = (
    "duration_s",
    "frames",
    "sample_peak_dbfs",
    "true_peak_dbtp",
    "integrated_lufs",
    "clipped_samples",
    "render_s",
)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def render_mix(job: Job, progress: Progress, workdir: Path) -> Outcome:
    """Raises SpecInvalid (an engine error: the job fails with its sentence) for a spec whose
    sources are gone or too short."""
    mix = Mix.objects.select_related("song").get(pk=job.mix_id or 0)
    if not mix.is_draft:  # rendered by an earlier attempt that committed
        return Outcome(result={"mix": mix.pk, "asset": mix.asset_id})
    spec = MixSpec.from_dict(mix.spec)
    assets = renders.spec_assets(mix.song, spec, own=mix.pk)
    out = workdir / "mix.wav"
    limits = Limits(**engine_limits_kwargs())
    with renders.source_paths(assets) as paths:
        report = render(
            spec,
            paths,
            out,
            bit_depth=str(job.params.get("bit_depth", "32f")),
            cache_dir=renders.render_cache_dir(mix.project_id),
            threads=renders.render_threads(),
            on_progress=progress,
            limits=limits,
            digests=renders.source_digests(assets),
        )
    sha = storage.sha256_file(out)
    info = probe(out, limits).to_dict()
    size = out.stat().st_size
    fd, kept = storage.scratch_file(suffix=".wav")  # the work folder goes when the run ends
    os.close(fd)
    shutil.move(out, kept)
    result: dict[str, Any] = {
        "mix": mix.pk,
        "sha256": sha,
        "samples_sha256": report["samples_sha256"],
        "engine_version": ENGINE_VERSION,
        "report": {k: report.get(k) for k in REPORT_KEYS},
    }

    def apply(job: Job) -> None:
        locked = Mix.objects.select_for_update(no_key=True).get(pk=mix.pk)
        if not locked.is_draft:
            transaction.on_commit(partial(_discard, kept))
            return
        asset = Asset.objects.filter(project_id=mix.project_id, sha256=sha).first()
        if asset is None:
            name = storage.asset_storage_name(project_id=mix.project_id, extension="wav")
            staged = not storage.is_local()
            if staged:
                storage.stage_file(
                    kept,
                    storage.staged_path(project_id=mix.project_id, sha256=sha, storage_name=name),
                )
            else:
                storage.store_file(kept, name)
            asset, _analysis = audio_asset_row_create(
                actor=job.created_by,
                project=mix.song.project,
                sha256=sha,
                size=size,
                storage_name=name,
                original_name=f"{mix.song.title} - Mix {mix.number}.wav",
                info=info,
                staged=staged,
            )
        else:
            transaction.on_commit(partial(_discard, kept))
        locked.asset = asset
        locked.state = MixState.RENDERED
        locked.samples_sha256 = str(report["samples_sha256"])
        locked.engine_version = ENGINE_VERSION
        locked.save(update_fields=["asset", "state", "samples_sha256", "engine_version"])
        Job.objects.filter(pk=job.pk).update(result={**result, "asset": asset.pk})
        event_record(
            project=mix.project_id,
            type="mix.rendered",
            payload={"mix": mix_payload(locked), "job": job.pk, "report": result["report"]},
            actor=job.created_by,
        )

    return Outcome(result=result, apply=apply)


RENDER = JobKindSpec(
    name=JobKind.RENDER,
    handler=render_mix,
    queue=QUEUE_AUDIO,
    time_limit_s=1500.0,  # 25 min; under the broker visibility timeout (1800 s)
    progress_weight=4.0,  # a render weighs more than the analysis of its output
    capability=Capability.MIX_EDIT,
    subject="mix",
    params={"bit_depth": Param(str, default="32f", choices=renders.BIT_DEPTHS)},
    lost_message="the worker was lost while rendering the mix",
)


def register_render() -> None:
    """Called by the audio app's ready(); the same spec again is a no-op."""
    register(RENDER)
