"""Celery tasks: thin. Each takes a job id only, claims the row, runs a service (which runs the
engine), and finishes or fails the job. See services/jobs.py for the rules.

- An AudioError fails the job with the engine's sentence, no retry.
- A lost worker (kill -9, OOM) is redelivered (acks_late + reject_on_worker_lost); the claim
  re-runs it, at most JOB_MAX_ATTEMPTS times.
- A database or broker blip (OperationalError, ConnectionError) is retried with backoff: the
  broken connection is dropped, the row goes back to queued (a blip is not a lost worker), and
  the retry claims it again on a fresh connection.
- When the worker reconnects to the broker (a Redis restart may have lost every queued message),
  it sends the stale-job sweep at once, as it does at start.
- A soft time limit fails the job as timed out; the hard limit is caught in the worker's main
  process by `JobTask.on_failure`, and by the sweeper as a backstop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from celery import Task, bootsteps, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

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


def _drop_broken_connections() -> None:
    """After a database error, close connections that are gone (a restarted server, a
    terminated backend) so the next query opens a fresh one. Not inside an atomic block (an
    eager run inside a test transaction keeps its connection)."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue
        try:
            conn.close_if_unusable_or_obsolete()
        except Exception:
            logger.debug("closing a broken connection failed", exc_info=True)


def _run(job_id: int, work: Callable[[jobs.Claim, jobs.ProgressReporter], dict[str, Any]]) -> str:
    claim = jobs.job_claim(job_id)  # a blip here propagates: autoretry, nothing to hand back
    if claim is None:
        return "skipped"
    try:
        return _execute(claim, work)
    except RETRYABLE:
        _drop_broken_connections()
        jobs.job_release(claim)
        raise


def _execute(
    claim: jobs.Claim, work: Callable[[jobs.Claim, jobs.ProgressReporter], dict[str, Any]]
) -> str:
    from audio.engine.errors import AudioError

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
        raise
    except Exception:
        logger.exception("job %s failed unexpectedly", claim.job.pk)
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
        name = Asset.objects.filter(pk=claim.job.asset_id or 0).values_list(
            "original_name", flat=True
        )
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
    size = int(params.get("output_bytes", 0) or 0) if settings.JOB_TEST_HOOKS else 0
    if size > 0:  # test hook: a big output, so a kill can land inside its write
        name, data = "noop.bin", noop_output_bytes(claim.job.pk, min(size, 64 * 1024 * 1024))
    else:
        name, data = "noop.json", storage.json_bytes({"job": claim.job.pk})
    output = storage.job_output_write(claim.job.pk, name, data)
    return {"slept_s": seconds, "output": output, "sha256": hashlib.sha256(data).hexdigest()}


def noop_output_bytes(job_id: int, size: int) -> bytes:
    """The deterministic content of a noop job's `output_bytes` output (the clean-run bytes)."""
    block = hashlib.sha256(f"noop-output-{int(job_id)}".encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


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


class RecoverOnReconnect(bootsteps.StartStopStep):
    """A consumer step: started each time the consumer (re)connects to the broker. After a
    reconnect (not the first start, which `worker_ready` covers) it sends the stale-job sweep
    with no age threshold: a broker restarted without persistence lost every queued message,
    and only the rows remember them. Duplicates are cheap (the claim skips them)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        if getattr(c, "restart_count", 0) > 0:
            logger.info("broker connection restored: sending the stale-job sweep")
            _send_recovery_sweep()


app.steps["consumer"].add(RecoverOnReconnect)


def _send_recovery_sweep() -> None:
    try:
        app.send_task("audio.tasks.requeue_stale_jobs", kwargs={"queued_after_s": 0})
    except Exception:
        logger.warning("could not schedule the stale-job sweep", exc_info=True)


@worker_ready.connect
def _recover_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts re-sends every queued job (the embedded broker loses in-flight
    messages when a whole worker dies) and recovers running jobs whose worker is gone."""
    _send_recovery_sweep()
