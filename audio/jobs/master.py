"""The `master` job kind: a mix version and checked settings become Master N of the song.

The handler resolves the mix's audio and the references' to local files (stored files, or
scratch copies of remote ones), masters into the run's work folder with the job's progress
callback (a cancel stops the engine at its next report; the work folder, and any temporary file
in it, goes when the run ends), hashes and probes the master and its pre-limiter file, and moves
both out of the work folder to scratch files. `apply`, in `job_finish`'s transaction under the
project lock, stores each as the project's Asset of those bytes (or finds the one that has them
already), creates Master N (the song's next number, taken under that lock) with the settings,
the engine's report and both assets, and records `master.created`; a new asset also gets
`asset.created`, and the master its analysis job, so its waveform and loudness follow as for
uploads (the pre-limiter file is a download for limiting elsewhere: no analysis).

Exactly one master per job: a duplicate delivery is skipped by the claim; a run whose job made
its master already (the commit landed, the acknowledgement did not) hands that master back;
`Master.job` is unique besides. A worker killed mid-master leaves no row and at most files in
its work folder (made empty when the job runs again) or scratch files (swept); the retry masters
again, into the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max

from audio import storage
from audio.engine.io import Limits, probe
from audio.engine.mastering.master import MasterInvalid, master_file
from audio.jobs.registry import QUEUE_AUDIO, JobKindSpec, Outcome, Param, Progress, register
from audio.models import Asset, Job, JobKind, Master, Mix, ReferenceTrack
from audio.payloads import master_payload
from audio.services.assets import audio_asset_row_create, engine_limits_kwargs
from audio.services.masters import SETTINGS_MAX_JSON, engine_settings
from eventlog.services import event_record
from studio.roles import Capability


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _keep(path: Path) -> tuple[Path, str, int, dict[str, Any]]:
    """Hash and probe a finished output, then move it out of the work folder (which goes when
    the run ends) to a scratch file: (scratch path, sha256, size, probe)."""
    sha = storage.sha256_file(path)
    info = probe(path, Limits(**engine_limits_kwargs())).to_dict()
    size = path.stat().st_size
    fd, kept = storage.scratch_file(suffix=".wav")
    os.close(fd)
    shutil.move(path, kept)
    return kept, sha, size, info


def _store(
    job: Job,
    mix: Mix,
    output: tuple[Path, str, int, dict[str, Any]],
    name: str,
    *,
    analyse: bool = True,
) -> Asset:
    """The project's Asset of these bytes: found, or stored now (staged with remote storage)
    with `asset.created` and (with `analyse`) its analysis job. Inside `job_finish`'s
    transaction."""
    kept, sha, size, info = output
    asset = Asset.objects.filter(project_id=mix.project_id, sha256=sha).first()
    if asset is not None:
        transaction.on_commit(partial(_discard, kept))
        return asset
    storage_name = storage.asset_storage_name(project_id=mix.project_id, extension="wav")
    staged = not storage.is_local()
    if staged:
        storage.stage_file(
            kept,
            storage.staged_path(project_id=mix.project_id, sha256=sha, storage_name=storage_name),
        )
    else:
        storage.store_file(kept, storage_name)
    asset, _analysis = audio_asset_row_create(
        actor=job.created_by,
        project=mix.song.project,
        sha256=sha,
        size=size,
        storage_name=storage_name,
        original_name=name,
        info=info,
        staged=staged,
        analyse=analyse,
    )
    return asset


def _report_for_app(
    report: dict[str, Any], refs: list[ReferenceTrack], preset: str | None
) -> dict[str, Any]:
    """The engine's report without local paths: references by id and title, the pre-limiter
    file as an asset (set when stored)."""
    out = dict(report)
    out["preset"] = preset
    out["prelimiter"] = None
    reference = out.get("reference")
    if isinstance(reference, dict):
        reference = dict(reference)
        reference["files"] = [r.title or r.asset.original_name for r in refs]
        reference["ids"] = [r.pk for r in refs]
        out["reference"] = reference
    return out


def master_mix(job: Job, progress: Progress, workdir: Path) -> Outcome:
    """Raises MasterInvalid (an engine error: the job fails with its sentence) when the mix
    lost its audio or a reference was removed meanwhile."""
    made = Master.objects.filter(job_id=job.pk).first()
    if made is not None:  # an earlier attempt committed
        return Outcome(result={"master": made.pk, "number": made.number, "asset": made.asset_id})
    mix = Mix.objects.select_related("song__project", "asset").get(pk=job.mix_id or 0)
    settings = dict(job.params["settings"])
    if mix.asset is None:
        raise MasterInvalid(f"{mix} has no audio any more")
    ids = [int(i) for i in settings.get("references") or []]
    by_id = {
        r.pk: r
        for r in ReferenceTrack.objects.filter(song_id=mix.song_id, pk__in=ids).select_related(
            "asset"
        )
    }
    gone = [i for i in ids if i not in by_id]
    if gone:
        raise MasterInvalid(f"reference track {gone[0]} was removed from the song meanwhile")
    refs = [by_id[i] for i in ids]
    out = workdir / "master.wav"
    with ExitStack() as stack:
        source = stack.enter_context(storage.asset_path(mix.asset))
        paths = [str(stack.enter_context(storage.asset_path(r.asset))) for r in refs]
        report = master_file(
            source,
            out,
            engine_settings(settings, paths),
            limits=Limits(**engine_limits_kwargs()),
            on_progress=progress,
        )
    prelimiter = out.with_name(out.stem + ".prelimiter.wav")
    kept_master = _keep(out)
    try:
        kept_pre = _keep(prelimiter)
    except BaseException:
        _discard(kept_master[0])
        raise
    app_report = _report_for_app(report, refs, settings.get("preset"))
    result: dict[str, Any] = {
        "mix": mix.pk,
        "sha256": kept_master[1],
        "prelimiter_sha256": kept_pre[1],
        "target_met": report.get("target_met"),
        "output": {
            k: (report.get("output") or {}).get(k)
            for k in ("integrated_lufs", "true_peak_dbtp", "true_peak_accurate_dbtp")
        },
    }

    def apply(job: Job) -> None:
        if Master.objects.filter(job_id=job.pk).exists():  # never a second one for a job
            transaction.on_commit(partial(_discard, kept_master[0]))
            transaction.on_commit(partial(_discard, kept_pre[0]))
            return
        top = Master.objects.filter(song_id=mix.song_id).aggregate(m=Max("number"))["m"]
        number = (top or 0) + 1
        title = mix.song.title
        asset = _store(job, mix, kept_master, f"{title} - Master {number}.wav")
        pre = _store(  # a download for limiting elsewhere: no waveform or analysis needed
            job, mix, kept_pre, f"{title} - Master {number} (pre-limiter).wav", analyse=False
        )
        app_report["prelimiter"] = pre.pk
        master = Master.objects.create(
            project_id=mix.project_id,
            song_id=mix.song_id,
            mix=mix,
            number=number,
            settings=settings,
            asset=asset,
            prelimiter_asset=pre,
            report=app_report,
            job=job,
            created_by=job.created_by,
        )
        Job.objects.filter(pk=job.pk).update(
            result={**result, "master": master.pk, "number": number, "asset": asset.pk}
        )
        event_record(
            project=mix.project_id,
            type="master.created",
            payload={"master": master_payload(master), "job": job.pk},
            actor=job.created_by,
        )

    return Outcome(result=result, apply=apply)


MASTER = JobKindSpec(
    name=JobKind.MASTER,
    handler=master_mix,
    queue=QUEUE_AUDIO,
    time_limit_s=1500.0,  # 25 min; under the broker visibility timeout (1800 s)
    progress_weight=4.0,  # a master weighs more than the analyses of its two outputs
    capability=Capability.MIX_EDIT,
    subject="mix",
    params={"settings": Param(dict, required=True, max_length=SETTINGS_MAX_JSON)},
    lost_message="the worker was lost while mastering the mix",
)


def register_master() -> None:
    """Called by the audio app's ready(); the same spec again is a no-op."""
    register(MASTER)
