"""Jobs: the row is the truth, the broker only wakes a worker up.

Life of a job: `job_create` (params checked against its kind, queued, `job.queued`, message sent
on commit to the kind's queue) -> `job_claim` by a worker (conditional update queued -> running,
attempts + 1, lease, `job.started`) -> throttled `ProgressReporter` (writes progress, renews the
lease, ephemeral broadcast; raises JobCancelled once the job was cancelled) -> `job_finish` (the
handler's subject change, `job.finished`, one transaction) or `job_fail` (`job.failed`). Every
write is guarded by the attempt that claimed the job, so a duplicate run never records twice.
`job_cancel` ends a queued or running job (`job.cancelled`); `job_release` hands a job back to
the queue after a database or broker blip (`job.requeued`). `requeue_stale_jobs` re-sends lost
messages and recovers jobs whose worker died.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from audio.jobs.progress import PROGRESS_MIN_INTERVAL_S, ProgressThrottle
from audio.jobs.registry import (
    LOST_MESSAGE,
    RUN_JOB_TASK,
    UNKNOWN_KIND_LIMIT_S,
    JobKindSpec,
    kind_spec,
    registered,
)
from audio.models import JOB_OVER, Asset, Job, JobState, Mix
from audio.payloads import job_payload
from eventlog.broadcast import send_progress
from eventlog.services import event_record, project_lock
from studio.errors import Conflict, Invalid
from studio.models import Project
from studio.requestids import current_request_id
from studio.selectors import require_capability

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised by the progress callback of a job that was cancelled: the handler stops there and
    the runner records nothing more (the cancel already recorded `job.cancelled`)."""


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease() -> timedelta:
    return timedelta(seconds=settings.JOB_LEASE_SECONDS)


def _lost_message(kind: str) -> str:
    spec = registered(kind)
    return spec.lost_message if spec else LOST_MESSAGE


# --- enqueue -----------------------------------------------------------------------------------


def job_send(job_id: int, kind: str) -> None:
    """Publish the job id to its kind's queue with its kind's time limits. A broker failure is
    logged, not raised: the row stays queued and the sweep sends it again."""
    spec = registered(kind)
    if spec is None:
        logger.error("job %s has kind %r, which no module registered", job_id, kind)
        return
    try:
        current_app.send_task(
            RUN_JOB_TASK,
            args=[job_id],
            queue=spec.queue,
            soft_time_limit=spec.soft_limit_s,
            time_limit=spec.hard_limit_s,
        )
    except Exception:
        logger.warning("could not enqueue job %s; the sweep will retry", job_id, exc_info=True)


