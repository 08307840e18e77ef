"""Jobs under infrastructure faults, with a real Celery worker (R5, R6, R8 in docs/reliability.md).

Each test runs its own worker on a private Redis broker (a `redis-server` on a free port that
the test starts, stops and restarts; the shared Redis is never touched), against the
pytest-django test database. R6 breaks only the worker's own database sessions (found by their
application_name), never the shared PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from audio import storage
from audio.models import Job, JobState
from audio.services.jobs import job_create
from eventlog.models import Event
from tests.audio.conftest import Worker, _test_db_url, wait_for
from tests.audio.jobkinds import sleep_output_bytes
from tests.launch import free_port

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.audio.urls"),
    pytest.mark.timeout(300),
]

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


# --- helpers --------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own on a free port: no RDB snapshots; AOF `everysec` or none."""

    def __init__(self, directory: Path, *, aof: bool = False) -> None:
        self.port = free_port()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.aof = aof
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else []
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *(persistence or ["--appendonly", "no"]),
                "--dir",
                str(self.dir),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=open(self.dir / "redis.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def up() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(self.client().ping())
            return False

        wait_for(up, 15, 0.05)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def shutdown_nosave(self) -> None:
        with contextlib.suppress(redis.ConnectionError):
            self.client().shutdown(nosave=True)
        assert self.proc is not None
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def _broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (the enqueuing side) at `url`, then back."""
    from studio.celery import app

    def reset_pools() -> None:  # kombu keeps a pool per URL: drop our references only
        app._pool = None
        with contextlib.suppress(AttributeError, KeyError):
            app.__dict__["amqp"]._producer_pool = None

    old = app.conf.broker_url
    app.conf.broker_url = url
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url = old
        reset_pools()


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Callable[..., PrivateRedis]]:
    """make(aof=False) -> a private Redis this process enqueues to; stopped after the test."""
    servers: list[PrivateRedis] = []
    stack = contextlib.ExitStack()

    def make(aof: bool = False) -> PrivateRedis:
        server = PrivateRedis(tmp_path / f"redis-{len(servers)}", aof=aof)
        servers.append(server)
        stack.enter_context(_broker(server.url))
        return server

    yield make
    stack.close()
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def own_media_root(settings: Any) -> Iterator[Path]:
    """A fresh MEDIA_ROOT per test (the worker gets it too, via service_env): job ids restart
    with each test database, so outputs left in the shared var dir by an earlier run would
    collide with this run's `jobs/<id>/`. On the same disk as var/, so fsync costs the same."""
    root = (Path(settings.VAR_DIR) / "media-faults" / uuid.uuid4().hex).resolve()
    root.mkdir(parents=True)
    settings.MEDIA_ROOT = root
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fault_worker(django_db_setup: Any) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def make(name: str, **kwargs: Any) -> Worker:
        worker = Worker(name, **kwargs)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


def _terminal(job_ids: list[int]) -> bool:
    return Job.objects.filter(
        pk__in=job_ids, state__in=[JobState.DONE, JobState.FAILED]
    ).count() == len(job_ids)


def _events(kind: str, job_id: int) -> int:
    return Event.objects.filter(type=kind, payload__job__id=job_id).count()


def _sleep_jobs(scenario: Any, n: int, **params: Any) -> list[int]:
    actor = scenario.users["engineer"]
    return [
        job_create(actor=actor, project=scenario.project, kind="sleep", params=params).pk
        for _ in range(n)
    ]


def _queue_length(server: PrivateRedis) -> int:
    return int(server.client().llen("default"))  # the `sleep` kind's queue


def _assert_done_once(job_ids: list[int]) -> list[Job]:
    jobs = list(Job.objects.filter(pk__in=job_ids).order_by("pk"))
    assert [j.state for j in jobs].count(JobState.DONE) == len(job_ids), [
        (j.pk, j.state, j.error) for j in jobs
    ]
    for job in jobs:
        assert _events("job.finished", job.pk) == 1, job.pk
        assert _events("job.failed", job.pk) == 0, job.pk
    assert not Job.objects.filter(pk__in=job_ids, state=JobState.RUNNING).exists()
    return jobs


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- R5: the broker Redis restarts ----------------------------------------------------------


def _r5(
    scenario: Any,
    private_broker: Callable[..., PrivateRedis],
    fault_worker: Callable[..., Worker],
    *,
    n: int,
    aof: bool,
    down_s: float,
) -> None:
    server = private_broker(aof=aof)
    worker = fault_worker("r5", concurrency=2, REDIS_URL=server.url)
    job_ids = _sleep_jobs(scenario, n, sleep=0.4)
    wait_for(lambda: Job.objects.filter(pk__in=job_ids, state=JobState.RUNNING).exists(), 20)
    queued_messages = _queue_length(server)
    assert queued_messages >= n // 2, queued_messages  # the restart really has jobs queued
    t0 = time.monotonic()
    server.shutdown_nosave()
    time.sleep(down_s)
    server.start()
    left_after_restart = _queue_length(server)
    wait_for(lambda: _terminal(job_ids), 60 + n, 0.2)
    recovered_s = time.monotonic() - t0
    jobs = _assert_done_once(job_ids)
    # 0 duplicate outputs: every job ran once, its one output is the clean run's
    for job in jobs:
        assert _events("job.started", job.pk) == 1 and job.attempts == 1, (job.pk, job.attempts)
        path = storage.job_output_path(job.pk, "sleep.json")
        assert _sha(path) == job.result["sha256"]
        assert path.read_bytes() == storage.json_bytes({"job": job.pk})
    if not aof:
        assert left_after_restart == 0  # every queued message was lost
        assert "broker connection restored" in worker.log_path.read_text()
    print(
        f"R5 ({'aof everysec' if aof else 'no persistence'}): {n} jobs, {queued_messages} "
        f"messages queued at shutdown, {left_after_restart} after restart; all done "
        f"{recovered_s:.1f} s after the shutdown; deliveries {sum(j.deliveries for j in jobs)}"
    )


def test_r5_smoke_broker_restart_without_persistence(
    scenario: Any, private_broker: Callable[..., PrivateRedis], fault_worker: Callable[..., Worker]
) -> None:
    """R5 (smoke): 10 jobs, `shutdown nosave` of a broker without persistence while most are
    queued, back after 3 s with nothing in it. The worker reconnects and sends the stale-job
    sweep, which re-sends the queued rows: 10/10 done, each run once (one job.started, one
    job.finished, one output equal to the clean run's)."""
    _r5(scenario, private_broker, fault_worker, n=10, aof=False, down_s=3)


@pytest.mark.slow
@pytest.mark.parametrize("aof", [True, False], ids=["aof-everysec", "no-persistence"])
def test_r5_broker_restart(
    scenario: Any,
    private_broker: Callable[..., PrivateRedis],
    fault_worker: Callable[..., Worker],
    aof: bool,
) -> None:
    """R5: 50 jobs queued, broker `shutdown nosave`, back after 5 s, with AOF and without."""
    _r5(scenario, private_broker, fault_worker, n=50, aof=aof, down_s=5)


# --- R6: the database connection breaks -----------------------------------------------------


def _r6(
    scenario: Any,
    private_broker: Callable[..., PrivateRedis],
    fault_worker: Callable[..., Worker],
    *,
    n: int,
    rounds: int,
) -> None:
    server = private_broker()
    app_name = f"studio-r6-worker-{os.getpid()}"
    worker = fault_worker(
        "r6",
        concurrency=2,
        REDIS_URL=server.url,
        DATABASE_URL=f"{_test_db_url()}?application_name={app_name}",
    )
    db_name = connection.settings_dict["NAME"]
    job_ids = _sleep_jobs(scenario, n, sleep=1.0)
    terminated: list[int] = []
    stop = threading.Event()

    def terminator() -> None:
        url = _test_db_url()
        with psycopg.connect(url, autocommit=True, application_name="r6-terminator") as conn:
            while len(terminated) < rounds and not stop.wait(random.uniform(0.4, 0.9)):
                row = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name = %s AND pid <> pg_backend_pid()",
                    [db_name, app_name],
                ).fetchone()
                if row and row[0]:
                    terminated.append(int(row[0]))

    thread = threading.Thread(target=terminator, daemon=True)
    thread.start()
    try:
        wait_for(lambda: _terminal(job_ids), 60 + 2 * n, 0.3)
    finally:
        stop.set()
        thread.join()
    jobs = _assert_done_once(job_ids)
    assert not Job.objects.filter(pk__in=job_ids, state=JobState.FAILED).exists()
    runs = {j.pk: _events("job.started", j.pk) for j in jobs}
    assert all(r - 1 <= 3 for r in runs.values()), runs  # at most 3 retries per job
    log = worker.log_path.read_text()
    retries = log.count("Retry in")
    assert terminated, "no worker backend was terminated"
    assert retries >= 1, log[-3000:]
    for job in jobs:
        assert _sha(storage.job_output_path(job.pk, "sleep.json")) == job.result["sha256"]
    print(
        f"R6: {n} jobs, {len(terminated)} rounds terminated {sum(terminated)} worker backends; "
        f"{retries} task retries; runs per job {sorted(runs.values())}; 0 failed"
    )


