"""The job runner: kinds registered by name (a toy `invert` kind that only the tests register
runs end to end through a real worker, with progress, cancel and a retry after a worker kill),
parameters checked at creation, the cancel door, the analysis result committed with
`job.finished`, and the periodic sweep task running on a real worker."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import connection, transaction

from audio import storage
from audio.jobs import runner
from audio.jobs.registry import JobKindSpec, Outcome, combined_progress, kind_spec, register
from audio.jobs.workdir import workdir_path
from audio.models import Asset, Job, JobKind, JobState
from audio.services import jobs
from audio.services.assets import asset_ingest_file
from eventlog.broadcast import project_group
from eventlog.models import Event
from studio.errors import Invalid
from tests.audio.audiofiles import write_wav
from tests.audio.conftest import Worker, wait_for

pytestmark = [pytest.mark.urls("tests.audio.urls"), pytest.mark.timeout(180)]


def _events(kind: str, job_id: int) -> int:
    return Event.objects.filter(type=kind, payload__job__id=job_id).count()


def _asset(scenario: Any, tmp_path: Path, seconds: float = 2.0, seed: int = 7) -> Asset:
    path = write_wav(tmp_path / f"take-{seed}.wav", seconds=seconds, seed=seed)
    return asset_ingest_file(
        actor=scenario.users["engineer"], project=scenario.project, path=path, original_name="t"
    )


def _samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def _invert_job(scenario: Any, asset: Asset, **params: Any) -> Job:
    return jobs.job_create(
        actor=scenario.users["engineer"],
        project=scenario.project,
        kind="invert",
        asset=asset,
        params=params,
    )


class ProgressFrames:
    """Listens on the project's channel-layer group (the websocket fan-out) in its own thread
    and keeps every `job.progress` frame with the time it arrived."""

    def __init__(self, project_id: int) -> None:
        self.group = project_group(project_id)
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _listen(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self.ready.set()
        while not self.stop.is_set():
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.3)
            except TimeoutError:
                continue
            frame = message.get("frame") or {}
            if frame.get("type") == "job.progress":
                self.frames.append((time.monotonic(), frame["payload"]))
        await layer.group_discard(self.group, channel)

    def of(self, job_id: int) -> list[tuple[float, float]]:
        return [(t, p["progress"]) for t, p in self.frames if p["job"] == job_id]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


# --- through a real worker ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_kind_registered_by_the_test_runs_end_to_end_with_progress(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    """`invert` is known only to the test process and the test worker (tests/audio/jobkinds.py):
    it goes to the audio queue, reports progress to the project's group (throttled to about 4
    per second, the last one 1.0), and its output is the input with its polarity inverted."""
    asset = _asset(scenario, tmp_path)
    listener = ProgressFrames(scenario.project.pk)
    try:
        job = _invert_job(scenario, asset, blocks=30, pace_s=0.05)
        wait_for(lambda: Job.objects.get(pk=job.pk).state in (JobState.DONE, JobState.FAILED), 60)
        wait_for(lambda: any(p >= 1 for _, p in listener.of(job.pk)), 10)
    finally:
        listener.close()
    job.refresh_from_db()
    assert (job.state, job.attempts, job.progress) == (JobState.DONE, 1, 1.0), job.error
    assert _events("job.started", job.pk) == 1 and _events("job.finished", job.pk) == 1
    with storage.local_path(asset.storage_name) as path:
        original = _samples(path)
    inverted = _samples(storage.job_output_path(job.pk, "inverted.wav"))
    assert inverted.shape == original.shape
    assert np.array_equal(inverted, np.clip(-original.astype(np.int32), -32768, 32767))
    frames = listener.of(job.pk)
    values = [p for _, p in frames]
    assert len(frames) >= 3 and values == sorted(values) and values[-1] == 1.0, values
    span = frames[-1][0] - frames[0][0]
    assert len(frames) <= 4 * span + 2, (len(frames), span)  # the source throttle held
    assert not workdir_path(job.pk).exists()  # the run's private folder is gone


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_job_stops_it_at_its_next_progress_report(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    """POST /api/jobs/{id}/cancel/ on a running `invert` job: `job.cancelled` at once, the
    worker stops within a progress interval or two (no output, no job.finished, no job.failed,
    no retry), and a second cancel is a 409."""
    asset = _asset(scenario, tmp_path, seed=8)
    job = _invert_job(scenario, asset, blocks=100, pace_s=0.1)  # about 10 s of work
    wait_for(lambda: Job.objects.get(pk=job.pk).progress >= 0.05, 60, 0.05)
    log = celery_worker_proc.log_path
    stopped_before = log.read_text().count("'cancelled'")
    client = scenario.client("engineer")
    cancelled_at = time.monotonic()
    response = client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "cancelled"
    wait_for(lambda: log.read_text().count("'cancelled'") > stopped_before, 10, 0.05)
    stop_s = time.monotonic() - cancelled_at
    job.refresh_from_db()
    progress_at_stop = job.progress
    time.sleep(1.0)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.attempts == 1
    assert job.progress == progress_at_stop < 1.0  # nothing ran after the stop
    assert _events("job.cancelled", job.pk) == 1
    assert _events("job.finished", job.pk) == 0 and _events("job.failed", job.pk) == 0
    assert not storage.job_output_path(job.pk, "inverted.wav").exists()
    assert not workdir_path(job.pk).exists()
    again = client.post(f"/api/jobs/{job.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "job_over"
    print(f"cancel: the worker stopped {stop_s:.2f} s after the request")
    assert stop_s < 3


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_child_is_killed_runs_again_and_finishes(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    """SIGKILL of the pool child running an `invert` job mid-run: the message is redelivered,
    the claim sees the dead owner and runs it again: attempts == 2, two job.started, one
    job.finished, and the output is still exactly the inverted input."""
    asset = _asset(scenario, tmp_path, seed=9)
    job = _invert_job(scenario, asset, blocks=40, pace_s=0.1)  # about 4 s of work

    def running_pid() -> int | None:
        row = Job.objects.filter(pk=job.pk, state=JobState.RUNNING, progress__gte=0.2)
        owner = row.values_list("lease_owner", flat=True).first() or ""
        pid = owner.rpartition(":")[2]
        return int(pid) if pid.isdigit() and int(pid) in celery_worker_proc.children() else None

    pid = wait_for(running_pid, 60, 0.05)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: Job.objects.get(pk=job.pk).state in (JobState.DONE, JobState.FAILED), 90)
    job.refresh_from_db()
    assert job.state == JobState.DONE, (job.error_code, job.error)
    assert job.attempts == 2
    assert _events("job.started", job.pk) == 2 and _events("job.finished", job.pk) == 1
    assert job.lease_owner.rpartition(":")[2] != str(pid)  # the second run was another child
    with storage.local_path(asset.storage_name) as path:
        original = _samples(path)
    inverted = _samples(storage.job_output_path(job.pk, "inverted.wav"))
    assert np.array_equal(inverted, np.clip(-original.astype(np.int32), -32768, 32767))


@pytest.mark.django_db(transaction=True)
def test_the_periodic_sweep_task_runs_on_a_real_worker(
    celery_worker_proc: Worker, scenario: Any
) -> None:
    """The sweep task sent the way beat sends it (`apply_async` of the registered task, with
    its own soft and hard limits) runs on the worker and re-sends a job whose message was lost;
    Celery never refuses it for inconsistent limits."""
    from audio import tasks

    with transaction.atomic():
        job = jobs.job_create(
            actor=scenario.users["engineer"], project=scenario.project, kind=JobKind.NOOP
        )
        connection.run_on_commit.clear()  # the fault: its message never reaches the broker
    time.sleep(0.5)
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED
    before = celery_worker_proc.log_path.read_text().count("audio.jobs.sweep[")
    assert tasks.sweep.soft_time_limit <= tasks.sweep.time_limit
    tasks.sweep.apply_async(kwargs={"queued_after_s": 0})
    wait_for(lambda: Job.objects.get(pk=job.pk).state == JobState.DONE, 30)
    log = celery_worker_proc.log_path.read_text()
    assert log.count("audio.jobs.sweep[") > before
    assert "soft_time_limit must be less than or equal to time_limit" not in log
    assert _events("job.finished", job.pk) == 1


# --- in process -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_parameters_are_checked_when_the_job_is_created(scenario: Any, tmp_path: Path) -> None:
    """A bad parameter is Invalid naming `params.<name>` (the API's 400), before any row or
    message exists; defaults are filled in; an unknown kind names `kind`."""
    asset = _asset(scenario, tmp_path)
    before = Job.objects.count()
    with pytest.raises(Invalid) as bad:
        _invert_job(scenario, asset, blocks="many", pace_s=-1, loud=True)
    assert set(bad.value.fields) == {"params.blocks", "params.pace_s", "params.loud"}
    assert bad.value.fields["params.pace_s"] == "must be at least 0"
    assert bad.value.status == 400
    with pytest.raises(Invalid) as unknown:
        jobs.job_create(actor=scenario.users["engineer"], project=scenario.project, kind="nope")
    assert "kind" in unknown.value.fields
    with pytest.raises(Invalid) as no_subject:
        jobs.job_create(actor=scenario.users["engineer"], project=scenario.project, kind="invert")
    assert "asset" in no_subject.value.fields
    assert Job.objects.count() == before
    job = _invert_job(scenario, asset, blocks=5)
    assert job.params == {"blocks": 5, "pace_s": 0.0}


def test_a_new_kind_declares_queue_limits_and_weight(settings: Any) -> None:
    """Everything the runner needs comes from the spec: queue, soft and hard limits, weight; a
    deployment may override one kind's limit (JOB_TIME_LIMITS)."""
    spec = register(
        JobKindSpec(
            name="weighted",
            handler=lambda job, progress, workdir: Outcome(result={}),
            time_limit_s=30,
            grace_s=5,
            progress_weight=3.0,
        ),
        replace=True,
    )
    assert kind_spec("weighted") is spec
    assert (spec.queue, spec.soft_limit_s, spec.hard_limit_s) == ("default", 30.0, 35.0)
    settings.JOB_TIME_LIMITS = {"weighted": 7}
    assert (spec.soft_limit_s, spec.hard_limit_s) == (7.0, 12.0)
    assert kind_spec(JobKind.ANALYZE).queue == "audio"
    assert combined_progress([("weighted", 1.0), ("noop", 0.0)]) == pytest.approx(3.0 / 3.1)
    with pytest.raises(ValueError, match="queue"):
        JobKindSpec(name="x", handler=spec.handler, queue="fast")


@pytest.mark.django_db
def test_cancel_door_capabilities_and_a_finished_job(scenario: Any) -> None:
    """Producers and engineers may cancel (they may create jobs); an artist or a viewer gets
    403, a non-member 404; a cancelled job's claim is skipped; a finished job answers 409."""
    job = jobs.job_create(actor=scenario.users["engineer"], project=scenario.project, kind="noop")
    for role in ("artist", "viewer"):
        assert scenario.client(role).post(f"/api/jobs/{job.pk}/cancel/").status_code == 403
    assert scenario.client("outsider").post(f"/api/jobs/{job.pk}/cancel/").status_code == 404
    response = scenario.client("producer").post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    event = Event.objects.get(type="job.cancelled", payload__job__id=job.pk)
    assert event.actor_id == scenario.users["producer"].pk
    assert jobs.job_claim(job.pk) is None  # its message, when it comes, does nothing
    done = jobs.job_create(actor=scenario.users["engineer"], project=scenario.project, kind="noop")
    assert runner.run_job(done.pk) == "done"
    conflict = scenario.client("engineer").post(f"/api/jobs/{done.pk}/cancel/")
    assert conflict.status_code == 409 and conflict.json()["code"] == "job_over"


@pytest.mark.django_db
def test_progress_after_a_cancel_raises_and_nothing_is_applied(scenario: Any) -> None:
    """The progress callback of a cancelled run raises JobCancelled; a run that returns anyway
    finishes nothing and its `apply` never runs."""
    job = jobs.job_create(actor=scenario.users["engineer"], project=scenario.project, kind="noop")
    claim = jobs.job_claim(job.pk)
    assert claim is not None
    report = jobs.ProgressReporter(claim)
    report(0.1)
    jobs.job_cancel(actor=scenario.users["engineer"], job=job)
    with pytest.raises(jobs.JobCancelled):
        report(0.2, force=True)
    applied: list[int] = []
    assert not jobs.job_finish(claim, result={}, apply=lambda j: applied.append(j.pk))
    assert applied == [] and _events("job.finished", job.pk) == 0


@pytest.mark.django_db
def test_the_analysis_result_commits_with_job_finished_and_its_event(
    scenario: Any, tmp_path: Path
) -> None:
    """The runner (in process here) sets the asset's analysis inside `job_finish`'s transaction
    and records `asset.analyzed` (with the loudness the player needs) just before
    `job.finished`; a run that lost its claim changes nothing on the asset."""
    asset = _asset(scenario, tmp_path)
    job = Job.objects.get(asset=asset, kind=JobKind.ANALYZE)
    assert runner.run_job(job.pk) == "done"
    asset.refresh_from_db()
    assert asset.analysis is not None and asset.peaks_name
    analyzed = Event.objects.get(type="asset.analyzed", payload__job=job.pk)
    finished = Event.objects.get(type="job.finished", payload__job__id=job.pk)
    assert analyzed.seq + 1 == finished.seq
    assert analyzed.payload["asset"]["has_analysis"] is True
    assert analyzed.payload["integrated_lufs"] == asset.analysis["integrated_lufs"]

    other = _asset(scenario, tmp_path, seed=11)
    second = Job.objects.get(asset=other, kind=JobKind.ANALYZE)
    claim = jobs.job_claim(second.pk)
    assert claim is not None
    outcome = kind_spec(JobKind.ANALYZE).handler(second, lambda f: None, tmp_path)
    Job.objects.filter(pk=second.pk).update(attempts=claim.attempt + 1)  # another run took it
    assert not jobs.job_finish(claim, result=outcome.result, apply=outcome.apply)
    other.refresh_from_db()
    assert other.analysis is None
    assert not Event.objects.filter(type="asset.analyzed", payload__job=second.pk).exists()


@pytest.mark.django_db
def test_a_released_job_goes_back_to_the_queue_with_an_event(scenario: Any) -> None:
    job = jobs.job_create(actor=scenario.users["engineer"], project=scenario.project, kind="noop")
    claim = jobs.job_claim(job.pk)
    assert claim is not None
    assert jobs.job_release(claim, reason="OperationalError: retrying")
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    event = Event.objects.get(type="job.requeued", payload__job__id=job.pk)
    assert event.payload["reason"] == "OperationalError: retrying"