def job_create(
    *,
    actor: Any,
    project: Project | int,
    kind: str,
    asset: Asset | None = None,
    mix: Mix | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a queued job, record `job.queued`, and send its id on commit. The kind's
    parameters are checked here (Invalid names `params.<name>`). Callers check the capability;
    this runs inside their transaction (or opens one)."""
    spec = kind_spec(kind)
    cleaned = spec.clean_params(params)
    subjects = {"asset": asset, "mix": mix}
    if spec.subject and subjects[spec.subject] is None:
        raise Invalid(
            f"a {kind} job needs a {spec.subject}", fields={spec.subject: "this field is required"}
        )
    project_id = project if isinstance(project, int) else project.pk
    with transaction.atomic():
        job = Job.objects.create(
            project_id=project_id,
            kind=kind,
            asset=asset,
            mix=mix,
            params=cleaned,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            enqueued_at=timezone.now(),
            request_id=current_request_id(),
        )
        event_record(
            project=project_id, type="job.queued", payload={"job": job_payload(job)}, actor=actor
        )
        transaction.on_commit(partial(job_send, job.pk, job.kind), robust=True)
    return job


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
    """One attempt's hold on a job: every later write checks `attempt` is still the job's."""

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


def _fail_lost(job: Job) -> None:
    _fail_locked(
        job,
        code="job.worker_lost",
        message=f"{_lost_message(job.kind)} after {job.attempts} attempts",
    )


def job_claim(job_id: int, *, owner: str | None = None) -> Claim | None:
    """Take the job for this worker, or return None when this delivery must do nothing.

    queued -> running (attempts + 1, lease). A finished or cancelled job, or a running one
    whose lease is live and whose worker is alive, is a duplicate delivery: skipped. A running
    job whose lease lapsed (or whose worker process is known dead) is run again, unless it
    already used JOB_MAX_ATTEMPTS, in which case it fails with its kind's message.
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
        if job.state in JOB_OVER:
            return None
        if job.state == JobState.RUNNING:
            lease_live = job.lease_expires_at is not None and job.lease_expires_at > now
            if lease_live and job.lease_owner != owner and _pid_alive(job.lease_owner):
                return None
            if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                _fail_lost(job)
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


def job_release(claim: Claim, *, reason: str) -> bool:
    """Hand the job back after a retryable error (a database or broker blip): running ->
    queued, lease cleared, `job.requeued`, so the retry (on any pool child) claims it at once.
    Back in `queued`, the blip does not count towards the JOB_MAX_ATTEMPTS cap on lost workers;
    Celery's max_retries bounds these retries, and a row left queued is re-sent by the sweep.
    Best effort: if the database is still away, the lease lapses and the sweep recovers it."""
    job = claim.job
    try:
        with transaction.atomic():
            project_lock(job.project_id)
            updated = Job.objects.filter(
                pk=job.pk,
                state=JobState.RUNNING,
                attempts=claim.attempt,
                lease_owner=claim.owner,
            ).update(state=JobState.QUEUED, lease_expires_at=None, enqueued_at=timezone.now())
            if updated:
                job.refresh_from_db()
                event_record(
                    project=job.project_id,
                    type="job.requeued",
                    payload={"job": job_payload(job), "reason": reason[:200]},
                    actor=None,
                )
    except Exception:
        logger.warning("could not release job %s", job.pk, exc_info=True)
        return False
    return bool(updated)


# --- progress -----------------------------------------------------------------------------------


class ProgressReporter:
    """A handler's progress callback, throttled at the source (audio.jobs.progress). Each report
    that passes writes Job.progress, renews the lease and sends an ephemeral `job.progress`
    frame; when the write finds the job no longer running for this attempt because it was
    cancelled, it raises JobCancelled, so a cancelled job stops at its next report."""

    def __init__(self, claim: Claim, *, min_interval: float = PROGRESS_MIN_INTERVAL_S) -> None:
        self.claim = claim
        self.throttle = ProgressThrottle(min_interval)
        self.sent = 0

    def __call__(self, fraction: float, *, force: bool = False) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        if not self.throttle.allow(final=force or fraction >= 1.0):
            return
        job = self.claim.job
        updated = Job.objects.filter(
            pk=job.pk, state=JobState.RUNNING, attempts=self.claim.attempt
        ).update(progress=fraction, lease_expires_at=timezone.now() + _lease())
        if not updated:
            state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).first()
            if state == JobState.CANCELLED:
                raise JobCancelled(job.pk)
            return  # another attempt holds it now: its reports are the ones that count
        self.sent += 1
        send_progress(job.project_id, job.pk, fraction, kind=job.kind)


# --- finish, fail, cancel ----------------------------------------------------------------------


def job_finish(
    claim: Claim,
    *,
    result: dict[str, Any] | None = None,
    apply: Callable[[Job], None] | None = None,
) -> bool:
    """Mark done and record `job.finished`, only if this attempt still holds the job; `apply`
    (the handler's subject change and its events) runs in the same transaction, after the
    guard, so it happens exactly once. Returns False for a run that lost its claim (or whose
    job was cancelled meanwhile)."""
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
        if apply is not None:
            apply(job)
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


