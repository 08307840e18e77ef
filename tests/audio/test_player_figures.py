"""The figures under a version (song page, player, previews) say when peaks go over full
scale: a float mix keeps them and a fixed-point copy or a player will clip them; a fixed-point
file has clipped. Nothing is said of a file under full scale."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.test import Client
from django.urls import reverse

from audio.engine.io import write_wav
from audio.jobs import runner
from audio.models import Asset, Job, JobKind, JobState
from audio.services.assets import asset_ingest_file
from audio.services.mixes import mix_create
from pages.audio import asset_facts

RATE = 44100


def _facts(bit_depth: int, true_peak: float, clipped: int) -> dict[str, Any]:
    asset = Asset(
        format="wav",
        bit_depth=bit_depth,
        sample_rate=RATE,
        channels=2,
        duration_s=10.0,
        analysis={"true_peak_dbtp": true_peak, "clipped_samples": clipped},
    )
    return asset_facts(asset)


def test_a_float_file_over_full_scale_is_flagged_with_its_true_peak() -> None:
    assert _facts(32, 1.43, 500)["over"] == "peaks +1.4 dBTP over full scale"


def test_a_fixed_point_file_that_clipped_is_flagged_with_its_count() -> None:
    assert _facts(24, 0.2, 1234)["over"] == "1,234 samples at full scale"


def test_a_file_under_full_scale_is_not_flagged() -> None:
    assert _facts(32, -1.0, 0)["over"] == ""
    assert _facts(16, -0.1, 0)["over"] == ""


def _mix(scenario: Any, song: Any, gain: float) -> Any:
    t = np.arange(3 * RATE) / RATE
    tone = (gain * np.sin(2 * np.pi * 441 * t)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.wav"
        write_wav(path, np.stack([tone, tone]), RATE, bit_depth=32)
        asset = asset_ingest_file(
            actor=scenario.users["engineer"],
            project=scenario.project,
            path=path,
            original_name="mix.wav",
        )
    for job in Job.objects.filter(kind=JobKind.ANALYZE, state=JobState.QUEUED):
        assert runner.run_job(job.pk) == "done"
    return mix_create(actor=scenario.users["engineer"], song=song, asset=asset)


def test_the_player_flags_a_float_mix_over_full_scale_to_every_member(
    scenario: Any, song: Any
) -> None:
    loud = _mix(scenario, song, gain=1.5)  # +3.5 dBFS: kept by the float file
    quiet = _mix(scenario, song, gain=0.5)
    for role in ("engineer", "artist", "viewer"):
        client = Client()
        client.force_login(scenario.users[role])
        page = client.get(reverse("mix-player", args=[loud.pk]))
        assert page.status_code == 200
        assert b"data-over-full-scale" in page.content
        assert b"dBTP over full scale" in page.content
        page = client.get(reverse("mix-player", args=[quiet.pk]))
        assert page.status_code == 200
        assert b"data-over-full-scale" not in page.content
