"""The broadcasts of sync code (services, job workers) go through one long-lived event loop
thread per process with a channel layer of its own (eventlog.broadcast._SendLoop), not a new
thread, loop and Redis connection per event as async_to_sync outside an event loop makes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from eventlog import broadcast

PROJECT = 987_654  # a group no test's socket joins


def _send_from_threads(n_threads: int, each: int) -> None:
    def work(t: int) -> None:
        for i in range(each):
            broadcast.send_ephemeral(PROJECT, {"type": "t", "n": t * each + i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_sync_sends_share_one_loop_and_one_layer_and_arrive_in_order() -> None:
    async def body() -> list[Any]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(broadcast.project_group(PROJECT), channel)
        try:
            await sync_to_async(_send_from_threads, thread_sensitive=False)(1, 10)
            loop, private = broadcast._send_loop._loop, broadcast._send_loop._layer
            await sync_to_async(_send_from_threads, thread_sensitive=False)(3, 10)
            assert broadcast._send_loop._loop is loop and broadcast._send_loop._layer is private
            assert private is not layer  # the shared layer's flush cannot close its pools
            assert list(private._layers) == [loop]  # one set of connections, reused
            return [(await layer.receive(channel))["frame"]["n"] for _ in range(40)]
        finally:
            await layer.group_discard(broadcast.project_group(PROJECT), channel)

    got = async_to_sync(body)()
    assert got[:10] == list(range(10))  # one thread's sends keep their order
    assert sorted(got[10:]) == list(range(30))
    for t in range(3):
        mine = [n for n in got[10:] if t * 10 <= n < (t + 1) * 10]
        assert mine == sorted(mine)


def test_a_flush_of_the_shared_layer_leaves_the_sends_working(caplog: Any) -> None:
    broadcast.send_ephemeral(PROJECT, {"type": "t"})  # the send loop's pool exists

    async def flush_then_listen() -> Any:
        layer = get_channel_layer()
        await layer.flush()  # closes the pools of every loop the shared layer knows
        channel = await layer.new_channel()
        await layer.group_add(broadcast.project_group(PROJECT), channel)
        try:
            await sync_to_async(broadcast.send_ephemeral, thread_sensitive=False)(
                PROJECT, {"type": "t", "n": 1}
            )
            return await layer.receive(channel)
        finally:
            await layer.group_discard(broadcast.project_group(PROJECT), channel)

    assert async_to_sync(flush_then_listen)()["frame"] == {"type": "t", "n": 1}
    assert "channel layer send" not in caplog.text


def test_a_sync_send_on_an_event_loop_is_refused_and_logged(caplog: Any) -> None:
    async def body() -> None:
        broadcast.send_ephemeral(PROJECT, {"type": "t"})  # wrong: sync code on the loop

    async_to_sync(body)()
    assert "channel layer send" in caplog.text and "await the layer" in caplog.text


@pytest.fixture(autouse=True)
def _real_layer() -> None:
    layer = get_channel_layer()
    if layer is None or type(layer).__name__ != "RedisChannelLayer":
        pytest.skip("needs the Redis channel layer (REDIS_URL)")
