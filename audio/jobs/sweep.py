"""The one sweep: stale jobs, job leftovers and expired uploads. The periodic task, the
`requeue_stale_jobs` command and the worker's start-up (and broker reconnects) all call it."""

from __future__ import annotations

import contextlib

from audio import storage
from audio.jobs.workdir import workdir_remove, workdirs
from audio.models import JOB_OVER, Job
from audio.services.jobs import requeue_stale_jobs
from audio.services.uploads import store_stalled_assets, upload_sweep_expired
from studio.services.projects import project_purge_expired
from studio.services.songs import song_purge_expired


def sweep(*, queued_after_s: float | None = None) -> dict[str, int]:
    """Counts: `queued` and `running` jobs re-sent, `failed` (timed out or out of attempts),
    `temp_removed` job files, `uploads_removed`, `stores_queued` (staged assets whose store
    jobs all ended without storing them), `projects_purged` and `songs_purged` (deleted more
    than 30 days ago: removed for good)."""
    counts = requeue_stale_jobs(queued_after_s=queued_after_s)
    counts["temp_removed"] = sweep_job_files()
    counts["uploads_removed"] = upload_sweep_expired()
    counts["stores_queued"] = store_stalled_assets()
    counts["projects_purged"] = project_purge_expired()
    counts["songs_purged"] = song_purge_expired()
    return counts


def sweep_job_files() -> int:
    """Remove what runs killed mid-way left of jobs that are over: temp outputs
    (`jobs/<id>/*.tmp`, local storage) and work folders. A job that is over (e.g. failed after
    its last lost worker) never runs again to clean them; running and queued jobs are left
    alone (a live run may be writing; a queued one cleans its own at start). Work folders of
    jobs that have no row any more go too. Returns the count removed."""
    temps = storage.job_temp_files()
    folders = workdirs()
    if not temps and not folders:
        return 0
    ids = set(temps) | set(folders)
    rows = dict(Job.objects.filter(pk__in=ids).values_list("pk", "state"))
    removed = 0
    for job_id, paths in temps.items():
        if rows.get(job_id) in JOB_OVER:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
    for job_id in folders:
        if (job_id not in rows or rows[job_id] in JOB_OVER) and workdir_remove(job_id):
            removed += 1
    return removed
