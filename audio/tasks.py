"""The Celery tasks, thin: `run_job` runs any job by id (audio.jobs.runner), `sweep` is the
periodic recovery (audio.jobs.sweep). Messages carry a job id only; the row is the truth."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded

from audio.jobs import runner
from audio.jobs.registry import RUN_JOB_TASK, SWEEP_TASK
from audio.jobs.sweep import sweep as sweep_service
from audio.services import jobs

logger = logging.getLogger(__name__)

# The sweep's own limits: soft below hard, or Celery refuses to send it.
SWEEP_SOFT_LIMIT_S = 100
SWEEP_TIME_LIMIT_S = 120


class JobTask(Task):
    autoretry_for = runner.RETRYABLE
    retry_backoff = True
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 3
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Runs in the worker's main process when the hard time limit kills the child."""
        if isinstance(exc, TimeLimitExceeded) and args:
            seconds = float(exc.args[0]) if exc.args else 0.0
            try:
                jobs.job_fail_by_id(
                    int(args[0]), code="job.timeout", message=jobs.timeout_message(seconds)
                )
            except Exception:
                logger.exception("could not fail timed-out job %s", args[0])


@shared_task(base=JobTask, bind=True, name=RUN_JOB_TASK)
def run_job(self: Task, job_id: int) -> str:
    return runner.run_job(int(job_id))


@shared_task(
    name=SWEEP_TASK,
    acks_late=False,
    soft_time_limit=SWEEP_SOFT_LIMIT_S,
    time_limit=SWEEP_TIME_LIMIT_S,
)
def sweep(queued_after_s: float | None = None) -> dict[str, int]:
    """Beat runs it every 30 s; the worker sends it at start and after a broker reconnect."""
    return sweep_service(queued_after_s=queued_after_s)
