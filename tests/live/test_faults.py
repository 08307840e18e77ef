"""W1/W2 at smoke scale (RELIABILITY.md section 3-W): a real Daphne, a private Redis server
(never the shared one on 6379), PostgreSQL, and `websockets` clients that keep their last seq
and resume with ?after=. Redis restarted (W1) or Daphne killed with SIGKILL (W2) mid-run:
every client must end with exactly seqs 1..N of its project, none lost, doubled, out of order
or foreign, and no write may be answered 5xx."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.conf import settings
from django.db import connection

from sessions import services
from studio.models import Project
from tests.conftest import make_scenario
from tests.live.conftest import make_mix, session_cookie

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


class RedisServer:
    """Our own redis-server on a free port, so restarting it disturbs nobody else."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Daphne:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = env
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "studio.asgi:application",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_port(self.port)

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


@pytest.fixture
def stack(transactional_db, tmp_path, settings):
    redis = RedisServer(tmp_path)
    redis.start()
    db = connection.settings_dict
    env = os.environ | {
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{db['NAME']}",
        "REDIS_URL": redis.url,
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
    }
    daphne = Daphne(env, tmp_path / "daphne.log")
    # The producer (this process) broadcasts to the same private Redis.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis.url, "max_connections": 1000}]},
        }
    }
    daphne.start()
    yield redis, daphne
    daphne.kill9()
    redis.stop()


@dataclass
class Client:
    project_id: int
    cookie: str
    seqs: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    connects: int = 0

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    async def run(self, port: int, stop: asyncio.Event) -> None:
        headers = {"Cookie": self.cookie, "Origin": f"http://127.0.0.1:{port}"}
        while not stop.is_set():
            url = f"ws://127.0.0.1:{port}/ws/projects/{self.project_id}/?after={self.last}"
            try:
                async with websockets.connect(
                    url, additional_headers=headers, open_timeout=5
                ) as ws:
                    self.connects += 1
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        self.take(json.loads(raw))
            except (TimeoutError, OSError, websockets.WebSocketException):
                await asyncio.sleep(0.2)

    def take(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "hello" and frame["project"] != self.project_id:
            self.errors.append(f"hello for project {frame['project']}")
        if frame["type"] == "resync":
            self.errors.append(f"unexpected resync {frame}")
        if "seq" not in frame:
            return
        if frame["seq"] != self.last + 1:
            self.errors.append(f"seq {frame['seq']} after {self.last}")
        project = next(iter(frame["payload"].values()), {})
        if isinstance(project, dict) and project.get("project", self.project_id) != self.project_id:
            self.errors.append(f"foreign event {frame}")
        self.seqs.append(frame["seq"])


def _setup(n_projects: int) -> list[dict[str, Any]]:
    from rest_framework.authtoken.models import Token

    out = []
    for i in range(n_projects):
        sc = make_scenario(f"P{i}", prefix=f"p{i}")
        from studio.services.songs import song_create

        song = song_create(actor=sc.users["producer"], project=sc.project, title="S")
        mix = make_mix(song, duration_s=600.0)
        token = Token.objects.create(user=sc.users["artist"])
        cookies = [
            session_cookie(sc.users[r]) for r in ("producer", "engineer", "artist", "viewer")
        ]
        out.append({"scenario": sc, "mix": mix, "token": token.key, "cookies": cookies})
    return out


def _post_comment(port: int, token: str, mix_id: int, i: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = json.dumps({"mix": mix_id, "body": f"note {i}", "start_s": i % 500})
        conn.request(
            "POST",
            "/api/comments/",
            body=body,
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        return conn.getresponse().status
    finally:
        conn.close()


def run_w(stack: Any, *, fault: str, n_projects: int, clients: int, events: int, rate: float):
    redis, daphne = stack
    projects = _setup(n_projects)
    fleet = [
        Client(p["scenario"].project.pk, p["cookies"][i % 4])
        for i in range(clients)
        for p in [projects[i % n_projects]]
    ]
    statuses: list[int] = []
    produced = threading.Event()

    def produce(p: dict[str, Any]) -> None:
        artist = p["scenario"].users["artist"]
        for i in range(events):
            if fault == "redis":
                statuses.append(_post_comment(daphne.port, p["token"], p["mix"].pk, i))
            else:  # Daphne is down part of the time: write through the services directly
                services.comment_add(actor=artist, mix=p["mix"], body=f"n{i}", start_s=i % 500)
            time.sleep(1 / rate)

    def fault_at_midpoint() -> None:
        time.sleep(events / rate / 2)
        if fault == "redis":
            redis.stop()
            time.sleep(2)
            redis.start()
        else:
            daphne.kill9()
            time.sleep(1)
            daphne.start()

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(daphne.port, stop)) for c in fleet]
        deadline = time.monotonic() + 15
        while any(c.connects == 0 for c in fleet) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        threads = [threading.Thread(target=produce, args=(p,)) for p in projects]
        threads.append(threading.Thread(target=fault_at_midpoint))
        for t in threads:
            t.start()
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        produced.set()
        finals = {
            p.pk: p.last_event_seq
            for p in await asyncio.to_thread(
                lambda: list(Project.objects.filter(pk__in=[c.project_id for c in fleet]))
            )
        }
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(c.last < finals[c.project_id] for c in fleet):
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*tasks)
        for c in fleet:
            c.final = finals[c.project_id]  # type: ignore[attr-defined]

    asyncio.run(main())
    connection.close()
    assert all(s < 500 for s in statuses), f"5xx during the fault: {sorted(set(statuses))}"
    if fault == "redis":
        assert statuses.count(201) == events * n_projects
    for c in fleet:
        assert not c.errors, c.errors[:5]
        assert c.seqs == list(range(1, c.final + 1)), (c.project_id, c.last, c.final)  # type: ignore[attr-defined]
        assert c.final >= events
    reconnected = sum(c.connects > 1 for c in fleet)
    return reconnected


def test_w1_redis_restart_smoke(stack):
    """W1: 50 clients on 2 projects, 100 events each through the API, Redis restarted."""
    run_w(stack, fault="redis", n_projects=2, clients=50, events=100, rate=20)


def test_w2_daphne_kill9_smoke(stack):
    """W2: the same with Daphne killed (SIGKILL) and restarted mid-run."""
    reconnected = run_w(stack, fault="daphne", n_projects=2, clients=50, events=100, rate=20)
    assert reconnected == 50  # every client really lost its socket and came back


@pytest.mark.slow
def test_w1_redis_restart_full(stack):
    run_w(stack, fault="redis", n_projects=3, clients=200, events=600, rate=5)


@pytest.mark.slow
def test_w2_daphne_kill9_full(stack):
    run_w(stack, fault="daphne", n_projects=3, clients=200, events=600, rate=5)
