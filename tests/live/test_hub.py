"""The per-process catch-up timer (Hub): membership is judged only for sockets it asked about."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sessions import consumers, selectors


class FakeSocket:
    def __init__(self, project_id: int, user_id: int) -> None:
        self.project_id, self.user_id = project_id, user_id
        self.ready, self.closed = True, False
        self.last_sent = 0
        self.joined_generation = consumers._layer_generation
        self.revoked = False

    async def revoke(self) -> None:
        self.revoked = self.closed = True

    async def deliver(self, frames: list[Any], *, source: str) -> None:
        return None

    async def presence_refresh(self) -> None:
        return None


def test_a_socket_that_connects_during_the_membership_query_is_not_revoked(monkeypatch):
    hub = consumers.Hub()
    old = FakeSocket(project_id=1, user_id=10)
    hub.consumers[1].add(old)
    newcomer = FakeSocket(project_id=1, user_id=11)

    def live_poll(*, project_ids: list[int], user_ids: list[int]) -> Any:
        hub.consumers[1].add(newcomer)  # connects while the query runs
        assert user_ids == [10]
        return {1: 0}, {(1, 10)}

    monkeypatch.setattr(selectors, "live_poll", live_poll)
    asyncio.run(hub.tick())
    assert not newcomer.revoked
    assert not old.revoked


def test_a_removed_member_is_revoked(monkeypatch):
    hub = consumers.Hub()
    gone = FakeSocket(project_id=1, user_id=12)
    hub.consumers[1].add(gone)
    monkeypatch.setattr(selectors, "live_poll", lambda **kwargs: ({1: 0}, set()))
    asyncio.run(hub.tick())
    assert gone.revoked


pytestmark = pytest.mark.django_db
