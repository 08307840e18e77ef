"""Fixtures of the live room: versions to review (rows made directly while the audio room's
services settle), takes, and helpers to sign users in over a websocket."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import pytest

_counter = itertools.count(1)


def make_asset(project: Any, *, duration_s: float = 180.0) -> Any:
    from audio.models import Asset

    n = next(_counter)
    return Asset.objects.create(
        project=project,
        sha256=hashlib.sha256(f"asset-{n}-{project.pk}".encode()).hexdigest(),
        size_bytes=1000,
        storage_name=f"test/{n}.wav",
        original_name=f"{n}.wav",
        media_type="audio/wav",
        format="wav",
        sample_rate=44100,
        channels=2,
        bit_depth=16,
        frames=int(duration_s * 44100),
        duration_s=duration_s,
    )


def make_mix(song: Any, *, number: int | None = None, duration_s: float | None = 180.0) -> Any:
    from audio.models import Mix

    if number is None:
        number = Mix.objects.filter(song=song).count() + 1
    asset = make_asset(song.project, duration_s=duration_s) if duration_s else None
    return Mix.objects.create(project=song.project, song=song, number=number, asset=asset)


def make_master(mix: Any) -> Any:
    from audio.models import Master

    number = Master.objects.filter(song=mix.song).count() + 1
    return Master.objects.create(
        project=mix.project,
        song=mix.song,
        mix=mix,
        number=number,
        asset=make_asset(mix.project, duration_s=180.0),
    )


def make_take(song: Any, *, part: str = "vocals", number: int | None = None) -> Any:
    from audio.models import Take

    if number is None:
        number = Take.objects.filter(song=song, part=part).count() + 1
    return Take.objects.create(
        project=song.project,
        song=song,
        asset=make_asset(song.project, duration_s=60.0),
        part=part,
        number=number,
    )


@pytest.fixture
def mix(song: Any) -> Any:
    return make_mix(song)


def session_cookie(user: Any) -> str:
    """A signed-in session for `user`, as the browser's cookie value."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"
