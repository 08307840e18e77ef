"""The websocket consumer through the whole ASGI stack (origin check, session auth, routing)
with the real Redis channel layer: replay, live order, resync (W7), removal (W5), refusals
(Z4), the catch-up timer, presence and job progress."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from eventlog import broadcast
from sessions import services
from studio.asgi import application
from studio.services.projects import member_remove
from studio.services.songs import song_create, song_update
from tests.live.conftest import make_mix, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://testserver"


def _comm(project_id: int, user: Any | None, query: str = "", origin: bytes = ORIGIN) -> Any:
    headers = [(b"host", b"testserver")] + ([(b"origin", origin)] if origin else [])
    if user is not None:
        headers.append((b"cookie", session_cookie(user).encode()))
    path = f"/ws/projects/{project_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


async def _frames(
    comm: Any, timeout: float = 0.5, *, presence: bool = False
) -> list[dict[str, Any]]:
    """Every frame that arrives until the socket is quiet for `timeout` seconds (presence
    frames only when asked for)."""
    out = []
    # receive_nothing() waits without cancelling the application (a receive timeout would).
    while not await comm.receive_nothing(timeout=timeout, interval=0.02):
        frame = await comm.receive_json_from()
        if presence or frame["type"] != "presence":
            out.append(frame)
    return out


async def _close_code(comm: Any, timeout: float = 2.0) -> int | None:
    """Read until the server closes; frames before the close are returned via the list."""
    while True:
        message = await comm.receive_output(timeout=timeout)
        if message["type"] == "websocket.close":
            return message.get("code")


def _seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [f["seq"] for f in frames if "seq" in f]


def run(coro_fn: Any) -> Any:
    return async_to_sync(coro_fn)()


def test_hello_replay_then_live_in_order(scenario):
    """after=2 replays 3..N, then live events follow; reconnecting at the end doubles nothing."""
    producer = scenario.users["producer"]
    song = song_create(actor=producer, project=scenario.project, title="One")
    comm = _comm(scenario.project.pk, scenario.users["viewer"], "after=2")

    async def body() -> None:
        connected, _ = await comm.connect()
        assert connected
        frames = await _frames(comm)
        hello = frames[0]
        assert hello["type"] == "hello" and hello["project"] == scenario.project.pk
        last = hello["last_seq"]
        assert _seqs(frames) == list(range(3, last + 1))
        await sync_to_async(song_update)(actor=producer, song=song, title="Two")
        live = await _frames(comm)
        assert _seqs(live) == [last + 1]
        assert live[0]["type"] == "song.updated" and live[0]["payload"]["song"]["title"] == "Two"
        await comm.disconnect()

        again = _comm(scenario.project.pk, scenario.users["viewer"], f"after={last + 1}")
        assert (await again.connect())[0]
        frames = await _frames(again)
        assert [f["type"] for f in frames] == ["hello"]
        await again.disconnect()

    run(body)


def test_refusals_z4(scenario, other_scenario):
    """Another project's id -> 4404, no session -> 4401, foreign Origin -> refused at the
    handshake, unknown project -> 4404."""

    async def body() -> None:
        comm = _comm(other_scenario.project.pk, scenario.users["producer"], "after=0")
        assert (await comm.connect())[0]
        assert await _close_code(comm) == 4404

        comm = _comm(scenario.project.pk, None, "after=0")
        assert (await comm.connect())[0]
        assert await _close_code(comm) == 4401

        comm = _comm(
            scenario.project.pk, scenario.users["producer"], origin=b"https://evil.example"
        )
        connected, _ = await comm.connect()
        assert not connected

        comm = _comm(99999999, scenario.users["producer"], "after=0")
        assert (await comm.connect())[0]
        assert await _close_code(comm) == 4404

        comm = _comm(scenario.project.pk, scenario.users["outsider"], "after=0")
        assert (await comm.connect())[0]
        assert await _close_code(comm) == 4404

        comm = _comm(scenario.project.pk, scenario.users["producer"], "after=x")
        assert (await comm.connect())[0]
        assert await _close_code(comm) == 4400

    run(body)


def test_resync_w7(scenario):
    """after newer than the log (a restored database) or another epoch -> resync, then live."""
    producer = scenario.users["producer"]
    scenario.project.refresh_from_db()
    last, epoch = scenario.project.last_event_seq, scenario.project.event_epoch

    async def body() -> None:
        comm = _comm(scenario.project.pk, producer, f"after={last + 50}&epoch={epoch}")
        assert (await comm.connect())[0]
        frames = await _frames(comm)
        assert [f["type"] for f in frames] == ["hello", "resync"]
        assert frames[1] == {"type": "resync", "reason": "ahead", "epoch": epoch, "last_seq": last}
        await sync_to_async(song_create)(actor=producer, project=scenario.project, title="Y")
        assert _seqs(await _frames(comm)) == [last + 1]
        await comm.disconnect()

        comm = _comm(scenario.project.pk, producer, "after=1&epoch=somethingelse")
        assert (await comm.connect())[0]
        frames = await _frames(comm)
        assert [f["type"] for f in frames] == ["hello", "resync"]
        assert frames[1]["reason"] == "epoch" and frames[1]["last_seq"] == last + 1
        await comm.disconnect()

    run(body)


def test_resync_when_too_far_behind(scenario, monkeypatch):
    from sessions import consumers

    monkeypatch.setattr(consumers, "REPLAY_LIMIT", 2)

    async def body() -> None:
        comm = _comm(scenario.project.pk, scenario.users["artist"], "after=0")
        assert (await comm.connect())[0]
        frames = await _frames(comm)
        assert frames[1]["type"] == "resync" and frames[1]["reason"] == "too_far_behind"
        assert not _seqs(frames)
        await comm.disconnect()

    run(body)


def test_removed_member_is_closed_4403_w5(scenario):
    """A member removed while connected gets nothing after the removal and is closed 4403;
    reconnecting is refused."""
    producer, artist = scenario.users["producer"], scenario.users["artist"]
    membership = scenario.project.memberships.get(user=artist)

    async def body() -> None:
        comm = _comm(scenario.project.pk, artist)
        assert (await comm.connect())[0]
        await _frames(comm, 0.3)
        await sync_to_async(song_create)(actor=producer, project=scenario.project, title="A")
        await sync_to_async(member_remove)(actor=producer, membership=membership)
        await sync_to_async(song_create)(actor=producer, project=scenario.project, title="B")
        received = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            message = await comm.receive_output(timeout=2)
            if message["type"] == "websocket.close":
                code = message["code"]
                break
            received.append(message)
        assert code == 4403
        assert loop.time() - started < 1.5
        import json

        types = [json.loads(m["text"])["type"] for m in received]
        assert types == ["song.created"]  # not the removal, not song B

        again = _comm(scenario.project.pk, artist, "after=0")
        assert (await again.connect())[0]
        assert await _close_code(again) == 4404

    run(body)


def test_membership_gone_without_event_closes_4403(scenario):
    """The timer re-checks membership: a row deleted behind the services' back still closes
    the socket within a second."""
    viewer = scenario.users["viewer"]

    async def body() -> None:
        comm = _comm(scenario.project.pk, viewer)
        assert (await comm.connect())[0]
        await _frames(comm, 0.2)
        await sync_to_async(scenario.project.memberships.filter(user=viewer).delete)()
        assert await _close_code(comm, timeout=1.5) == 4403

    run(body)


def test_timer_heals_a_dropped_delivery(scenario):
    """Events the layer never delivers (here: the group is wiped) still arrive, in order,
    from the event table within about a second."""
    producer = scenario.users["producer"]

    async def body() -> None:
        comm = _comm(scenario.project.pk, scenario.users["engineer"])
        assert (await comm.connect())[0]
        hello = (await _frames(comm, 0.3))[0]
        from channels.layers import get_channel_layer

        await get_channel_layer().flush()  # our own Redis db: drops every group membership
        for title in ("x", "y", "z"):
            await sync_to_async(song_create)(actor=producer, project=scenario.project, title=title)
        frames = await _frames(comm, 2.0)
        last = hello["last_seq"]
        assert _seqs(frames) == [last + 1, last + 2, last + 3]
        await comm.disconnect()

    run(body)


def test_job_progress_is_forwarded_and_throttled(scenario):
    async def body() -> None:
        comm = _comm(scenario.project.pk, scenario.users["artist"])
        assert (await comm.connect())[0]
        await _frames(comm, 0.2)
        for i in range(50):
            await sync_to_async(broadcast.send_progress)(scenario.project.pk, 7, i / 50, kind="x")
        await sync_to_async(broadcast.send_progress)(scenario.project.pk, 7, 1.0, kind="x")
        frames = [f for f in await _frames(comm, 0.5) if f["type"] == "job.progress"]
        assert 1 <= len(frames) <= 10
        assert "seq" not in frames[0]
        assert frames[-1]["payload"] == {"job": 7, "kind": "x", "progress": 1.0}
        await comm.disconnect()

    run(body)


def _presence(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["payload"] for f in frames if f["type"] == "presence"]


def _states(payload: dict[str, Any]) -> dict[str, tuple[str, int | None, int | None]]:
    return {u["user"]["username"]: (u["state"], u["song"], u["mix"]) for u in payload["users"]}


def test_presence_frames_and_snapshot(scenario, song):
    """A connecting socket gets the whole roster in one frame; the others hear of each arrival,
    move and departure in a batch; a second tab keeps its user online when the first closes."""
    mix = make_mix(song)
    artist, producer = scenario.users["artist"], scenario.users["producer"]

    async def body() -> None:
        a = _comm(scenario.project.pk, artist)
        p = _comm(scenario.project.pk, producer)
        assert (await a.connect())[0]
        # The roster first; then the batch telling the group (this socket too) of the arrival.
        roster, *later = _presence(await _frames(a, 0.4, presence=True))
        assert roster["full"] is True and _states(roster) == {
            artist.username: ("online", None, None)
        }
        assert [_states(b) for b in later] == [{artist.username: ("online", None, None)}]
        assert (await p.connect())[0]
        roster, *later = _presence(await _frames(p, 0.4, presence=True))
        assert roster["full"] is True
        assert set(_states(roster)) == {artist.username, producer.username}
        assert len(later) == 1 and later[0]["full"] is False
        [batch] = _presence(await _frames(a, 0.4, presence=True))
        assert batch["full"] is False
        assert batch["users"] == [
            {
                "user": {"id": producer.pk, "username": producer.username},
                "song": None,
                "mix": None,
                "state": "online",
            }
        ]
        await p.send_json_to({"type": "presence", "song": song.pk, "mix": mix.pk})
        [batch] = _presence(await _frames(a, 0.4, presence=True))
        assert _states(batch) == {producer.username: ("online", song.pk, mix.pk)}
        client = scenario.client("viewer")
        r = await sync_to_async(client.get)(f"/api/presence/?project={scenario.project.pk}")
        assert r.status_code == 200
        rows = {row["user"]["username"]: row for row in r.json()}
        assert set(rows) == {artist.username, producer.username}
        assert rows[producer.username]["mix"] == mix.pk

        tab = _comm(scenario.project.pk, producer)  # the producer's second tab
        assert (await tab.connect())[0]
        await _frames(tab, 0.4)
        await _frames(a, 0.4, presence=True)
        await tab.disconnect()
        [batch] = _presence(await _frames(a, 0.4, presence=True))
        assert _states(batch)[producer.username][0] == "online"  # the first tab is still open

        await p.disconnect()
        [batch] = _presence(await _frames(a, 0.4, presence=True))
        assert _states(batch) == {producer.username: ("offline", None, None)}
        r = await sync_to_async(client.get)(f"/api/presence/?project={scenario.project.pk}")
        assert [row["user"]["username"] for row in r.json()] == [artist.username]
        r = await sync_to_async(scenario.client("outsider").get)(
            f"/api/presence/?project={scenario.project.pk}"
        )
        assert r.status_code == 404
        await a.disconnect()

    run(body)


def test_comment_reaches_reviewers_live(scenario, song):
    mix = make_mix(song)

    async def body() -> None:
        comm = _comm(scenario.project.pk, scenario.users["viewer"])
        assert (await comm.connect())[0]
        await _frames(comm, 0.2)
        await sync_to_async(services.comment_add)(
            actor=scenario.users["artist"], mix=mix, body="kick at 1:02", start_s=62.0
        )
        frames = await _frames(comm)
        assert frames[0]["type"] == "comment.added"
        assert frames[0]["payload"]["comment"]["start_s"] == 62.0
        assert frames[0]["actor"]["username"] == "artist"
        await comm.disconnect()

    run(body)


def test_live_events_are_encoded_once_for_every_socket_and_skip_the_connections_hop(
    scenario, song, monkeypatch
):
    """W9: a live event's text is encoded once, in the broadcast, and each socket forwards it
    as it is (the frames equal the log's); layer frames do not take Channels'
    close_old_connections hop to the sync thread that every other message takes."""
    import channels.consumer

    from eventlog.models import Event

    mix = make_mix(song)
    encoded: list[int] = []
    real_dumps = broadcast.json.dumps

    class CountingJson:
        loads = staticmethod(broadcast.json.loads)

        @staticmethod
        def dumps(obj: Any, **kwargs: Any) -> str:
            if isinstance(obj, dict) and "seq" in obj:
                encoded.append(obj["seq"])
            return real_dumps(obj, **kwargs)

    monkeypatch.setattr(broadcast, "json", CountingJson)
    hops: list[int] = []
    real_close = channels.consumer.aclose_old_connections

    async def counting_close() -> None:
        hops.append(1)
        await real_close()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counting_close)

    async def body() -> None:
        comms = [_comm(scenario.project.pk, scenario.users[who]) for who in ("viewer", "engineer")]
        for comm in comms:
            assert (await comm.connect())[0]
            await _frames(comm, 0.2)
        encoded.clear()
        hops.clear()
        for n in range(3):
            await sync_to_async(services.comment_add)(
                actor=scenario.users["artist"], mix=mix, body=f"take {n}"
            )
        got = [await _frames(comm) for comm in comms]
        logged = await sync_to_async(
            lambda: [e.to_frame() for e in Event.objects.filter(project=scenario.project)]
        )()
        for frames in got:
            assert frames == logged[-3:]
        assert encoded == [f["seq"] for f in logged[-3:]]  # once each, not once per socket
        assert hops == []
        for comm in comms:
            await comm.disconnect()

    run(body)


def test_other_paths_and_bad_frames_close_cleanly(scenario):
    """Issue 13's websocket edges: a path that is not a project id, an id of 19 digits, a
    non-JSON frame, a binary frame and JSON nested deep keep the server quiet and the socket
    either refused (4404) or open."""

    async def body() -> None:
        producer = scenario.users["producer"]
        for path in ("/ws/projects/abc/", "/ws/projects/1234567890123456789/", "/ws/x"):
            headers = [(b"host", b"testserver"), (b"origin", ORIGIN)]
            headers.append((b"cookie", session_cookie(producer).encode()))
            comm = WebsocketCommunicator(application, path, headers=headers)
            assert (await comm.connect())[0], path
            assert await _close_code(comm) == 4404, path

        comm = _comm(scenario.project.pk, producer, "after=0")
        assert (await comm.connect())[0]
        await _frames(comm)
        await comm.send_to(text_data="not json {")
        await comm.send_to(bytes_data=b"\x00\x01")
        await comm.send_to(text_data="[" * 5000 + "]" * 5000)
        assert await comm.receive_nothing(timeout=0.3)
        await sync_to_async(song_create)(actor=producer, project=scenario.project, title="Still")
        frames = await _frames(comm)
        assert [f["type"] for f in frames] == ["song.created"]
        await comm.disconnect()

    run(body)


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (b"http://testserver", b"testserver", True),
        (b"http://testserver:80", b"testserver", True),
        (b"http://testserver:8001", b"testserver:8001", True),
        (b"http://testserver:8081", b"testserver:8001", False),
        (b"http://testserver:8081", b"testserver", False),
        (b"https://testserver", b"testserver", True),
        (b"https://testserver:8443", b"testserver", False),
        (b"http://testserver.evil.example", b"testserver", False),
        (b"null", b"testserver", False),
        (b"http://testserver:notaport", b"testserver", False),
    ],
)
def test_origin_must_name_the_same_host_and_port(scenario, origin, host, allowed):
    async def body() -> None:
        headers = [(b"host", host), (b"origin", origin)]
        headers.append((b"cookie", session_cookie(scenario.users["producer"]).encode()))
        path = f"/ws/projects/{scenario.project.pk}/?after=0"
        comm = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await comm.connect()
        assert connected is allowed
        if connected:
            await _frames(comm)
            await comm.disconnect()

    run(body)


HOSTILE_QUERIES = [
    "after=abc",
    "after=-5",
    "after=99999999999999999999999",
    "after=NaN",
    "after=1e9",
    "epoch=" + "x" * 5000,
    "epoch=%00",
    "after=%ed%a0%80",
    "after=0&after=1",
]
HOSTILE_FRAMES = [
    '{"type": "presence", "song": "abc", "mix": -1}',
    '{"type": "presence", "song": 99999999999999999999999, "mix": null}',
    '{"type": "presence", "song": {"a": 1}, "mix": [1]}',
    '{"type": "presence", "song": NaN}',
    '{"type": "' + "x" * 100_000 + '"}',
    '{"type": "\\ud800"}',
    '{"type": null}',
    "[]",
    '"text"',
    "null",
    '{"type": "resync"}',
]


def test_outside_pass_hostile_queries_and_frames_as_each_identity(scenario, other_scenario):
    """The outside attack's websocket pass: every identity with hostile query strings, then
    hostile frames on an open socket. No 1011 (server error), members stay connected and keep
    receiving, non-members are refused."""

    async def body() -> None:
        pid = scenario.project.pk
        for who in ("producer", "engineer", "artist", "viewer", "outsider", None):
            user = scenario.users[who] if who else None
            for query in HOSTILE_QUERIES:
                comm = _comm(pid, user, query)
                accepted, code = await comm.connect()
                if who in (None, "outsider"):
                    if accepted:  # refused after the handshake, saying nothing of the project
                        assert await _close_code(comm) in (4400, 4401, 4404), (who, query)
                    await comm.disconnect()  # as a browser does: no consumer left waiting
                    continue
                assert accepted, (who, query, code)
                first = await comm.receive_output(timeout=2)
                # A malformed `after` is refused as a bad request (4400); any other position
                # or epoch is answered (hello, resync). Never a server error (1011).
                if first["type"] == "websocket.close":
                    assert first.get("code") == 4400, (who, query, first)
                    await comm.disconnect()
                else:
                    assert first["type"] == "websocket.send", (who, query, first)
                    await comm.disconnect()
        producer = scenario.users["producer"]
        comm = _comm(pid, producer, "after=0")
        assert (await comm.connect())[0]
        await _frames(comm)
        for frame in HOSTILE_FRAMES:
            await comm.send_to(text_data=frame)
        assert await comm.receive_nothing(timeout=0.3)
        await sync_to_async(song_create)(actor=producer, project=scenario.project, title="Holds")
        frames = await _frames(comm)
        assert [f["type"] for f in frames] == ["song.created"]
        await comm.disconnect()

    run(body)


def test_a_nul_in_the_session_cookie_is_refused_not_a_server_error(scenario):
    async def body() -> None:
        headers = [(b"host", b"testserver"), (b"origin", ORIGIN), (b"cookie", b"sessionid=a\x00b")]
        comm = WebsocketCommunicator(application, f"/ws/projects/{scenario.project.pk}/", headers)
        accepted, _ = await comm.connect()
        if accepted:
            assert await _close_code(comm) == 4401

    run(body)


def test_metrics_count_open_sockets_and_the_lag_of_live_events(scenario):
    """studio_websocket_connections rises and falls with accepted sockets (a refused one is not
    counted); each live frame (not a replayed one) adds an event-lag observation."""

    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    producer = scenario.users["producer"]
    song = song_create(actor=producer, project=scenario.project, title="One")
    open_before = value("studio_websocket_connections")
    lags_before = value("studio_event_lag_seconds_count")

    async def body() -> None:
        refused = _comm(scenario.project.pk, None)
        await refused.connect()
        await _close_code(refused)
        comm = _comm(scenario.project.pk, scenario.users["viewer"], "after=0")
        assert (await comm.connect())[0]
        await _frames(comm)  # hello and the replay: no lag observed
        assert value("studio_websocket_connections") == open_before + 1
        assert value("studio_event_lag_seconds_count") == lags_before
        await sync_to_async(song_update)(actor=producer, song=song, title="Two")
        assert _seqs(await _frames(comm))
        assert value("studio_event_lag_seconds_count") == lags_before + 1
        assert value("studio_event_lag_seconds_sum") < 60
        await comm.disconnect()
        assert value("studio_websocket_connections") == open_before

    run(body)
