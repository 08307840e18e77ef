"""Jobs: the row is the truth, the broker only wakes a worker up.

Life of a job: `job_create` (queued, `job.queued` event, message sent on commit) -> `job_claim`
by a worker (conditional update queued -> running, attempts + 1, lease) -> throttled
`ProgressReporter` (writes progress, renews the lease, ephemeral broadcast) -> `job_finish` or
`job_fail` (one `job.finished` / `job.failed` event, guarded by the attempt that claimed it, so a
duplicate run never records twice). `requeue_stale_jobs` re-sends lost messages and recovers
jobs whose worker died.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audio.models import Asset, Job, JobKind, JobState, Mix
from audio.payloads import job_payload
from eventlog.services import event_record, project_lock
from studio.models import Project

logger = logging.getLogger(__name__)

TASK_NAMES = {
    JobKind.ANALYZE: "audio.tasks.analyze_asset",
    JobKind.NOOP: "audio.tasks.noop",
    JobKind.RENDER: "audio.tasks.render_mix",
    JobKind.MASTER: "audio.tasks.master_mix",
    JobKind.DELIVER: "audio.tasks.deliver_release",
}
PROGRESS_MIN_INTERVAL_S = 0.25  # at most 4 progress writes/broadcasts per second per job
CRASH_MESSAGES = {
    JobKind.ANALYZE: "could not decode file (decoder crashed)",
}


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease() -> timedelta:
    return timedelta(seconds=settings.JOB_LEASE_SECONDS)


def _hard_limit_s() -> int:
    return int(settings.CELERY_TASK_TIME_LIMIT)


# --- enqueue -----------------------------------------------------------------------------------


def _send(job_id: int, kind: str, time_limit_s: float | None = None) -> None:
    """Publish the job id (and, when the job has its own, a time limit shorter than the global
    one). A broker failure is logged, not raised: the row stays queued and `requeue_stale_jobs`
    sends it again."""
    from audio import tasks

    options: dict[str, Any] = {}
    if time_limit_s:
        options = {"time_limit": time_limit_s, "soft_time_limit": time_limit_s + 1}
    try:
        tasks.app.send_task(TASK_NAMES[JobKind(kind)], args=[job_id], **options)
    except Exception:
        logger.warning("could not enqueue job %s; the sweeper will retry", job_id, exc_info=True)


def job_create(
    *,
    actor: Any,
    project: Project | int,
    kind: str,
    asset: Asset | None = None,
    mix: Mix | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a queued job, record `job.queued`, and send its id on commit. Callers check the
    capability; this runs inside their transaction (or opens one)."""
    project_id = project if isinstance(project, int) else project.pk
    with transaction.atomic():
        job = Job.objects.create(
            project_id=project_id,
            kind=kind,
            asset=asset,
            mix=mix,
            params=params or {},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            enqueued_at=timezone.now(),
        )
        event_record(
            project=project_id, type="job.queued", payload={"job": job_payload(job)}, actor=actor
        )
        limit = _job_time_limit(job)
        transaction.on_commit(lambda: _send(job.pk, job.kind, limit), robust=True)
    return job


def _job_time_limit(job: Job) -> float | None:
    """A job may carry a hard limit below the global one (params.time_limit_s)."""
    raw = (job.params or {}).get("time_limit_s")
    if isinstance(raw, int | float) and 0 < raw < _hard_limit_s():
        return float(raw)
    return None


# --- claim ------------------------------------------------------------------------------------


