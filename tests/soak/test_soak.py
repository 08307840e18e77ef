"""L3, the soak: many open project sockets and a steady mix of reads and writes against one real
Daphne (with a real worker), for minutes. It holds if nothing fails, no socket misses or repeats
an event (each one's frames are checked against the event log, seq by seq), Daphne's memory
does not grow past the bound after warm-up, and no job is left queued or running.

The traffic is the L1 mix, written here as plain HTTP clients so the soak needs nothing but the
suite's own dependencies: the board page, the song list, a mix's waveform peaks and its audio
with Range, comments posted on the mix, and now and then an upload through tus, whose analysis
job the worker runs.

Sizes: the smoke in `make test` (20 sockets, 10 s, memory reported) and the full soak in
`make reliability` (200 sockets, 30 minutes, memory growth under 10 %). `SOAK_SOCKETS` and
`SOAK_SECONDS` change them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
import pytest
import websockets
from rest_framework.authtoken.models import Token

from audio.models import Job, JobState
from studio.models import Project
from tests.audio.audiofiles import wav_bytes
from tests.audio.conftest import Daphne, Worker, wait_for
from tests.live.conftest import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(3600)]

HTTP_USERS = 8  # concurrent request loops, as L1's users
UPLOAD_EVERY_S = 5.0
MEMORY_GROWTH_MAX = 0.10


@dataclass
class Size:
    sockets: int
    seconds: float
    memory_bound: bool  # the smoke is too short for a growth figure to mean anything


SMOKE = Size(sockets=20, seconds=10, memory_bound=False)
FULL = Size(sockets=200, seconds=1800, memory_bound=True)


def _sized(default: Size) -> Size:
    return Size(
        sockets=int(os.environ.get("SOAK_SOCKETS", default.sockets)),
        seconds=float(os.environ.get("SOAK_SECONDS", default.seconds)),
        memory_bound=default.memory_bound,
    )


@dataclass
class Tally:
    """What the traffic saw: requests and failures per kind, and the slowest answers."""

    requests: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def count(self, kind: str, response: httpx.Response, expected: tuple[int, ...], t: float):
        self.requests[kind] = self.requests.get(kind, 0) + 1
        self.latencies.setdefault(kind, []).append(t)
        if response.status_code not in expected:
            self.failures.append(f"{kind}: {response.status_code} {response.text[:200]}")

    def p95_ms(self, kind: str) -> float:
        values = sorted(self.latencies.get(kind) or [0.0])
        return 1000 * values[min(len(values) - 1, int(0.95 * len(values)))]


@dataclass
class World:
    server: Daphne
    project: int
    mix: int
    asset: int
    token: str
    cookie: str


@pytest.fixture
def soak_world(scenario: Any) -> Iterator[World]:
    """A Daphne and a worker of their own, and a song whose mix has its audio and peaks."""
    worker = Worker("soak")
    # production's handshake timeout (docker/compose.yaml): with Daphne's default of 5 s, 156 of
    # 200 sockets opened at once on a loaded machine were dropped before their handshake ended
    server = Daphne("--websocket_connect_timeout", "30")
    try:
        token = Token.objects.create(user=scenario.users["engineer"]).key
        producer = Token.objects.create(user=scenario.users["producer"]).key
        song = httpx.post(
            f"{server.url}/api/songs/",
            json={"project": scenario.project.pk, "title": "Soak"},
            headers={"Authorization": f"Token {producer}"},
            timeout=30,
        ).json()
        asset = _upload(server.url, token, scenario.project.pk, wav_bytes(seconds=20, seed=1))
        wait_for(lambda: Job.objects.filter(asset_id=asset, state=JobState.DONE).exists(), 120)
        mix = httpx.post(
            f"{server.url}/api/mixes/",
            json={"song": song["id"], "asset": asset},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
        assert mix.status_code == 201, mix.text
        yield World(
            server=server,
            project=scenario.project.pk,
            mix=mix.json()["id"],
            asset=asset,
            token=token,
            cookie=session_cookie(scenario.users["viewer"]),
        )
    finally:
        server.stop()
        worker.stop()


def _upload(url: str, token: str, project: int, data: bytes, seed: int = 0) -> int:
    """A whole tus upload (one checksummed chunk); returns the new asset's id."""
    meta = ",".join(
        f"{k} {base64.b64encode(str(v).encode()).decode()}"
        for k, v in {"filename": f"soak-{seed}.wav", "project": project}.items()
    )
    head = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
    created = httpx.post(
        f"{url}/api/uploads/",
        headers={**head, "Upload-Length": str(len(data)), "Upload-Metadata": meta},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    sent = httpx.patch(
        httpx.URL(url).join(created.headers["Location"]),
        content=data,
        headers={
            **head,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": f"sha256 {digest}",
        },
        timeout=60,
    )
    assert sent.status_code == 204, sent.text
    return int(sent.headers["Studio-Asset-Id"])


async def _listen(world: World, after: int, stop: asyncio.Event) -> list[int]:
    """One browser's socket: the seqs of every durable event it was sent, in order."""
    host = f"127.0.0.1:{world.server.port}"
    seqs: list[int] = []
    async with websockets.connect(
        f"ws://{host}/ws/projects/{world.project}/?after={after}",
        additional_headers={"Cookie": world.cookie},
        origin=f"http://{host}",
        max_size=None,
        open_timeout=60,
    ) as ws:
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if frame.get("type") == "resync":
                seqs.append(-1)  # the socket gave up on replay: counted as a loss
            elif "seq" in frame and frame.get("type") not in ("hello", "presence"):
                seqs.append(int(frame["seq"]))
        # After the traffic stops, whatever is still in flight arrives before the check.
        quiet_until = time.monotonic() + 3
        while time.monotonic() < quiet_until:
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if "seq" in frame and frame.get("type") not in ("hello", "presence"):
                seqs.append(int(frame["seq"]))
    return seqs


async def _browse(world: World, tally: Tally, stop: asyncio.Event, user: int) -> None:
    """One L1 user: read the board, the songs, the peaks and a Range of the audio; comment."""
    api = {"Authorization": f"Token {world.token}"}
    async with httpx.AsyncClient(base_url=world.server.url, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            calls: list[tuple[str, str, dict[str, str], tuple[int, ...]]] = [
                ("board", f"/p/{world.project}/board/", {"Cookie": world.cookie}, (200,)),
                ("songs", f"/api/songs/?project={world.project}", api, (200,)),
                ("peaks", f"/api/assets/{world.asset}/peaks/?width=800", api, (200,)),
                (
                    "range",
                    f"/api/assets/{world.asset}/file/",
                    {**api, "Range": "bytes=4096-69631"},
                    (206,),
                ),
            ]
            for kind, path, headers, expected in calls:
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                tally.count(kind, response, expected, time.perf_counter() - started)
            if n % 3 == 0:
                started = time.perf_counter()
                response = await client.post(
                    "/api/comments/",
                    json={"mix": world.mix, "body": f"soak {user}.{n}", "start_s": n % 20},
                    headers=api,
                )
                tally.count("comment", response, (201,), time.perf_counter() - started)


async def _uploads(world: World, tally: Tally, stop: asyncio.Event) -> None:
    seed = 100
    while not stop.is_set():
        await asyncio.sleep(UPLOAD_EVERY_S)
        seed += 1
        try:
            await asyncio.to_thread(
                _upload, world.server.url, world.token, world.project, wav_bytes(seed=seed), seed
            )
            tally.requests["upload"] = tally.requests.get("upload", 0) + 1
        except AssertionError as error:
            tally.failures.append(f"upload: {error}")


def _last_seq(project: int) -> int:
    return Project.objects.get(pk=project).last_event_seq


def _soak(world: World, size: Size) -> None:
    daphne = psutil.Process(world.server.proc.pid)
    start_seq = _last_seq(world.project)
    tally = Tally()
    rss: dict[str, int] = {}

    async def body() -> list[list[int]]:
        stop, traffic_stop = asyncio.Event(), asyncio.Event()
        sockets = [
            asyncio.create_task(_listen(world, start_seq, stop)) for _ in range(size.sockets)
        ]
        await asyncio.sleep(2)
        traffic = [
            asyncio.create_task(_browse(world, tally, traffic_stop, user))
            for user in range(HTTP_USERS)
        ]
        traffic.append(asyncio.create_task(_uploads(world, tally, traffic_stop)))
        warm_up = min(120.0, size.seconds / 10)
        await asyncio.sleep(warm_up)
        ended = [task for task in sockets if task.done()]
        if ended:  # a socket that ended before the stop failed: say so now, not at the end
            stop.set()
            traffic_stop.set()
            await asyncio.gather(*traffic)
            ended[0].result()
        rss["warm"] = daphne.memory_info().rss
        await asyncio.sleep(size.seconds - warm_up)
        traffic_stop.set()
        await asyncio.gather(*traffic)
        rss["end"] = daphne.memory_info().rss
        stop.set()
        return await asyncio.gather(*sockets)

    seen = asyncio.run(body())
    wait_for(
        lambda: not Job.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).exists(),
        120,
    )
    last_seq = _last_seq(world.project)
    expected = list(range(start_seq + 1, last_seq + 1))
    growth = rss["end"] / rss["warm"] - 1
    print(
        f"\nL3 soak: {size.sockets} sockets, {size.seconds:.0f} s, "
        f"{sum(tally.requests.values())} requests {tally.requests}, "
        f"{len(expected)} events to every socket, Daphne RSS {rss['warm'] / 2**20:.0f} -> "
        f"{rss['end'] / 2**20:.0f} MiB ({100 * growth:+.1f} %), p95 ms "
        + ", ".join(f"{k} {tally.p95_ms(k):.0f}" for k in tally.latencies)
    )
    assert tally.failures == [], tally.failures[:5]
    assert tally.requests.get("comment", 0) > 0 and tally.requests.get("upload", 0) > 0
    lost = [i for i, seqs in enumerate(seen) if seqs != expected]
    assert not lost, f"{len(lost)} sockets missed or repeated events: {seen[lost[0]][:20]}"
    assert not Job.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).exists()
    if size.memory_bound:
        assert growth < MEMORY_GROWTH_MAX, f"Daphne grew {100 * growth:.1f} % after warm-up"


def test_l3_soak_smoke(soak_world: World) -> None:
    _soak(soak_world, _sized(SMOKE))


@pytest.mark.slow
def test_l3_soak(soak_world: World) -> None:
    _soak(soak_world, _sized(FULL))
