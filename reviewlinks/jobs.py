"""The review links' job kinds.

- `watermark`: the link's version, as stored, marked with the link's 32-bit id under the
  project's key (`audio.engine.watermark.run.embed_file`), written as WAV into the run's work
  folder and stored as the project's file through `stored_file_create` (before the job
  finishes, in its own transaction, as the deliver job stores its files); `apply` then points
  the link at it and records `review_link.ready`. A run for a link that has its copy already
  hands it back.
- `wmtrace`: a file found in the wild (stored as the project's file when it was uploaded)
  looked at for the project's key against every id the project issued
  (`detect_file`); `apply` writes what was found on the trace and records
  `leak_trace.finished`. The engine never names an id it is unsure of, so "no mark" is a result,
  not a failure.
"""

from __future__ import annotations

from pathlib import Path

from django.utils import timezone

from audio import storage
from audio.engine.watermark.run import detect_file, embed_file
from audio.jobs.registry import QUEUE_AUDIO, JobKindSpec, Outcome, Param, Progress, register
from audio.models import Asset, AssetKind, Job
from audio.services.assets import stored_file_create
from eventlog.services import event_record
from reviewlinks.models import LeakTrace, ReviewLink, ReviewSettings
from reviewlinks.payloads import link_payload, trace_payload
from studio.errors import NotFound
from studio.roles import Capability

WATERMARK_KIND = "watermark"
TRACE_KIND = "wmtrace"
MARKED_MEDIA_TYPE = "application/octet-stream"  # a WAV, served as audio/wav by the link only


def _source_asset(link: ReviewLink) -> Asset | None:
    version = link.master if link.master_id else link.mix
    return version.asset if version is not None else None


def watermark_copy(job: Job, progress: Progress, workdir: Path) -> Outcome:
    link = (
        ReviewLink.objects.select_related("mix__asset", "master__asset", "project")
        .filter(pk=job.params["link_id"])
        .first()
    )
    if link is None:
        raise NotFound("review link: it was deleted before its copy was made")
    if link.marked_asset_id:
        return Outcome(result={"link": link.pk, "asset": link.marked_asset_id})
    source = _source_asset(link)
    if source is None:
        raise NotFound("review link: its version has no audio any more")
    key = ReviewSettings.objects.get(project_id=link.project_id).watermark_key
    out = workdir / "marked.wav"
    with storage.asset_path(source) as path:
        report = embed_file(path, out, key, link.watermark_id, on_progress=progress)
    name = f"{link.version_label} for {link.recipient_name}.wav"
    asset, _ = stored_file_create(
        project=link.project,
        kind=AssetKind.OTHER,
        media_type=MARKED_MEDIA_TYPE,
        path_or_bytes=out,
        name=name,
        actor=job.created_by,
    )
    result = {"link": link.pk, "asset": asset.pk, "strength": report["strength"]}
    result["snr_db"] = report["snr_db"]

    def apply(job: Job) -> None:
        ReviewLink.objects.filter(pk=link.pk).update(marked_asset=asset)
        link.marked_asset = asset
        event_record(
            project=link.project_id,
            type="review_link.ready",
            payload={"link": link_payload(link)},
            actor=job.created_by,
        )

    return Outcome(result=result, apply=apply)


def trace_leak(job: Job, progress: Progress, workdir: Path) -> Outcome:
    trace = LeakTrace.objects.select_related("asset").filter(pk=job.params["trace_id"]).first()
    if trace is None:
        raise NotFound("trace: it was deleted before it ran")
    key_row = ReviewSettings.objects.filter(project_id=trace.project_id).first()
    links = {
        row.watermark_id: row for row in ReviewLink.objects.filter(project_id=trace.project_id)
    }
    found = None
    confidence = 0.0
    if key_row is not None and links:
        with storage.asset_path(trace.asset) as path:
            report = detect_file(path, key_row.watermark_key, sorted(links), on_progress=progress)
        confidence = float(report["confidence"] or 0.0)
        if report["found"] and report["id"] in links:
            found = links[report["id"]]
    result = {
        "trace": trace.pk,
        "found": found is not None,
        "link": found.pk if found else None,
        "confidence": confidence,
    }

    def apply(job: Job) -> None:
        trace.found = found is not None
        trace.link = found
        trace.confidence = confidence
        trace.finished_at = timezone.now()
        trace.save(update_fields=["found", "link", "confidence", "finished_at"])
        event_record(
            project=trace.project_id,
            type="leak_trace.finished",
            payload={"trace": trace_payload(trace)},
            actor=job.created_by,
        )

    return Outcome(result=result, apply=apply)


WATERMARK = JobKindSpec(
    name=WATERMARK_KIND,
    handler=watermark_copy,
    queue=QUEUE_AUDIO,
    time_limit_s=600.0,
    progress_weight=2.0,
    capability=Capability.REVIEW_LINK_SEND,
    params={"link_id": Param(int, required=True, minimum=1)},
    lost_message="the worker was lost while making the review copy",
)
TRACE = JobKindSpec(
    name=TRACE_KIND,
    handler=trace_leak,
    queue=QUEUE_AUDIO,
    time_limit_s=600.0,
    progress_weight=2.0,
    capability=Capability.REVIEW_LINK_SEND,
    params={"trace_id": Param(int, required=True, minimum=1)},
    lost_message="the worker was lost while looking for the mark",
)


def register_kinds() -> None:
    """Called by the app's ready(); the same specs again are a no-op."""
    register(WATERMARK)
    register(TRACE)
