"""`make prod-smoke`: a user's journey through nginx over TLS against the production topology
(two Daphne, the audio and default workers, beat, PostgreSQL, Redis, S3), then the two-Daphne
case: an event written through one process reaches a socket on the other, and a socket that
reconnects to the other process with `?after=` replays exactly what it missed."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urljoin

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync
from websockets.typing import Origin

from scripts.prod.stack import ROOT, VENV_BIN, Stack
from tests.audio.audiofiles import wav_bytes
from tests.live.test_two_daphnes import _create_song, _frames, _socket
from tests.prod.conftest import FIGURES

pytestmark = [pytest.mark.prod, pytest.mark.timeout(300)]

USERNAME, PASSWORD = "smoke-producer", "a long smoke passphrase"
MIB = 1024 * 1024


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


def _manage(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def user(stack: Stack) -> str:
    _manage(
        stack,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r})",
    )
    return USERNAME


@pytest.fixture(scope="module")
def browser(stack: Stack, user: str) -> Iterator[httpx.Client]:
    """An https client that trusts only the smoke's certificate, signed in through the login
    page as a browser is (CSRF cookie, Referer, session cookie)."""
    with httpx.Client(base_url=stack.https_url, verify=stack.ssl_context(), timeout=60) as client:
        with Steps("journey")("sign in through the login page"):
            page = client.get("/login/")
            assert page.status_code == 200
            signed_in = client.post(
                "/login/",
                data={
                    "username": user,
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
                headers={"Referer": f"{stack.https_url}/login/"},
            )
            assert signed_in.status_code == 302, signed_in.text[:500]
            assert "sessionid" in client.cookies
        client.headers.update(
            {"X-CSRFToken": client.cookies["csrftoken"], "Referer": f"{stack.https_url}/"}
        )
        yield client


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _tus_upload(client: httpx.Client, project_id: int, body: bytes) -> httpx.Response:
    """tus 1.0 through nginx: create, a chunk too big for nginx (refused, nothing stored),
    then 1 MiB chunks; returns the completing PATCH's response."""
    tus = {"Tus-Resumable": "1.0.0"}
    created = client.post(
        "/api/uploads/",
        headers={
            **tus,
            "Upload-Length": str(len(body)),
            "Upload-Metadata": f"filename {_b64('smoke.wav')},project {_b64(str(project_id))}",
        },
    )
    assert created.status_code == 201, created.text
    location = urljoin(str(client.base_url), created.headers["Location"])
    assert location.startswith("https://"), location  # the app knows it is behind TLS
    patch = {**tus, "Content-Type": "application/offset+octet-stream"}

    too_big = client.patch(
        location, content=b"\0" * (10 * MIB), headers={**patch, "Upload-Offset": "0"}
    )
    assert too_big.status_code == 413  # nginx's client_max_body_size, before Daphne
    assert client.head(location, headers=tus).headers["Upload-Offset"] == "0"

    offset, response = 0, None
    while offset < len(body):
        chunk = body[offset : offset + MIB]
        response = client.patch(
            location, content=chunk, headers={**patch, "Upload-Offset": str(offset)}
        )
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    assert response is not None
    return response


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
        ready = browser.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert all(check["ok"] for check in ready.json()["checks"].values())
        assert ready.json()["checks"]["workers"]["detail"] == "ok (2 answered)"
        assert len(ready.headers["X-Request-Id"]) == 32  # nginx's $request_id, passed through

    with step("check --deploy against the running services"):
        report = _manage(stack, "check", "--deploy", "--database", "default")
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
            done = await asyncio.to_thread(_tus_upload, browser, project_id, body)
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
