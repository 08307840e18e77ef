"""Waveform peaks live in stored files keyed by the audio's checksum, not in database rows: the
analysis job stores them (before the row names them), the endpoint serves the stored bytes as
they are, and the data migration moves existing rows' peaks into files and back."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audio import storage
from audio.jobs import runner
from audio.models import Asset, Job, JobKind, JobState
from audio.peaks import level_for_width, peaks_read, peaks_store
from audio.services.assets import asset_ingest_file
from tests.audio.audiofiles import write_wav

pytestmark = [pytest.mark.urls("tests.audio.urls"), pytest.mark.timeout(180)]

BEFORE_MOVE = [("audio", "0010_asset_peaks_file")]


def _asset(scenario: Any, tmp_path: Path, seconds: float = 3.0) -> Asset:
    path = write_wav(tmp_path / "take.wav", seconds=seconds, seed=11)
    return asset_ingest_file(
        actor=scenario.users["engineer"], project=scenario.project, path=path, original_name="t"
    )


def test_the_analysis_stores_the_peaks_as_a_file_keyed_by_the_checksum(
    scenario: Any, tmp_path: Path
) -> None:
    """Before the analysis the endpoint answers 409; after it, the row names a stored file
    under the project and the audio's SHA-256 (with the file's own SHA-256), whose JSON is the
    peaks of the job's output, and a width is answered with the level's stored bytes as-is."""
    asset = _asset(scenario, tmp_path)
    client = scenario.client("viewer")
    pending = client.get(f"/api/assets/{asset.pk}/peaks/?width=300")
    assert pending.status_code == 409 and pending.json()["code"] == "analysis_pending"
    job = Job.objects.get(asset=asset, kind=JobKind.ANALYZE)
    assert runner.run_job(job.pk) == "done"
    job.refresh_from_db()
    asset.refresh_from_db()
    assert asset.peaks_name.startswith(f"peaks/{scenario.project.pk}/{asset.sha256}-")
    stored = storage.read_bytes(asset.peaks_name)
    assert hashlib.sha256(stored).hexdigest() == asset.peaks_sha256
    output = json.loads(storage.read_bytes(job.result["output"]))
    assert json.loads(stored) == output["peaks"] == peaks_read(asset)

    span = level_for_width(asset.peaks_index, 300)
    assert span is not None
    response = client.get(f"/api/assets/{asset.pk}/peaks/?width=300")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    level = stored[span[1] : span[2]]
    assert level in response.content  # the stored bytes, not a re-serialisation
    body = response.json()
    assert body["asset"] == asset.pk and body["sha256"] == asset.sha256
    assert body["peaks"]["levels"] == [json.loads(level)]
    assert body["peaks"]["sample_rate"] == output["peaks"]["sample_rate"]


def test_peaks_without_levels_answer_an_empty_list(scenario: Any, tmp_path: Path) -> None:
    asset = _asset(scenario, tmp_path, seconds=0.5)
    fields = peaks_store(project_id=asset.project_id, sha256=asset.sha256, peaks={"levels": []})
    Asset.objects.filter(pk=asset.pk).update(**fields)
    body = scenario.client("viewer").get(f"/api/assets/{asset.pk}/peaks/?width=10").json()
    assert body["peaks"] == {"levels": []}


def _settle_analysis(asset: Asset) -> None:
    """The committed asset's analysis job is not run by this test: cancelled while queued, or
    waited for if the session's worker (started by an earlier test) already took it, so it
    cannot name its own peaks file on the row in the middle of the migration."""
    Job.objects.filter(asset=asset, state=JobState.QUEUED).update(state=JobState.CANCELLED)
    deadline = time.monotonic() + 60
    while Job.objects.filter(asset=asset, state=JobState.RUNNING).exists():
        assert time.monotonic() < deadline, "the analysis job did not finish"
        time.sleep(0.1)


def _migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_rows_peaks_into_files_and_back(scenario: Any, tmp_path: Path) -> None:
    """Forward: a row's peaks become a stored file the row names, the column goes. Backward:
    the row holds the same peaks again. The schema is left at the latest state."""
    asset = _asset(scenario, tmp_path, seconds=1.0)
    _settle_analysis(asset)
    peaks = {
        "version": 1,
        "sample_rate": 44100,
        "channels": 1,
        "levels": [{"length": 2, "samples_per_peak": 4, "data": [[-0.5, 0.5, -0.25, 0.25]]}],
    }
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("audio")
    try:
        old_apps = _migrate(BEFORE_MOVE)
        OldAsset = old_apps.get_model("audio", "Asset")
        # a row as it was before the move: peaks in the column, no file named
        OldAsset.objects.filter(pk=asset.pk).update(
            peaks=peaks, peaks_name="", peaks_sha256="", peaks_index=None
        )
        _migrate(latest)
        asset.refresh_from_db()
        assert asset.peaks_name and storage.file_exists(asset.peaks_name)
        assert peaks_read(asset) == peaks
        with connection.cursor() as cursor:
            columns = [
                c.name
                for c in connection.introspection.get_table_description(cursor, "audio_asset")
            ]
        assert "peaks" not in columns
        old_apps = _migrate(BEFORE_MOVE)
        back = old_apps.get_model("audio", "Asset").objects.get(pk=asset.pk)
        assert back.peaks == peaks and back.peaks_name == ""
    finally:
        _migrate(latest)
