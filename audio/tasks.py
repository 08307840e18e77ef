"""Celery tasks: thin. Each takes a job id only, claims the row, runs a service (which runs the
engine), and finishes or fails the job. See services/jobs.py for the rules.

- An AudioError fails the job with the engine's sentence, no retry.
- A lost worker (kill -9, OOM) is redelivered (acks_late + reject_on_worker_lost); the claim
  re-runs it, at most JOB_MAX_ATTEMPTS times.
- A database or broker blip (OperationalError, ConnectionError) is retried with backoff.
- A soft time limit fails the job as timed out; the hard limit is caught in the worker's main
  process by `JobTask.on_failure`, and by the sweeper as a backstop.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError

from audio import storage
from audio.services import jobs
from studio.celery import app

logger = logging.getLogger(__name__)

RETRYABLE = (OperationalError, InterfaceError, ConnectionError)

__all__ = ["analyze_asset", "app", "noop", "requeue_stale_jobs"]


class JobTask(Task):
    autoretry_for = RETRYABLE
    retry_backoff = True
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 3
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Runs in the worker's main process when the hard time limit kills the child."""
        if isinstance(exc, TimeLimitExceeded) and args:
            seconds = exc.args[0] if exc.args else settings.CELERY_TASK_TIME_LIMIT
            try:
                jobs.job_fail_by_id(
                    int(args[0]), code="job.timeout", message=jobs.timeout_message(float(seconds))
                )
            except Exception:
                logger.exception("could not fail timed-out job %s", args[0])


def _run(job_id: int, work: Callable[[jobs.Claim, jobs.ProgressReporter], dict[str, Any]]) -> str:
    from audio.engine.errors import AudioError

    claim = jobs.job_claim(job_id)
    if claim is None:
        return "skipped"
    progress = jobs.ProgressReporter(claim)
    try:
        result = work(claim, progress)
    except AudioError as exc:
        jobs.job_fail(claim, code=exc.code, message=str(exc))
        return "failed"
    except SoftTimeLimitExceeded:
        jobs.job_fail(
            claim,
            code="job.timeout",
            message=jobs.timeout_message(float(settings.CELERY_TASK_SOFT_TIME_LIMIT)),
        )
        return "failed"
    except RETRYABLE:
        jobs.job_release(job_id, owner=claim.owner)
        raise
    except Exception:
        logger.exception("job %s failed unexpectedly", job_id)
        jobs.job_fail(
            claim, code="job.error", message="the job failed unexpectedly (see the worker log)"
        )
        return "failed"
    jobs.job_finish(claim, result=result)
    return "done"


def _analyze(claim: jobs.Claim, progress: jobs.ProgressReporter) -> dict[str, Any]:
    from audio.models import Asset
    from audio.services.assets import asset_analyze

    if settings.JOB_TEST_HOOKS:
        name = Asset.objects.filter(pk=claim.job.asset_id).values_list("original_name", flat=True)
        if (name.first() or "").startswith("poison-segv"):
            os.kill(os.getpid(), signal.SIGSEGV)  # test hook: a decoder that crashes the child
    return asset_analyze(claim, progress)


def _noop(claim: jobs.Claim, progress: jobs.ProgressReporter) -> dict[str, Any]:
    """Does nothing (job overhead bench), or sleeps `params.sleep` seconds in small steps,
    reporting progress (tests of redelivery and time limits)."""
    params = claim.job.params or {}
    if settings.JOB_TEST_HOOKS and params.get("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    seconds = min(float(params.get("sleep", 0) or 0), 3600.0)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.1, left))
        progress(1.0 - left / seconds if seconds else 1.0)
    storage.job_clean_temp(claim.job.pk)
    storage.job_output_write(claim.job.pk, "noop.json", storage.json_bytes({"job": claim.job.pk}))
    return {"slept_s": seconds}


def _unsupported(claim: jobs.Claim, progress: jobs.ProgressReporter) -> dict[str, Any]:
    from audio.engine.errors import AudioError

    raise AudioError(f"{claim.job.kind} jobs are not available yet", code="job.unsupported")


@shared_task(base=JobTask, bind=True, name="audio.tasks.analyze_asset")
def analyze_asset(self: Task, job_id: int) -> str:
    return _run(job_id, _analyze)


@shared_task(base=JobTask, bind=True, name="audio.tasks.noop")
def noop(self: Task, job_id: int) -> str:
    return _run(job_id, _noop)


@shared_task(base=JobTask, bind=True, name="audio.tasks.render_mix")
def render_mix(self: Task, job_id: int) -> str:
    return _run(job_id, _unsupported)


@shared_task(base=JobTask, bind=True, name="audio.tasks.master_mix")
def master_mix(self: Task, job_id: int) -> str:
    return _run(job_id, _unsupported)


@shared_task(base=JobTask, bind=True, name="audio.tasks.deliver_release")
def deliver_release(self: Task, job_id: int) -> str:
    return _run(job_id, _unsupported)


@shared_task(name="audio.tasks.requeue_stale_jobs", acks_late=False, time_limit=120)
def requeue_stale_jobs(queued_after_s: float | None = None) -> dict[str, int]:
    """Periodic sweeper (beat) and worker-start recovery."""
    from audio.services.uploads import upload_sweep_expired

    counts = jobs.requeue_stale_jobs(queued_after_s=queued_after_s)
    counts["uploads_removed"] = upload_sweep_expired()
    return counts


@worker_ready.connect
def _recover_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts re-sends every queued job (the embedded broker loses in-flight
    messages when a whole worker dies) and recovers running jobs whose worker is gone."""
    try:
        app.send_task("audio.tasks.requeue_stale_jobs", kwargs={"queued_after_s": 0})
    except Exception:
        logger.warning("could not schedule the stale-job sweep at worker start", exc_info=True)
