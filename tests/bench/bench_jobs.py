"""Job overhead: from enqueue (commit of job_create) to the `job.finished` event for a no-op job,
on a real prefork worker over the configured broker. `python -m tests.bench.bench_jobs`."""

from __future__ import annotations

import statistics
import time

from tests.bench._audio_common import ROOT, bench_project, cleanup, setup_django, start, stop

JOBS = 40


def main() -> None:
    from django.conf import settings

    setup_django()
    from audio.models import Job, JobState
    from audio.services.jobs import job_create
    from eventlog.models import Event

    user, project, _token = bench_project("jobs")
    log = settings.VAR_DIR / "log" / "bench-jobs-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    worker = start(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "studio",
            "worker",
            "-Q",
            "default,audio",
            "-P",
            "prefork",
            "-c",
            "1",
            "-l",
            "info",
            "-n",
            "bench-jobs@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        lambda: "ready." in log.read_text(),
        log,
    )
    latencies: list[float] = []
    try:
        for _ in range(3):  # warm-up
            job = job_create(actor=user, project=project, kind="noop")
            _wait(job.pk)
        for _ in range(JOBS):
            job = job_create(actor=user, project=project, kind="noop")
            enqueued = Job.objects.get(pk=job.pk).enqueued_at
            _wait(job.pk)
            finished = Event.objects.get(type="job.finished", payload__job__id=job.pk).created_at
            latencies.append((finished - enqueued).total_seconds() * 1000)
        assert Job.objects.filter(project=project).exclude(state=JobState.DONE).count() == 0
        latencies.sort()
        p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
        print(
            f"no-op job, enqueue -> job.finished event ({JOBS} jobs, broker "
            f"{settings.CELERY_BROKER_URL.split(':')[0]}): "
            f"p50 {statistics.median(latencies):.0f} ms,"
            f" p95 {p95:.0f} ms"
        )
    finally:
        stop(worker)
        cleanup(project, user)


def _wait(job_id: int) -> None:
    from audio.models import Job, JobState

    deadline = time.monotonic() + 60
    while not Job.objects.filter(pk=job_id, state__in=[JobState.DONE, JobState.FAILED]).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} did not finish")
        time.sleep(0.005)


if __name__ == "__main__":
    main()
