"""Runs one job by id, whatever its kind: claim, call the kind's handler with a progress
callback and a fresh work folder, then finish (with the handler's subject change) or fail.

- An AudioError fails the job with the engine's sentence, no retry.
- A cancelled job stops at its next progress report: nothing is applied, nothing more recorded.
- A lost worker (kill -9, OOM) is redelivered (acks_late + reject_on_worker_lost); the claim
  re-runs it, at most JOB_MAX_ATTEMPTS times.
- A database or broker blip (OperationalError, ConnectionError) propagates so the task retries
  with backoff: the broken connection is dropped and the job goes back to queued first (a blip
  is not a lost worker), so the retry claims it again on a fresh connection.
- The soft time limit fails the job as timed out; the hard limit is handled by the task's
  `on_failure` in the worker's main process, and by the sweep as a backstop.
"""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, connections

from audio.engine.errors import AudioError
from audio.jobs.registry import JobKindSpec, Outcome, registered
from audio.jobs.workdir import workdir_fresh, workdir_remove
from audio.services import jobs
from studio.requestids import bound_request_id

logger = logging.getLogger(__name__)

RETRYABLE = (OperationalError, InterfaceError, ConnectionError)


def drop_broken_connections() -> None:
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


def run_job(job_id: int) -> str:
    """Returns what happened: done, failed, cancelled or skipped (a duplicate delivery)."""
    claim = jobs.job_claim(job_id)  # a blip here propagates: autoretry, nothing to hand back
    if claim is None:
        return "skipped"
    try:
        # The log lines of the job carry the id of the request that queued it (or its own).
        with bound_request_id(claim.job.request_id or f"job-{claim.job.pk}"):
            return _execute(claim)
    except RETRYABLE as exc:
        drop_broken_connections()
        jobs.job_release(claim, reason=f"{type(exc).__name__}: retrying")
        raise


def _execute(claim: jobs.Claim) -> str:
    job = claim.job
    spec = registered(job.kind)
    if spec is None:
        jobs.job_fail(claim, code="job.unknown_kind", message=f"no worker runs {job.kind} jobs")
        return "failed"
    try:
        outcome = _call(spec, claim)
        finished = jobs.job_finish(claim, result=outcome.result, apply=outcome.apply)
    except jobs.JobCancelled:
        return "cancelled"
    except AudioError as exc:
        jobs.job_fail(claim, code=exc.code, message=str(exc))
        return "failed"
    except SoftTimeLimitExceeded:
        jobs.job_fail(claim, code="job.timeout", message=jobs.timeout_message(spec.soft_limit_s))
        return "failed"
    except RETRYABLE:
        raise
    except Exception:
        logger.exception("job %s (%s) failed unexpectedly", job.pk, job.kind)
        jobs.job_fail(
            claim, code="job.error", message="the job failed unexpectedly (see the worker log)"
        )
        return "failed"
    return "done" if finished else "skipped"


def _call(spec: JobKindSpec, claim: jobs.Claim) -> Outcome:
    """The handler in its own work folder, removed afterwards whatever happened."""
    progress = jobs.ProgressReporter(claim)
    workdir = workdir_fresh(claim.job.pk)
    try:
        outcome = spec.handler(claim.job, progress, workdir)
    finally:
        workdir_remove(claim.job.pk)
    if not isinstance(outcome, Outcome):
        raise TypeError(f"the {spec.name} handler returned {type(outcome).__name__}, not Outcome")
    return outcome
