"""A2 through the upload door: the ten-hour MPEG-2 MP3 (~36 MB) sent with tus is refused at
completion with the engine's sentence, in seconds, and leaves no row and no stored file. (The
engine-only cases live in `tests/audio/engine/test_bombs.py`, which runs without Django.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from audio.models import Asset, Job, Upload
from tests.audio.conftest import upload_bytes
from tests.audio.engine.test_bombs import ten_hour_mp3

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audio.urls")]


def _stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "assets"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_ten_hour_mpeg2_mp3_upload_is_422_in_seconds_and_leaves_nothing(
    tus_client: APIClient, scenario: Any
) -> None:
    data = ten_hour_mp3(16000).read_bytes()
    before = _stored_files()
    start = time.perf_counter()
    response = upload_bytes(
        tus_client, data, filename="voice-memo.mp3", project=scenario.project.pk
    )
    elapsed = time.perf_counter() - start
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_audio", body
    assert "audio longer than the 60-minute limit" in body["detail"], body
    assert body["fields"]["reason"] == ["audio.too_long"]
    assert elapsed < 10.0, f"refused after {elapsed:.2f} s"
    print(f"\n{len(data)} bytes of 10 h MP3 sent and refused through an upload in {elapsed:.2f} s")
    assert (Asset.objects.count(), Job.objects.count()) == (0, 0)
    assert _stored_files() == before
    upload = Upload.objects.get()
    assert not (Path(settings.UPLOAD_DIR) / upload.temp_name).exists()
