"""W4's worker-like process: one job's progress path called in a tight loop.

    python -m tests.live.progress_storm reporter <job_id> <calls> <seconds>
    python -m tests.live.progress_storm raw <job_id> <calls> 0

`reporter` claims the job and calls audio.services.jobs.ProgressReporter `calls` times spread
over `seconds` (the real, source-throttled path), then finishes the job (a durable
`job.finished`). `raw` calls eventlog.broadcast.send_progress `calls` times as fast as it can
(no source throttle: only the consumer's throttle stands between it and the browsers).
Prints {"sent": ..., "elapsed": ...} as JSON. Settings come from the environment (DATABASE_URL,
REDIS_URL), like a Celery worker's."""

from __future__ import annotations

import json
import os
import sys
import time

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    django.setup()
    from audio.models import Job
    from audio.services import jobs
    from eventlog.broadcast import send_progress

    mode, job_id, calls, seconds = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        float(sys.argv[4]),
    )
    start = time.monotonic()
    if mode == "reporter":
        claim = jobs.job_claim(job_id)
        assert claim is not None
        report = jobs.ProgressReporter(claim)
        for i in range(calls):
            report(i / calls)
            delay = start + seconds * (i + 1) / calls - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        report(1.0, force=True)
        jobs.job_finish(claim, result={})
        sent = report.sent
    else:
        job = Job.objects.get(pk=job_id)
        for i in range(calls):
            send_progress(job.project_id, job.pk, i / calls, kind=job.kind)
        sent = calls
    print(json.dumps({"sent": sent, "elapsed": time.monotonic() - start}), flush=True)


if __name__ == "__main__":
    main()
