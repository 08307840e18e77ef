"""Fixtures of the notifications room: a song with a mix to comment on, and helpers to read a
person's inbox."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def mix(song: Any) -> Any:
    from tests.live.conftest import make_mix

    return make_mix(song)


def inbox(user: Any) -> list[Any]:
    from notifications.models import Notification

    return list(Notification.objects.for_user(user).order_by("id"))


def kinds(user: Any) -> list[str]:
    return [n.kind for n in inbox(user)]