def test_r6_smoke_database_backends_terminated(
    scenario: Any, private_broker: Callable[..., PrivateRedis], fault_worker: Callable[..., Worker]
) -> None:
    """R6 (smoke): the worker's database sessions are terminated (pg_terminate_backend, by
    application_name) 4 times while 10 jobs run: the tasks hit OperationalError, hand the job
    back, retry with backoff on a fresh connection: 10/10 done, 0 failed, one job.finished
    each, at most 3 retries per job."""
    _r6(scenario, private_broker, fault_worker, n=10, rounds=4)


@pytest.mark.slow
def test_r6_database_backends_terminated(
    scenario: Any, private_broker: Callable[..., PrivateRedis], fault_worker: Callable[..., Worker]
) -> None:
    """R6: the same with 50 jobs and 15 rounds of terminated backends."""
    _r6(scenario, private_broker, fault_worker, n=50, rounds=15)


# --- R8: crash-consistency of outputs -------------------------------------------------------

R8_OUTPUT_BYTES = 32 * 1024 * 1024  # about 40 ms of write + fsync here: room to land a kill


def _r8(
    scenario: Any,
    private_broker: Callable[..., PrivateRedis],
    fault_worker: Callable[..., Worker],
    *,
    n: int,
    kills: int,
) -> None:
    from django.core.management import call_command

    server = private_broker()
    worker = fault_worker("r8", concurrency=2, REDIS_URL=server.url)
    job_ids = _sleep_jobs(scenario, n, sleep=0.3, output_bytes=R8_OUTPUT_BYTES)
    expected = {
        j: hashlib.sha256(sleep_output_bytes(j, R8_OUTPUT_BYTES)).hexdigest() for j in job_ids
    }
    final = {j: storage.job_output_path(j, "sleep.bin") for j in job_ids}
    temp = {j: p.with_name(p.name + ".tmp") for j, p in final.items()}
    done_killing = threading.Event()
    stop = threading.Event()
    killed: list[tuple[int, str]] = []  # (job, "mid-write" | "random")
    partial_left: list[int] = []  # kills that left a partial file under the temp name
    bad_final: list[tuple[int, int]] = []  # a final-name file seen with the wrong size
    size_checks = [0]
    killed_pids: set[int] = set()
    last_temp: dict[int, tuple[int, int, int]] = {}
    unrenamed_left: list[int] = []  # kills after the write, before the rename

    def _temp_stat(job_id: int) -> tuple[int, int, int] | None:
        try:
            st = temp[job_id].stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    rng = random.Random(8)

    def running_owner() -> tuple[int, int] | None:
        children = set(worker.children()) - killed_pids  # a killed child lingers as a zombie
        rows = Job.objects.filter(pk__in=job_ids, state=JobState.RUNNING).values_list(
            "pk", "lease_owner"
        )
        candidates = [
            (pk, int(owner.rpartition(":")[2]))
            for pk, owner in rows
            if owner.rpartition(":")[2].isdigit() and int(owner.rpartition(":")[2]) in children
        ]
        return rng.choice(candidates) if candidates else None

    def killer() -> None:
        try:
            while len(killed) < kills and not stop.is_set():
                target = running_owner()
                if target is None:
                    if _terminal(job_ids):
                        return
                    time.sleep(0.01)
                    continue
                job_id, pid = target
                mode = "mid-write" if len(killed) % 2 == 0 else "random"
                if mode == "mid-write":  # wait for its temp file, then a random point in the write
                    deadline = time.monotonic() + 2
                    while _temp_stat(job_id) in (None, last_temp.get(job_id)):
                        if time.monotonic() > deadline or final[job_id].exists():
                            break  # missed: this run already renamed its output
                        time.sleep(0.001)
                    time.sleep(rng.uniform(0, 0.03))
                else:
                    time.sleep(rng.uniform(0, 0.25))
                if pid not in worker.children() or pid in killed_pids:
                    continue
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append((job_id, mode))
                    killed_pids.add(pid)
                    seen = _temp_stat(job_id)
                    # a temp file this run wrote (not one an earlier killed run left)
                    if seen is not None and seen != last_temp.get(job_id):
                        if seen[2] < R8_OUTPUT_BYTES:
                            partial_left.append(job_id)
                        else:
                            unrenamed_left.append(job_id)
                        last_temp[job_id] = seen
        finally:
            connection.close()  # this thread's own database session
            done_killing.set()

    def watcher() -> None:
        """Partial bytes never show under the final name: its size is always the whole."""
        while not stop.is_set():
            for job_id, path in final.items():
                with contextlib.suppress(FileNotFoundError):
                    size = path.stat().st_size
                    size_checks[0] += 1
                    if size != R8_OUTPUT_BYTES:
                        bad_final.append((job_id, size))
            time.sleep(0.005)

    threads = [threading.Thread(target=killer, daemon=True)]
    threads.append(threading.Thread(target=watcher, daemon=True))
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: done_killing.is_set() and _terminal(job_ids), 60 + 3 * n, 0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not bad_final, bad_final
    jobs = {j.pk: j for j in Job.objects.filter(pk__in=job_ids)}
    done = [j for j in jobs.values() if j.state == JobState.DONE]
    failed = [j for j in jobs.values() if j.state == JobState.FAILED]
    for job in failed:  # only a job whose worker died 3 times may fail, and says so
        assert job.attempts == 3 and job.error_code == "job.worker_lost", (job.pk, job.error)
    for job in done:
        assert job.result["sha256"] == expected[job.pk]
        assert _events("job.finished", job.pk) == 1
    for job_id, path in final.items():  # every file under the final name is whole
        if path.exists():
            assert _sha(path) == expected[job_id], job_id
        else:
            assert jobs[job_id].state == JobState.FAILED, job_id
    leftover_before = sum(1 for p in temp.values() if p.exists())
    call_command("requeue_stale_jobs", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert not any(p.exists() for p in temp.values())
    assert not list((Path(settings.MEDIA_ROOT) / "jobs").rglob("*.tmp"))
    assert not Job.objects.filter(pk__in=job_ids, state=JobState.RUNNING).exists()
    mid = sum(1 for _, mode in killed if mode == "mid-write")
    print(
        f"R8: {n} jobs, {len(killed)} kills ({mid} aimed mid-write; {len(partial_left)} left a "
        f"partial temp file, {len(unrenamed_left)} a whole one not yet renamed); "
        f"{len(done)} done, {len(failed)} failed after 3 lost workers; "
        f"{size_checks[0]} final-name size checks, 0 partial; {leftover_before} temp files "
        f"before the sweep, 0 after"
    )
    assert len(killed) >= kills
    assert partial_left or unrenamed_left, "no kill landed between the write and the rename"


def test_r8_smoke_outputs_whole_under_kills(
    scenario: Any, private_broker: Callable[..., PrivateRedis], fault_worker: Callable[..., Worker]
) -> None:
    """R8 (smoke): 20 SIGKILLs of the pool child running a job (half aimed inside its 32 MiB
    output write, half at random points): every file under its final name is whole (SHA-256
    equal to the job's recorded result and to the clean-run bytes), partial bytes only ever
    under `*.tmp`, and no temp file left after the sweep."""
    _r8(scenario, private_broker, fault_worker, n=24, kills=20)


@pytest.mark.slow
def test_r8_outputs_whole_under_kills(
    scenario: Any, private_broker: Callable[..., PrivateRedis], fault_worker: Callable[..., Worker]
) -> None:
    """R8: the same with 100 kills."""
    _r8(scenario, private_broker, fault_worker, n=150, kills=100)


def test_sweep_removes_leftovers_of_jobs_that_are_over_only(scenario: Any) -> None:
    """The sweep removes `jobs/<id>/*.tmp` and the work folders of done, failed and cancelled
    jobs (a run killed mid-write whose job is over never comes back to clean them) and of jobs
    that have no row; it leaves those of queued and running jobs, and every final output."""
    from django.core.management import call_command
    from django.db import transaction

    from audio.jobs.workdir import workdir_path

    with transaction.atomic():
        ids = _sleep_jobs(scenario, 5)
        connection.run_on_commit.clear()  # no worker may run them: only the sweep looks
    states = [JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.RUNNING, JobState.QUEUED]
    for job_id, state in zip(ids, states, strict=True):
        Job.objects.filter(pk=job_id).update(state=state)
    temps = [storage.job_output_path(j, "sleep.bin.tmp") for j in ids]
    for path in temps:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    finals = [storage.job_output_path(j, "sleep.bin") for j in ids]
    for path in finals:
        path.write_bytes(b"whole")
    orphan = max(ids) + 1000
    folders = [workdir_path(j) for j in [*ids, orphan]]
    for path in folders:
        path.mkdir(parents=True, exist_ok=True)
        (path / "scratch.wav").write_bytes(b"half")
    out = StringIO()
    call_command("requeue_stale_jobs", "--queued-after", "3600", stdout=out)
    assert "and 7 job temp files" in out.getvalue(), out.getvalue()
    assert [p.exists() for p in temps] == [False, False, False, True, True]
    assert [p.exists() for p in folders] == [False, False, False, True, True, False]
    assert all(p.exists() for p in finals)