def _pid_alive(owner: str) -> bool:
    """False only when `owner` ran on this host and its process is gone (a killed pool child)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Claim:
    job: Job
    attempt: int
    owner: str


def _fail_locked(job: Job, *, code: str, message: str, actor: Any = None) -> None:
    now = timezone.now()
    updated = Job.objects.filter(pk=job.pk, state__in=[JobState.QUEUED, JobState.RUNNING]).update(
        state=JobState.FAILED,
        error=message[:1000],
        error_code=code[:64],
        finished_at=now,
        lease_expires_at=None,
    )
    if updated:
        job.refresh_from_db()
        event_record(
            project=job.project_id,
            type="job.failed",
            payload={"job": job_payload(job)},
            actor=actor,
        )


def job_claim(job_id: int, *, owner: str | None = None) -> Claim | None:
    """Take the job for this worker, or return None when this delivery must do nothing.

    queued -> running (attempts + 1, lease). A finished job, or a running one whose lease is
    live and whose worker is alive, is a duplicate delivery: skipped. A running job whose lease
    lapsed (or whose worker process is known dead) is run again, unless it already used
    JOB_MAX_ATTEMPTS, in which case it fails with a clear message.
    """
    owner = owner or _owner()
    Job.objects.filter(pk=job_id).update(deliveries=F("deliveries") + 1)
    job = Job.objects.filter(pk=job_id).only("project_id").first()
    if job is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        project_lock(job.project_id)
        job = Job.objects.select_for_update(no_key=True).get(pk=job_id)
        if job.state in (JobState.DONE, JobState.FAILED):
            return None
        if job.state == JobState.RUNNING:
            lease_live = job.lease_expires_at is not None and job.lease_expires_at > now
            if lease_live and job.lease_owner != owner and _pid_alive(job.lease_owner):
                return None
            if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                message = CRASH_MESSAGES.get(job.kind, "the worker was lost while running this job")
                _fail_locked(
                    job,
                    code="job.worker_lost",
                    message=f"{message} after {job.attempts} attempts",
                )
                return None
        attempt = job.attempts + 1
        updated = Job.objects.filter(pk=job_id, state=job.state, attempts=job.attempts).update(
            state=JobState.RUNNING,
            attempts=attempt,
            lease_expires_at=now + _lease(),
            lease_owner=owner,
            started_at=now,
            progress=0.0,
        )
        if not updated:
            return None
        job.refresh_from_db()
        event_record(
            project=job.project_id,
            type="job.started",
            payload={"job": job_payload(job)},
            actor=None,
        )
    return Claim(job=job, attempt=attempt, owner=owner)


def job_release(claim: Claim) -> bool:
    """Hand the job back after a retryable error (a database or broker blip): running ->
    queued, lease cleared, so the retry (on any pool child) claims it at once. Back in `queued`,
    the blip does not count towards the JOB_MAX_ATTEMPTS cap on lost workers; Celery's
    max_retries bounds these retries, and a row left queued is re-sent by the sweeper. Best
    effort: if the database is still away, the lease lapses and the sweeper recovers it."""
    try:
        updated = Job.objects.filter(
            pk=claim.job.pk,
            state=JobState.RUNNING,
            attempts=claim.attempt,
            lease_owner=claim.owner,
        ).update(state=JobState.QUEUED, lease_expires_at=None, enqueued_at=timezone.now())
    except Exception:
        logger.warning("could not release job %s", claim.job.pk, exc_info=True)
        return False
    return bool(updated)


# --- progress -----------------------------------------------------------------------------------


class ProgressReporter:
    """The engine's `on_progress`: throttled to PROGRESS_MIN_INTERVAL_S at the source. Each
    report writes Job.progress, renews the lease and sends an ephemeral `job.progress` frame."""

    def __init__(self, claim: Claim, *, min_interval: float = PROGRESS_MIN_INTERVAL_S) -> None:
        self.claim = claim
        self.min_interval = min_interval
        self._last = 0.0
        self.sent = 0

    def __call__(self, fraction: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        fraction = max(0.0, min(1.0, float(fraction)))
        job = self.claim.job
        Job.objects.filter(pk=job.pk, state=JobState.RUNNING, attempts=self.claim.attempt).update(
            progress=fraction, lease_expires_at=timezone.now() + _lease()
        )
        self.sent += 1
        from eventlog.broadcast import send_progress

        send_progress(job.project_id, job.pk, fraction, kind=job.kind)


# --- finish and fail -------------------------------------------------------------------------


def job_finish(claim: Claim, *, result: dict[str, Any] | None = None) -> bool:
    """Mark done and record `job.finished`, only if this attempt still holds the job. Returns
    False for a run that lost its claim (its identical output is already in place)."""
    job = claim.job
    with transaction.atomic():
        project_lock(job.project_id)
        updated = Job.objects.filter(
            pk=job.pk, state=JobState.RUNNING, attempts=claim.attempt
        ).update(
            state=JobState.DONE,
            progress=1.0,
            result=result,
            finished_at=timezone.now(),
            lease_expires_at=None,
            error="",
            error_code="",
        )
        if not updated:
            return False
        job.refresh_from_db()
        event_record(
            project=job.project_id,
            type="job.finished",
            payload={"job": job_payload(job)},
            actor=None,
        )
    return True


def job_fail(claim: Claim, *, code: str, message: str) -> bool:
    """Fail the job for good (no retry): an audio error, a time limit, an unexpected error."""
    job = claim.job
    with transaction.atomic():
        project_lock(job.project_id)
        locked = (
            Job.objects.select_for_update(no_key=True)
            .filter(pk=job.pk, state=JobState.RUNNING, attempts=claim.attempt)
            .first()
        )
        if locked is None:
            return False
        _fail_locked(locked, code=code, message=message)
    return True


def job_fail_by_id(job_id: int, *, code: str, message: str) -> bool:
    """Fail a running job from outside its run (the worker's hard-time-limit handler)."""
    job = Job.objects.filter(pk=job_id).only("project_id").first()
    if job is None:
        return False
    with transaction.atomic():
        project_lock(job.project_id)
        locked = (
            Job.objects.select_for_update(no_key=True)
            .filter(pk=job_id, state__in=[JobState.QUEUED, JobState.RUNNING])
            .first()
        )
        if locked is None:
            return False
        _fail_locked(locked, code=code, message=message)
    return True


def timeout_message(seconds: float) -> str:
    return f"timed out after {seconds:g} s"


# --- the sweeper ----------------------------------------------------------------------------


def requeue_stale_jobs(*, queued_after_s: float | None = None) -> dict[str, int]:
    """Recover what the broker lost: re-send queued jobs whose message is older than
    `queued_after_s`, and running jobs whose lease lapsed (their worker died). A running job past
    its hard time limit fails as timed out; one out of attempts fails as lost. Safe to run any
    time, from any number of processes: duplicates are skipped by `job_claim`."""
    if queued_after_s is None:
        queued_after_s = settings.JOB_REQUEUE_AFTER_SECONDS
    now = timezone.now()
    resend_before = now - timedelta(seconds=queued_after_s)
    counts = {"queued": 0, "running": 0, "failed": 0}
    stale = Job.objects.filter(
        Q(state=JobState.QUEUED, enqueued_at__lt=resend_before)
        | Q(state=JobState.QUEUED, enqueued_at__isnull=True)
        | Q(state=JobState.RUNNING)
    ).values_list("pk", "project_id", "state")
    for job_id, project_id, state in stale[:1000]:
        with transaction.atomic():
            project_lock(project_id)
            job = Job.objects.select_for_update(no_key=True).filter(pk=job_id).first()
            if job is None or job.state in (JobState.DONE, JobState.FAILED):
                continue
            if job.state == JobState.RUNNING:
                lease_live = job.lease_expires_at is not None and job.lease_expires_at >= now
                if lease_live and _pid_alive(job.lease_owner):
                    continue
                hard_limit = _job_time_limit(job) or _hard_limit_s()
                if job.started_at and (now - job.started_at).total_seconds() > hard_limit + 5:
                    _fail_locked(job, code="job.timeout", message=timeout_message(hard_limit))
                    counts["failed"] += 1
                    continue
                if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                    message = CRASH_MESSAGES.get(
                        job.kind, "the worker was lost while running this job"
                    )
                    _fail_locked(
                        job,
                        code="job.worker_lost",
                        message=f"{message} after {job.attempts} attempts",
                    )
                    counts["failed"] += 1
                    continue
                if job.enqueued_at and job.enqueued_at >= resend_before:
                    continue
            Job.objects.filter(pk=job_id).update(enqueued_at=now)
            counts[state] += 1
            transaction.on_commit(
                partial(_send, job_id, job.kind, _job_time_limit(job)), robust=True
            )
    counts["temp_removed"] = sweep_job_temp_files()
    return counts


def sweep_job_temp_files() -> int:
    """Remove the temp files (`jobs/<id>/*.tmp`) of jobs that are done or failed: a run killed
    mid-write leaves one, and a job that is over (e.g. failed after its last lost worker) never
    runs again to clean it. Running and queued jobs are left alone (a live run may be writing;
    a queued one cleans its own at start). Local storage only; returns the count removed."""
    from audio import storage

    found = storage.job_temp_files()
    if not found:
        return 0
    over = set(
        Job.objects.filter(
            pk__in=list(found), state__in=[JobState.DONE, JobState.FAILED]
        ).values_list("pk", flat=True)
    )
    removed = 0
    for job_id in over:
        for path in found[job_id]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed
