"""Jobs against a real Celery worker (prefork, Redis broker, the test database): analysis end to
end, and the smoke versions of R1, R2, R3, R4 and R7 (docs/reliability.md)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from audio import storage
from audio.models import Asset, Job, JobKind, JobState
from audio.services.assets import asset_ingest_file
from audio.services.jobs import job_create
from eventlog.models import Event
from tests.audio.audiofiles import write_wav
from tests.audio.conftest import Worker, wait_for
from tests.audio.jobkinds import SEGV_MESSAGE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.audio.urls"),
    pytest.mark.timeout(180),
]


def _finished(job_ids: list[int]) -> bool:
    return Job.objects.filter(
        pk__in=job_ids, state__in=[JobState.DONE, JobState.FAILED]
    ).count() == len(job_ids)


def _events(kind: str, job_id: int) -> int:
    return Event.objects.filter(type=kind, payload__job__id=job_id).count()


def _ingest(scenario: Any, tmp_path: Path, n: int, seconds: float = 2.0) -> list[Asset]:
    out = []
    for i in range(n):
        path = write_wav(tmp_path / f"take-{i}.wav", seconds=seconds, seed=100 + i)
        out.append(
            asset_ingest_file(
                actor=scenario.users["engineer"],
                project=scenario.project,
                path=path,
                original_name=f"take {i}.wav",
            )
        )
    return out


def _analysis_job(asset: Asset) -> Job:
    return Job.objects.get(asset=asset, kind=JobKind.ANALYZE)


def _running_child(worker: Worker, job_ids: list[int]) -> tuple[int, int] | None:
    """(job id, pid) of a job of `job_ids` running in one of `worker`'s live pool children."""
    children = set(worker.children())
    rows = Job.objects.filter(pk__in=job_ids, state=JobState.RUNNING).values_list(
        "pk", "lease_owner"
    )
    for pk, owner in rows:
        pid = owner.rpartition(":")[2]
        if pid.isdigit() and int(pid) in children:
            return pk, int(pid)
    return None


def test_analysis_job_end_to_end(celery_worker_proc: Worker, scenario: Any, tmp_path: Path) -> None:
    """A new asset is analysed by the worker; report and peaks are served by the API, and the
    job's output sits under a path keyed by the job."""
    (asset,) = _ingest(scenario, tmp_path, 1)
    job = _analysis_job(asset)
    wait_for(lambda: _finished([job.pk]), 60)
    job.refresh_from_db()
    assert job.state == JobState.DONE, (job.error, job.error_code)
    assert (job.attempts, job.progress) == (1, 1.0)
    assert _events("job.finished", job.pk) == 1 and _events("job.started", job.pk) == 1
    output = storage.job_output_path(job.pk, "analysis.json")
    assert output.exists() and not list(output.parent.glob("*.tmp"))
    client = scenario.client("viewer")
    report = client.get(f"/api/assets/{asset.pk}/analysis/")
    assert report.status_code == 200
    assert report.json()["report"]["sample_rate"] == 44100
    peaks = client.get(f"/api/assets/{asset.pk}/peaks/")
    assert peaks.status_code == 200 and peaks.json()["peaks"]
    again = client.get(f"/api/assets/{asset.pk}/peaks/", HTTP_IF_NONE_MATCH=peaks["ETag"])
    assert again.status_code == 304
    listed = client.get(f"/api/jobs/?project={scenario.project.pk}").json()
    assert listed["results"][0]["state"] == "done"


def test_corrupt_file_fails_with_message_and_no_retry(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    """An audio error fails the job with the engine's sentence after one attempt."""
    (asset,) = _ingest(scenario, tmp_path, 1, seconds=0.5)
    # damage the stored file after ingest: the header now says 0 channels
    path = Path(settings.MEDIA_ROOT) / asset.storage_name
    data = bytearray(path.read_bytes())
    data[22:24] = b"\x00\x00"
    path.write_bytes(bytes(data))
    job = _analysis_job(asset)
    wait_for(lambda: _finished([job.pk]), 60)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.attempts == 1
    assert "channels" in job.error and job.error_code.startswith("audio.")
    assert _events("job.failed", job.pk) == 1


def test_r1_smoke_child_killed_every_few_seconds(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    """R1 (smoke): 20 analysis jobs while the pool child running one of them is SIGKILLed every
    3 s (at most 6 kills, as R1 caps kills at 10 for 50 jobs): 20/20 done, one job.finished
    each, outputs byte-identical to a clean run, attempts <= 3, none stuck running, no temp
    files; the killed jobs really ran again (attempts >= 2, one job.started per attempt)."""
    from audio.engine.analysis import analyze_file

    assets = _ingest(scenario, tmp_path, 20, seconds=20)
    job_ids = [_analysis_job(a).pk for a in assets]
    stop = threading.Event()
    kills: list[int] = []  # the job whose running child each kill hit

    def killer() -> None:
        try:
            while len(kills) < 6 and not stop.wait(3.0):
                target = _running_child(celery_worker_proc, job_ids)
                # At most two kills per job: a third would use up its attempts and fail it, which
                # is R4's case (a poison input), not R1's (random kills of good jobs).
                if target is not None and kills.count(target[0]) < 2:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(target[1], signal.SIGKILL)
                        kills.append(target[0])
        finally:
            connection.close()  # this thread's own database session

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        wait_for(lambda: _finished(job_ids), 150, 0.5)
    finally:
        stop.set()
        thread.join()
    jobs = list(Job.objects.filter(pk__in=job_ids))
    assert [j.state for j in jobs].count(JobState.DONE) == 20, [
        (j.pk, j.state, j.error) for j in jobs
    ]
    assert all(j.attempts <= 3 for j in jobs)
    assert all(_events("job.finished", j) == 1 for j in job_ids)
    assert not Job.objects.filter(state=JobState.RUNNING).exists()
    for asset, job_id in zip(assets, job_ids, strict=True):
        got = storage.job_output_path(job_id, "analysis.json").read_bytes()
        report = analyze_file(Path(settings.MEDIA_ROOT) / asset.storage_name).to_dict()
        peaks = report.pop("peaks")
        clean = storage.json_bytes({"report": report, "peaks": peaks})
        assert hashlib.sha256(got).digest() == hashlib.sha256(clean).digest()
    # its own jobs' dirs only: ids restart with each test database, the var dir does not
    assert not [j for j in job_ids if list(storage.job_dir(j).glob("*.tmp"))]
    print(f"R1 smoke: {len(kills)} kills, attempts {sorted(j.attempts for j in jobs)}")
    # the kills interrupted running jobs, and those jobs ran again to the end
    rerun = [j for j in jobs if j.attempts >= 2]
    assert rerun, ("no job was interrupted and re-run", kills)
    assert {j.pk for j in rerun} <= set(kills)
    for job in rerun:
        assert _events("job.started", job.pk) == job.attempts


def test_r3_forced_redelivery_does_not_run_twice(celery_worker_proc: Worker, scenario: Any) -> None:
    """R3: a second delivery of a job that is running (live lease, live worker) is acked and
    skipped: one execution, one job.started, one job.finished."""
    from audio.services.jobs import job_send

    job = job_create(
        actor=scenario.users["engineer"],
        project=scenario.project,
        kind="sleep",
        params={"sleep": 3},
    )
    wait_for(lambda: Job.objects.get(pk=job.pk).state == JobState.RUNNING, 30)
    job_send(job.pk, "sleep")  # the duplicate delivery
    wait_for(lambda: Job.objects.get(pk=job.pk).deliveries >= 2, 30)
    wait_for(lambda: _finished([job.pk]), 30)
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.deliveries >= 2 and job.attempts == 1
    assert _events("job.started", job.pk) == 1 and _events("job.finished", job.pk) == 1


def test_r4_poison_fails_after_three_attempts_while_good_jobs_finish(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    """R4: a job whose worker child dies of SIGSEGV every time (the test kind `segv`, as a
    decoder crashing on a poison input) fails after exactly 3 attempts with its kind's message;
    10 good analysis jobs queued behind it finish."""
    poison = job_create(actor=scenario.users["engineer"], project=scenario.project, kind="segv")
    good = _ingest(scenario, tmp_path, 10, seconds=1)
    good_ids = [_analysis_job(a).pk for a in good]
    wait_for(lambda: _finished([poison.pk, *good_ids]), 120, 0.5)
    poison.refresh_from_db()
    assert poison.state == JobState.FAILED
    assert poison.attempts == 3 and _events("job.started", poison.pk) == 3
    assert f"{SEGV_MESSAGE} after 3 attempts" in poison.error
    assert poison.error_code == "job.worker_lost"
    assert Job.objects.filter(pk__in=good_ids, state=JobState.DONE).count() == 10
    assert _events("job.failed", poison.pk) == 1
    # the worker still consumes afterwards
    late = job_create(actor=scenario.users["engineer"], project=scenario.project, kind="noop")
    wait_for(lambda: _finished([late.pk]), 30)
    assert Job.objects.get(pk=late.pk).state == JobState.DONE


def test_r7_hard_time_limit_fails_the_job(celery_worker_proc: Worker, scenario: Any) -> None:
    """R7: a job past its kind's hard time limit (the test kind `stuck` ignores its 2 s soft
    limit; the hard one is 5 s) is killed and fails with "timed out", no retry."""
    started = time.monotonic()
    job = job_create(actor=scenario.users["engineer"], project=scenario.project, kind="stuck")
    wait_for(lambda: _finished([job.pk]), 40, 0.2)
    elapsed = time.monotonic() - started
    job.refresh_from_db()
    assert job.state == JobState.FAILED, job.state
    assert job.error == "timed out after 5 s" and job.error_code == "job.timeout"
    assert job.attempts == 1
    assert elapsed < 15
    time.sleep(1)
    job.refresh_from_db()
    assert job.attempts == 1 and _events("job.failed", job.pk) == 1


def test_r2_smoke_reaper_alone_recovers_lost_messages(
    celery_worker_proc: Worker, scenario: Any
) -> None:
    """R2 (smoke), recovery by the DB lease reaper alone: the broker never gets these jobs'
    messages. Jobs stuck `running` with a lapsed lease (their worker died) and `queued` jobs
    whose message was lost sit untouched until `requeue_stale_jobs` re-sends them; then the real
    worker finishes each once (one job.finished, attempts <= 3). One that already used 3
    attempts fails as lost instead. Re-running the reaper at once sends nothing more."""
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from audio.services.jobs import job_claim

    # the worker's own start-up sweep must not be what recovers these jobs
    swept = re.compile(r"audio\.jobs\.sweep\[[^]]+\] succeeded")
    wait_for(lambda: swept.search(celery_worker_proc.log_path.read_text()), 30)
    actor = scenario.users["engineer"]
    with transaction.atomic():
        created = [
            job_create(actor=actor, project=scenario.project, kind=JobKind.NOOP) for _ in range(9)
        ]
        connection.run_on_commit.clear()  # the fault: no message ever reaches the broker
    ids = [j.pk for j in created]
    running_1, running_2, capped, queued = ids[:3], ids[3:5], ids[5], ids[6:]
    # workers on another host claimed these (1, 2 or 3 times) and died without finishing
    dead = "lost-worker-host:4242"
    for job_id, claims in [*((j, 1) for j in running_1), *((j, 2) for j in running_2), (capped, 3)]:
        for _ in range(claims):
            assert job_claim(job_id, owner=dead) is not None
    # time passes: every lease lapsed and the messages are older than the re-send threshold
    past = timezone.now() - timedelta(seconds=settings.JOB_REQUEUE_AFTER_SECONDS + 30)
    Job.objects.filter(pk__in=ids).update(enqueued_at=past)
    Job.objects.filter(state=JobState.RUNNING).update(
        lease_expires_at=timezone.now() - timedelta(seconds=30)
    )
    time.sleep(1.0)
    assert Job.objects.filter(pk__in=[*running_1, *running_2, capped], state="running").count() == 6
    assert Job.objects.filter(pk__in=queued, state=JobState.QUEUED).count() == 3
    assert not Job.objects.filter(pk__in=ids, deliveries__gt=3).exists()

    out = StringIO()
    call_command("requeue_stale_jobs", stdout=out)
    assert "re-sent 3 queued and 5 running jobs; failed 1" in out.getvalue(), out.getvalue()
    again = StringIO()
    call_command("requeue_stale_jobs", stdout=again)
    assert "re-sent 0 queued and 0 running jobs; failed 0" in again.getvalue(), again.getvalue()

    recovered = [*running_1, *running_2, *queued]
    wait_for(lambda: _finished(ids), 20, 0.2)
    jobs = {j.pk: j for j in Job.objects.filter(pk__in=ids)}
    assert all(jobs[j].state == JobState.DONE for j in recovered), [
        (j.pk, j.state, j.error) for j in jobs.values()
    ]
    assert [jobs[j].attempts for j in recovered] == [2, 2, 2, 3, 3, 1, 1, 1]
    for job_id in recovered:
        assert _events("job.finished", job_id) == 1
        assert storage.job_output_path(job_id, "noop.json").exists()
    assert jobs[capped].state == JobState.FAILED and jobs[capped].attempts == 3
    assert "lost while running this job after 3 attempts" in jobs[capped].error
    assert _events("job.failed", capped) == 1 and _events("job.finished", capped) == 0
    assert not Job.objects.filter(pk__in=ids, state=JobState.RUNNING).exists()
