"""The notification frame over the real channel layer: after commit it reaches the sockets of
the person told (on any project page they have open), and no one else's."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from studio.services.tasks import task_create
from tests.live.test_consumer import _comm, _frames

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_frame_reaches_the_assignee_only(scenario, song):
    producer, engineer = scenario.users["producer"], scenario.users["engineer"]

    async def body() -> None:
        told = _comm(scenario.project.pk, engineer)
        other = _comm(scenario.project.pk, scenario.users["artist"])
        for comm in (told, other):
            assert (await comm.connect())[0]
            await _frames(comm, 0.2)
        await sync_to_async(task_create)(
            actor=producer, song=song, title="Tune the toms", assignee=engineer
        )
        mine = [f for f in await _frames(told) if f["type"] == "notification"]
        assert len(mine) == 1
        assert "seq" not in mine[0]  # ephemeral: the count is refetched on reconnect
        assert mine[0]["payload"] == {
            "kind": "task",
            "sentence": "producer assigned you 'Tune the toms' on 'Night Drive'",
            "link": f"/p/{scenario.project.pk}/board/",
            "unread": 1,
        }
        theirs = await _frames(other)
        assert [f["type"] for f in theirs] == ["task.created"]  # the event, not the notification
        for comm in (told, other):
            await comm.disconnect()

    async_to_sync(body)()
