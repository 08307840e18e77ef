"""The audio REST API: Range-served files (U5), stems, takes, mixes, jobs, scoping, and the
A1 smoke run of hostile files through the upload API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from audio.models import Asset, Job, Mix, Upload
from audio.peaks import peaks_store
from audio.services.assets import asset_ingest_file, take_attach
from audio.services.mixes import mix_create
from eventlog.models import Event
from tests.audio.audiofiles import hostile_files, wav_bytes, write_wav
from tests.audio.conftest import upload_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audio.urls")]


@pytest.fixture
def asset(scenario: Any, tmp_path: Path) -> Asset:
    path = write_wav(tmp_path / "bass.wav", seconds=0.5, seed=11)
    return asset_ingest_file(
        actor=scenario.users["engineer"],
        project=scenario.project,
        path=path,
        original_name="bass <script>.wav",
    )


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


# --- U5: Range serving ------------------------------------------------------------------------


def test_u5_range_returns_the_right_bytes(scenario: Any, asset: Asset) -> None:
    data = (Path(settings.MEDIA_ROOT) / asset.storage_name).read_bytes()
    client = scenario.client("viewer")
    url = f"/api/assets/{asset.pk}/file/"
    whole = client.get(url)
    assert whole.status_code == 200 and _body(whole) == data
    for header, start, end in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, len(data) - 1),
        ("bytes=-500", len(data) - 500, len(data) - 1),
        (f"bytes=100-{len(data) + 50}", 100, len(data) - 1),
    ]:
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 206, header
        assert _body(response) == data[start : end + 1]
        assert response["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
        assert response["Content-Length"] == str(end - start + 1)
    assert whole["Content-Type"] == "audio/wav"
    assert whole["X-Content-Type-Options"] == "nosniff"
    # the uploaded name, sanitised (never the generated storage name, never markup)
    assert whole["Content-Disposition"] == (
        "attachment; filename=\"bass _script_.wav\"; filename*=UTF-8''bass%20_script_.wav"
    )
    inline = client.get(url + "?disposition=inline")
    assert inline["Content-Disposition"].startswith("inline;")


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=abc", "bytes=5-2", "bytes=-0"])
def test_u5_invalid_range_is_416(scenario: Any, asset: Asset, header: str) -> None:
    response = scenario.client("viewer").get(f"/api/assets/{asset.pk}/file/", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"].startswith("bytes */")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_u5_non_member_gets_404(scenario: Any, asset: Asset) -> None:
    for who in ("outsider",):
        assert scenario.client(who).get(f"/api/assets/{asset.pk}/file/").status_code == 404
        assert scenario.client(who).get(f"/api/assets/{asset.pk}/").status_code == 404
    assert scenario.client(None).get(f"/api/assets/{asset.pk}/file/").status_code in (401, 403)


# --- assets, stems, takes, mixes, jobs --------------------------------------------------------


def test_asset_list_is_scoped(scenario: Any, other_scenario: Any, asset: Asset, tmp_path: Path):
    asset_ingest_file(
        actor=other_scenario.users["producer"],
        project=other_scenario.project,
        path=write_wav(tmp_path / "o.wav", seconds=0.2, seed=12),
        original_name="o.wav",
    )
    listed = scenario.client("viewer").get("/api/assets/").json()
    assert [row["id"] for row in listed["results"]] == [asset.pk]
    mine = scenario.client("viewer").get(f"/api/assets/?project={scenario.project.pk}").json()
    assert mine["count"] == 1
    assert scenario.client("viewer").get(f"/api/assets/{asset.pk}/analysis/").status_code == 409


def test_stem_take_mix_through_the_api(scenario: Any, song: Any, asset: Asset) -> None:
    engineer = scenario.client("engineer")
    stem = engineer.post(
        "/api/stems/", {"song": song.pk, "asset": asset.pk, "instrument": "bass"}, format="json"
    )
    assert stem.status_code == 201, stem.content
    take = engineer.post(
        "/api/takes/", {"song": song.pk, "asset": asset.pk, "part": "bass"}, format="json"
    )
    assert take.status_code == 201 and take.json()["number"] == 1
    noted = engineer.patch(f"/api/takes/{take.json()['id']}/", {"notes": "warm"}, format="json")
    assert noted.status_code == 200 and noted.json()["notes"] == "warm"
    first = engineer.post("/api/mixes/", {"song": song.pk, "asset": asset.pk, "note": "v1"}, "json")
    second = engineer.post("/api/mixes/", {"song": song.pk, "asset": asset.pk}, format="json")
    assert (first.json()["number"], second.json()["number"]) == (1, 2)
    assert second.json()["source"] == "upload"
    listed = scenario.client("viewer").get(f"/api/mixes/?song={song.pk}").json()
    assert [m["number"] for m in listed["results"]] == [1, 2]
    types = list(Event.objects.values_list("type", flat=True))
    for kind in ("stem.attached", "take.attached", "take.updated", "mix.created"):
        assert kind in types
    jobs = scenario.client("viewer").get(f"/api/jobs/?project={scenario.project.pk}").json()
    assert jobs["results"][0]["kind"] == "analyze"


@pytest.mark.parametrize(("who", "status"), [("artist", 403), ("viewer", 403), ("outsider", 400)])
def test_attach_needs_the_role(scenario: Any, song: Any, asset: Asset, who: str, status: int):
    response = scenario.client(who).post(
        "/api/mixes/", {"song": song.pk, "asset": asset.pk}, format="json"
    )
    assert response.status_code == status
    assert Mix.objects.count() == 0


def test_mix_from_another_projects_asset_is_refused(
    scenario: Any, other_scenario: Any, song: Any, tmp_path: Path
) -> None:
    foreign = asset_ingest_file(
        actor=other_scenario.users["producer"],
        project=other_scenario.project,
        path=write_wav(tmp_path / "f.wav", seconds=0.2, seed=13),
        original_name="f.wav",
    )
    response = scenario.client("producer").post(
        "/api/mixes/", {"song": song.pk, "asset": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert Mix.objects.count() == 0


def test_services_for_the_seeder(scenario: Any, song: Any, asset: Asset) -> None:
    producer = scenario.users["producer"]
    mix = mix_create(actor=producer, song=song, asset=asset, note="first pass")
    take = take_attach(actor=producer, song=song, asset=asset, part="vox")
    assert (mix.number, take.number, take.is_keeper) == (1, 1, False)
    assert Job.objects.filter(asset=asset, kind="analyze").count() == 1


def test_schema_documents_audio_routes(scenario: Any) -> None:
    response = scenario.client("viewer").get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/uploads/", "/api/assets/{id}/file/", "/api/assets/{id}/peaks/"):
        assert path in paths, path


# --- A1 (smoke): hostile files through the upload API -----------------------------------------


def test_a1_smoke_hostile_files_never_5xx(scenario: Any) -> None:
    """100 generated hostile files: 0 responses 5xx, every refusal a 4xx whose JSON names the
    reason, 0 Asset rows or stored files for refused files."""
    client = scenario.client("engineer")
    stored_before = {p for p in (Path(settings.MEDIA_ROOT) / "assets").rglob("*") if p.is_file()}
    refused, accepted = 0, 0
    for name, data in hostile_files(100):
        if not data:
            response = client.post(
                "/api/uploads/",
                HTTP_UPLOAD_LENGTH="0",
                HTTP_UPLOAD_METADATA="",
                HTTP_TUS_RESUMABLE="1.0.0",
            )
        else:
            response = upload_bytes(client, data, filename=name, project=scenario.project.pk)
        assert response.status_code < 500, (name, response.status_code)
        if response.status_code == 204:
            accepted += 1
            continue
        refused += 1
        assert 400 <= response.status_code < 500
        body = response.json()
        assert body["code"] and body["detail"], name
        if body["code"] == "invalid_audio":
            assert body["fields"], name
        Upload.objects.all().delete()  # keep under the concurrent-upload limit
    stored_after = {p for p in (Path(settings.MEDIA_ROOT) / "assets").rglob("*") if p.is_file()}
    assert Asset.objects.count() == accepted
    assert len(stored_after - stored_before) == accepted
    assert refused >= 50
    print(f"A1 smoke: {refused} refused, {accepted} accepted")


def test_a1_accepted_valid_file_still_uploads_after_hostile_ones(scenario: Any) -> None:
    data = wav_bytes(seconds=0.2, seed=14)
    response = upload_bytes(
        scenario.client("engineer"), data, filename="ok.wav", project=scenario.project.pk
    )
    assert response.status_code == 204


def test_peaks_for_a_width_return_only_the_level_the_player_draws(
    scenario: Any, tmp_path: Path
) -> None:
    """A player W pixels wide gets one level with at least W min/max pairs (2 points a pixel),
    not every zoom level; a width past the finest gets the finest."""
    from audio.engine.analysis import analyze_file

    path = write_wav(tmp_path / "long.wav", seconds=20, seed=5)
    asset = asset_ingest_file(
        actor=scenario.users["engineer"],
        project=scenario.project,
        path=path,
        original_name="long.wav",
    )
    peaks = analyze_file(path).to_dict()["peaks"]
    stored = peaks_store(project_id=asset.project_id, sha256=asset.sha256, peaks=peaks)
    Asset.objects.filter(pk=asset.pk).update(**stored)
    lengths = [level["length"] for level in peaks["levels"]]
    assert len(lengths) >= 2
    client = scenario.client("viewer")
    body = client.get(f"/api/assets/{asset.pk}/peaks/?width={lengths[0] + 1}").json()
    assert [level["length"] for level in body["peaks"]["levels"]] == [lengths[1]]
    body = client.get(f"/api/assets/{asset.pk}/peaks/?width=100000").json()
    assert [level["length"] for level in body["peaks"]["levels"]] == [lengths[-1]]
    whole = client.get(f"/api/assets/{asset.pk}/peaks/")
    assert whole.json() == {"asset": asset.pk, "sha256": asset.sha256, "peaks": peaks}
    assert whole["Cache-Control"] == "private, max-age=31536000, immutable"
    again = client.get(f"/api/assets/{asset.pk}/peaks/", HTTP_IF_NONE_MATCH=whole["ETag"])
    assert again.status_code == 304 and not again.content
    response = client.get(f"/api/assets/{asset.pk}/peaks/?width=wide")
    assert response.status_code == 400
    assert response.json()["fields"]["width"]
