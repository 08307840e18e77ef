"""A broadcast while the channel layer's Redis is stopped: the write stands, the log says so in
one line (no traceback), and the event reaches a socket from the log once Redis is back."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from eventlog.models import Event
from studio.asgi import application
from studio.services.songs import song_create, song_update
from tests.live.conftest import session_cookie
from tests.live.test_faults import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


def _broadcast_records(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "eventlog.broadcast"]


def test_a_broadcast_to_a_stopped_redis_logs_one_line_and_the_event_is_replayed(
    scenario, settings, tmp_path, caplog
):
    redis = RedisServer(tmp_path)
    redis.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis.url}]},
        }
    }
    producer = scenario.users["producer"]
    try:
        caplog.set_level(logging.INFO)
        song = song_create(actor=producer, project=scenario.project, title="Up")
        assert _broadcast_records(caplog) == []  # Redis up: the broadcast went through

        redis.stop()
        song_update(actor=producer, song=song, title="While Redis is down")
        records = _broadcast_records(caplog)
        assert len(records) == 1, [r.getMessage() for r in records]
        record = records[0]
        assert record.levelno == logging.WARNING
        assert record.exc_info is None and record.stack_info is None
        message = record.getMessage()
        assert f"project.{scenario.project.pk}" in message and "ConnectionError" in message
        assert "\n" not in message
        assert "Traceback" not in caplog.text

        event = Event.objects.filter(project=scenario.project).order_by("seq").last()
        assert event is not None and event.type == "song.updated"  # durable in PostgreSQL

        redis.start()  # same port: the layer works again
        path = f"/ws/projects/{scenario.project.pk}/?after={event.seq - 1}"
        headers = [
            (b"host", b"testserver"),
            (b"origin", b"http://testserver"),
            (b"cookie", session_cookie(scenario.users["viewer"]).encode()),
        ]

        async def replayed() -> list[dict[str, Any]]:
            comm = WebsocketCommunicator(application, path, headers=headers)
            assert (await comm.connect())[0]
            frames = []
            while not await comm.receive_nothing(timeout=0.5, interval=0.02):
                frames.append(await comm.receive_json_from())
            await comm.disconnect()
            return frames

        frames = [f for f in async_to_sync(replayed)() if "seq" in f]
        assert [(f["seq"], f["type"]) for f in frames] == [(event.seq, "song.updated")]
        assert frames[0]["payload"]["song"]["title"] == "While Redis is down"
    finally:
        redis.stop()
