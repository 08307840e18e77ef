"""`make prod-smoke`: a user's journey through nginx over TLS against the production topology
(two Daphne, the audio and default workers, beat, PostgreSQL, Redis, S3), then the two-Daphne
case: an event written through one process reaches a socket on the other, and a socket that
reconnects to the other process with `?after=` replays exactly what it missed."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync
from websockets.typing import Origin

from scripts.prod.stack import ROOT, Stack
from tests.audio.audiofiles import wav_bytes
from tests.live.test_two_daphnes import _create_song, _frames, _socket
from tests.prod.conftest import FIGURES, PASSWORD, USERNAME, manage, tus_upload

pytestmark = [pytest.mark.prod, pytest.mark.timeout(300)]


class Steps:
    """Times each step of the journey into FIGURES."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, name: str) -> Any:
        steps = self

        class _Timer:
            def __enter__(self) -> None:
                self.began = time.monotonic()

            def __exit__(self, *exc: object) -> None:
                FIGURES[f"{steps.prefix}: {name}"] = round(time.monotonic() - self.began, 3)

        return _Timer()


async def _until(ws: Any, kind: str, timeout_s: float) -> dict[str, Any]:
    """The first frame of type `kind` on the socket."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {kind} within {timeout_s} s"
        frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        if frame.get("type") == kind:
            return frame


def test_journey_through_nginx(stack: Stack, browser: httpx.Client, tmp_path: Path) -> None:
    step = Steps("journey")
    with step("/readyz through nginx"):
        # The app keeps a well-formed X-Request-Id: a different one back means nginx set it.
        ready = browser.get("/readyz", headers={"X-Request-Id": "chosen-by-the-client"})
        assert ready.status_code == 200, ready.text
        assert all(check["ok"] for check in ready.json()["checks"].values())
        assert ready.json()["checks"]["workers"]["detail"] == "ok (2 answered)"
        assert re.fullmatch(r"[0-9a-f]{32}", ready.headers["X-Request-Id"])  # nginx's $request_id

    with step("check --deploy against the running services"):
        report = manage(stack, "check", "--deploy", "--database", "default")
        for durability in ("fsync", "synchronous_commit", "full_page_writes", "noeviction"):
            assert durability not in report, report

    with step("static file served by nginx"):
        css = sorted((ROOT / "static" / "css").glob("*.css"))[0]
        served = browser.get(f"/static/css/{css.name}")
        assert served.status_code == 200 and served.content == css.read_bytes()
        assert "X-Request-Id" not in served.headers  # nginx answered, not Daphne

    with step("create a project and a song (API, session + CSRF)"):
        project = browser.post("/api/projects/", json={"name": "Smoke"})
        assert project.status_code == 201, project.text
        project_id, seq = project.json()["id"], project.json()["last_event_seq"]
        song = browser.post("/api/songs/", json={"project": project_id, "title": "Through nginx"})
        assert song.status_code == 201, song.text

    body = wav_bytes(seconds=20, seed=17)
    cookie = f"sessionid={browser.cookies['sessionid']}"
    ws_url = stack.https_url.replace("https://", "wss://")

    async def live() -> tuple[dict[str, Any], int, float]:
        async with websockets.connect(
            f"{ws_url}/ws/projects/{project_id}/?after={seq}",
            additional_headers={"Cookie": cookie},
            origin=Origin(stack.https_url),
            ssl=stack.ssl_context(),
        ) as ws:
            hello = await _until(ws, "hello", 10)
            assert hello["last_seq"] >= seq + 1
            began = time.monotonic()
            done = await asyncio.to_thread(tus_upload, browser, project_id, body)
            uploaded_s = time.monotonic() - began
            asset_id = int(done.headers["Studio-Asset-Id"])
            began = time.monotonic()
            analyzed = await _until(ws, "asset.analyzed", 90)
            assert analyzed["payload"]["asset"]["id"] == asset_id
            FIGURES["journey: tus upload through nginx (3.4 MiB, 1 MiB chunks)"] = round(
                uploaded_s, 3
            )
            return analyzed, asset_id, round(time.monotonic() - began, 3)

    with step("websocket through nginx: upload, then the analysis arrives live"):
        _analyzed, asset_id, analysis_s = async_to_sync(live)()
    FIGURES["journey: upload complete -> asset.analyzed on the socket"] = analysis_s

    with step("play: Range read of the audio (from S3, through nginx)"):
        ranged = browser.get(
            f"/api/assets/{asset_id}/file/?disposition=inline",
            headers={"Range": "bytes=1000-65535"},
        )
        assert ranged.status_code == 206, ranged.text
        assert ranged.headers["Content-Range"] == f"bytes 1000-65535/{len(body)}"
        assert ranged.content == body[1000:65536]
        whole = browser.get(f"/api/assets/{asset_id}/file/?disposition=inline")
        assert whole.status_code == 200 and whole.content == body


def test_two_daphnes_events_cross_and_a_reconnect_to_the_other_replays_exactly(
    stack: Stack, browser: httpx.Client
) -> None:
    """The sockets are opened on each Daphne's own port, so which process holds them is
    known; the writes go straight to one process or the other."""
    step = Steps("two daphnes")
    token = browser.post("/api/auth/token/", json={"username": USERNAME, "password": PASSWORD})
    assert token.status_code == 200, token.text
    key = token.json()["token"]
    project_id = browser.post("/api/projects/", json={"name": "Two processes"}).json()["id"]
    # The seq after the project's own first events (its creation and first member).
    start = browser.get(f"/api/projects/{project_id}/").json()["last_event_seq"]
    # The live tests' helpers take a server with a port and a url: each Daphne of the stack.
    first = cast(Any, SimpleNamespace(port=stack.ports["web1"], url=stack.web_url("web1")))
    second = cast(Any, SimpleNamespace(port=stack.ports["web2"], url=stack.web_url("web2")))
    cookie = f"sessionid={browser.cookies['sessionid']}"

    async def body() -> None:
        with step("a write on web2 reaches a socket on web1"):
            on_first = await _socket(first, project_id, cookie, after=start)
            hello = await _frames(on_first, quiet_s=0.5)
            assert hello[0]["type"] == "hello" and hello[0]["last_seq"] == start
            await asyncio.to_thread(_create_song, second, key, project_id, "Served by web2")
            live = await _frames(on_first, quiet_s=0.5)
            assert [(f["seq"], f["type"]) for f in live] == [(start + 1, "song.created")]
            await on_first.close()

        await asyncio.to_thread(_create_song, first, key, project_id, "Missed on web1")
        await asyncio.to_thread(_create_song, second, key, project_id, "Missed on web2")

        with step("reconnect to web2 with ?after= replays exactly"):
            on_second = await _socket(second, project_id, cookie, after=start + 1)
            frames = await _frames(on_second, quiet_s=0.5)
            assert frames[0]["type"] == "hello" and frames[0]["last_seq"] == start + 3
            replayed = [(f["seq"], f["payload"]["song"]["title"]) for f in frames[1:]]
            assert replayed == [(start + 2, "Missed on web1"), (start + 3, "Missed on web2")]
            await on_second.close()

    async_to_sync(body)()
