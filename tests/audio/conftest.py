"""Fixtures for the audio room: a real Celery worker (prefork, on the Redis broker, pointed at
the pytest-django test database) and a real Daphne server, both as subprocesses we start and
stop ourselves, plus small helpers for uploads over the tus protocol."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.audio import jobkinds  # noqa: F401  (registers the test-only kinds in this process)
from tests.launch import daphne_command, free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(interval)


def _test_db_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    return (
        f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        f"/{s['NAME']}"
    )


def service_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": _test_db_url(),
            "REDIS_URL": settings.REDIS_URL,
            "STUDIO_VAR_DIR": str(Path(settings.VAR_DIR).resolve()),
            "MEDIA_ROOT": str(Path(settings.MEDIA_ROOT).resolve()),
            "UPLOAD_DIR": str(Path(settings.UPLOAD_DIR).resolve()),
            "SECRET_KEY": settings.SECRET_KEY,
            "JOB_LEASE_SECONDS": "5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


# Every test worker consumes both queues and registers the test-only job kinds.
WORKER_QUEUES = "default,audio"
TEST_JOB_KINDS = "tests.audio.jobkinds"


class Worker:
    """A `celery -A studio worker` subprocess in its own process group."""

    def __init__(self, name: str, concurrency: int = 2, **env: str) -> None:
        self.name = name
        log_dir = Path(settings.VAR_DIR) / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"worker-{name}-{os.getpid()}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "studio",
                "worker",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-l",
                "info",
                "-n",
                f"{name}-{os.getpid()}@%h",
                "-Q",
                WORKER_QUEUES,
                "-I",
                TEST_JOB_KINDS,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=service_env(**env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: "ready." in self.log_path.read_text() or self.proc.poll() is not None, 60)
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker {name} died:\n{self.log_path.read_text()[-3000:]}")

    def children(self) -> list[int]:
        import psutil

        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


def _flush_broker() -> None:
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def session_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Worker]:
    """One real worker for the session (prefork, 2 children, 5 s lease, test kinds)."""
    _flush_broker()
    worker = Worker("audio")
    yield worker
    worker.stop()


@pytest.fixture
def no_job_left_running(transactional_db: Any) -> Iterator[None]:
    """After the test, no job of it is left to run: queued ones are cancelled, running ones are
    cancelled and waited for (their work folder goes when the handler stops). Set up after
    `transactional_db`, so this runs before its flush: a job still writing (the analysis of a
    long mix, a cancelled master's last pass, a review link's watermark picked up by the
    session's worker) deadlocked with the flush's TRUNCATE and left the next test's worker busy."""
    yield
    from audio.jobs.workdir import workdir_path
    from audio.models import Job, JobState

    active = Job.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING])
    running = list(active.filter(state=JobState.RUNNING).values_list("pk", flat=True))
    active.update(state=JobState.CANCELLED)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(workdir_path(pk).exists() for pk in running):
        time.sleep(0.1)


@pytest.fixture
def celery_worker_proc(session_worker: Worker, no_job_left_running: None) -> Iterator[Worker]:
    """The session's worker, for one test, leaving no job of the test running."""
    yield session_worker


@pytest.fixture
def make_worker(django_db_setup: Any) -> Iterator[Callable[..., Worker]]:
    """A dedicated worker with its own settings (time limits, ...), stopped after the test."""
    started: list[Worker] = []

    def make(name: str, **kwargs: Any) -> Worker:
        worker = Worker(name, **kwargs)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


class Daphne:
    def __init__(self, *options: str, **env: str) -> None:
        """A Daphne on a free port; `options` go on its command line (compose's own, say)."""
        self.port = free_port()
        log_dir = Path(settings.VAR_DIR) / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"daphne-{os.getpid()}-{self.port}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            daphne_command(self.port, *options),
            cwd=ROOT,
            env=service_env(**env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def up() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log_path.read_text()[-3000:])
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for(up, 60)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="session")
def daphne_server(django_db_setup: Any) -> Iterator[Daphne]:
    server = Daphne()
    yield server
    server.stop()


# --- tus helpers (Django test client) --------------------------------------------------------


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def metadata(**values: Any) -> str:
    return ",".join(f"{k} {b64(str(v))}" for k, v in values.items())


TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def tus_create(client: Any, length: int, **meta: Any) -> Any:
    return client.post(
        "/api/uploads/",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata(**meta),
        **TUS,
    )


def tus_patch(
    client: Any,
    url: str,
    offset: int,
    data: bytes,
    checksum: str | None = None,
    content_type: str = "application/offset+octet-stream",
) -> Any:
    extra = dict(TUS)
    extra["HTTP_UPLOAD_OFFSET"] = str(offset)
    if checksum == "auto":
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        extra["HTTP_UPLOAD_CHECKSUM"] = f"sha256 {digest}"
    elif checksum:
        extra["HTTP_UPLOAD_CHECKSUM"] = checksum
    return client.generic("PATCH", url, data, content_type=content_type, **extra)


def upload_bytes(client: Any, data: bytes, *, chunk: int = 8 * 1024 * 1024, **meta: Any) -> Any:
    """Create and send a whole upload; returns the last response."""
    created = tus_create(client, len(data), **meta)
    assert created.status_code == 201, created.content
    url = created["Location"]
    offset = 0
    response = created
    while offset < len(data):
        part = data[offset : offset + chunk]
        response = tus_patch(client, url, offset, part, checksum="auto")
        if response.status_code != 204:
            return response
        offset += len(part)
    return response


@pytest.fixture
def tus_client(scenario: Any) -> Any:
    return scenario.client("engineer")


def python() -> str:
    return sys.executable
