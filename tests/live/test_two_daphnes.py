"""Scale-out, proven on two real Daphne processes sharing PostgreSQL and Redis: a write served by
one process reaches a socket held by the other (the channel layer crosses processes), and a
browser that reconnects to the other process with `?after=` gets exactly what it missed, once,
in order (the event log is the truth, whichever process serves the socket)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync
from rest_framework.authtoken.models import Token

from eventlog.models import Event
from tests.audio.conftest import Daphne
from tests.live.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_daphnes() -> Any:
    first, second = Daphne(), Daphne()
    yield first, second
    first.stop()
    second.stop()


async def _socket(server: Daphne, project_id: int, cookie: str, after: int) -> Any:
    host = f"127.0.0.1:{server.port}"
    return await websockets.connect(
        f"ws://{host}/ws/projects/{project_id}/?after={after}",
        additional_headers={"Cookie": cookie},
        origin=f"http://{host}",
    )


async def _frames(ws: Any, quiet_s: float = 1.0) -> list[dict[str, Any]]:
    """Every frame until the socket is quiet for `quiet_s` (presence frames left out)."""
    out = []
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), quiet_s))
        except TimeoutError:
            return out
        if frame.get("type") != "presence":
            out.append(frame)


def _create_song(server: Daphne, token: str, project_id: int, title: str) -> None:
    response = httpx.post(
        f"{server.url}/api/songs/",
        json={"project": project_id, "title": title},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def test_events_cross_processes_and_a_reconnect_to_the_other_replays_exactly(scenario, two_daphnes):
    first, second = two_daphnes
    project = scenario.project.pk
    token = Token.objects.create(user=scenario.users["producer"]).key
    cookie = session_cookie(scenario.users["viewer"])
    start = Event.objects.filter(project_id=project).count()

    async def body() -> None:
        on_first = await _socket(first, project, cookie, after=start)
        hello = await _frames(on_first)
        assert hello[0]["type"] == "hello" and hello[0]["last_seq"] == start
        # A write served by the second process reaches the socket on the first.
        await asyncio.to_thread(_create_song, second, token, project, "Served by two")
        live = await _frames(on_first)
        assert [(f["seq"], f["type"]) for f in live] == [(start + 1, "song.created")]
        assert live[0]["payload"]["song"]["title"] == "Served by two"
        await on_first.close()

        # While the browser is away, two more writes, one through each process.
        await asyncio.to_thread(_create_song, first, token, project, "Missed on one")
        await asyncio.to_thread(_create_song, second, token, project, "Missed on two")

        # It reconnects to the other process: exactly what it missed, once, in order.
        on_second = await _socket(second, project, cookie, after=start + 1)
        frames = await _frames(on_second)
        assert frames[0]["type"] == "hello" and frames[0]["last_seq"] == start + 3
        replayed = [(f["seq"], f["payload"]["song"]["title"]) for f in frames[1:]]
        assert replayed == [(start + 2, "Missed on one"), (start + 3, "Missed on two")]
        await on_second.close()

    async_to_sync(body)()