def job_cancel(*, actor: Any, job: Job) -> Job:
    """Cancel a queued or running job: `job.cancelled`, and a running one stops at its next
    progress report (nothing of it is applied). Whoever may create the kind may cancel it;
    a job that is already over is a 409."""
    spec = registered(job.kind)
    capability = spec.capability if spec else JobKindSpec.capability
    require_capability(user=actor, project_id=job.project_id, capability=capability)
    with transaction.atomic():
        project_lock(job.project_id)
        locked = Job.objects.select_for_update(no_key=True).get(pk=job.pk)
        if locked.state in JOB_OVER:
            raise Conflict(f"the job is already {locked.state}", code="job_over")
        Job.objects.filter(pk=job.pk).update(
            state=JobState.CANCELLED, finished_at=timezone.now(), lease_expires_at=None
        )
        locked.refresh_from_db()
        event_record(
            project=locked.project_id,
            type="job.cancelled",
            payload={"job": job_payload(locked)},
            actor=actor,
        )
    return locked


def timeout_message(seconds: float) -> str:
    return f"timed out after {seconds:g} s"


# --- recovery ------------------------------------------------------------------------------


def requeue_stale_jobs(*, queued_after_s: float | None = None) -> dict[str, int]:
    """Recover what the broker lost: re-send queued jobs whose message is older than
    `queued_after_s`, and running jobs whose lease lapsed (their worker died). A running job past
    its kind's hard time limit fails as timed out; one out of attempts fails as lost. Safe to run
    any time, from any number of processes: duplicates are skipped by `job_claim`."""
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
            if job is None or job.state in JOB_OVER:
                continue
            if job.state == JobState.RUNNING:
                lease_live = job.lease_expires_at is not None and job.lease_expires_at >= now
                if lease_live and _pid_alive(job.lease_owner):
                    continue
                spec = registered(job.kind)
                hard_limit = spec.hard_limit_s if spec else UNKNOWN_KIND_LIMIT_S
                if job.started_at and (now - job.started_at).total_seconds() > hard_limit + 5:
                    _fail_locked(job, code="job.timeout", message=timeout_message(hard_limit))
                    counts["failed"] += 1
                    continue
                if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                    _fail_lost(job)
                    counts["failed"] += 1
                    continue
                if job.enqueued_at and job.enqueued_at >= resend_before:
                    continue
            Job.objects.filter(pk=job_id).update(enqueued_at=now)
            counts[state] += 1
            transaction.on_commit(partial(job_send, job_id, job.kind), robust=True)
    return counts


# --- figures for the metrics endpoint ---------------------------------------------------------


def job_figures(buckets: tuple[float, ...]) -> dict[str, Any]:
    """What /metrics reports of jobs, from the table (so right whichever machine ran them):
    `depth` (kind, state) -> count of queued and running jobs; `durations` (kind, final state)
    -> (cumulative counts at or under each bucket's seconds, then all; total seconds);
    `retries` kind -> attempts beyond the first over finished jobs."""
    depth = {
        (row["kind"], row["state"]): row["n"]
        for row in Job.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING])
        .values("kind", "state")
        .annotate(n=Count("id"))
    }
    finished = Job.objects.filter(
        state__in=JOB_OVER, started_at__isnull=False, finished_at__isnull=False
    ).annotate(took=F("finished_at") - F("started_at"))
    per_bucket = {
        f"le{i}": Count("id", filter=Q(took__lte=timedelta(seconds=b)))
        for i, b in enumerate(buckets)
    }
    durations: dict[tuple[str, str], tuple[list[int], float]] = {}
    retries: dict[str, int] = {}
    rows = finished.values("kind", "state").annotate(
        n=Count("id"), total=Sum("took"), again=Sum(F("attempts") - 1), **per_bucket
    )
    for row in rows:
        cumulative = [row[f"le{i}"] for i in range(len(buckets))] + [row["n"]]
        total = row["total"]
        seconds = total.total_seconds() if isinstance(total, timedelta) else 0.0
        durations[(row["kind"], row["state"])] = (cumulative, seconds)
        retries[row["kind"]] = retries.get(row["kind"], 0) + max(0, row["again"] or 0)
    return {"depth": depth, "durations": durations, "retries": retries}
