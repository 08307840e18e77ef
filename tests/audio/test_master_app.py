"""Masters and reference tracks in the app: references added, listed with their analysis and
removed (audio of the same project only, never a mix source); master requests checked whole
(400s naming each field, 404 for another project's mix, 403 for an artist, nothing queued); the
master job in process (Master N with its audio, pre-limiter file, settings and report, on target
and under the ceiling, events, feed); approvals of a master and the gate into delivered; and
through a real worker: progress frames, cancel, a duplicate delivery and a killed child, each
ending in exactly one master and no half file."""

from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.conf import settings

from audio import storage
from audio.demo import RATE, mixdown, synth_stems
from audio.engine.io import write_wav
from audio.jobs import runner
from audio.jobs.workdir import workdir_path
from audio.models import (
    Asset,
    AssetKind,
    Job,
    JobKind,
    JobState,
    Master,
    Mix,
    ReferenceTrack,
    StoredAt,
)
from audio.services import jobs
from audio.services.assets import asset_ingest_file, stem_attach, stored_file_create
from audio.services.masters import reference_add
from audio.services.mixes import mix_create
from eventlog.models import Event
from eventlog.schemas import EVENT_SCHEMAS
from pages.activity import describe
from studio.selectors import song_facts
from studio.services.songs import song_create
from tests.audio.conftest import Worker, wait_for
from tests.audio.test_jobs_runner import ProgressFrames
from tests.audio.test_storage_s3 import BUCKET as S3_BUCKET
from tests.audio.test_storage_s3 import _keys as s3_keys
from tests.audio.test_storage_s3 import _local_files as s3_local_files
from tests.audio.test_storage_s3 import s3  # noqa: F401  (the mocked S3 fixture)

pytestmark = [pytest.mark.urls("tests.audio.urls"), pytest.mark.timeout(300)]


def _audio_asset(
    scenario: Any, name: str, *, seconds: float = 8.0, bpm: float = 104.0, gain_db: float = 0.0
) -> Asset:
    """A synthesised song-like stereo file (drums, bass, keys, lead) at 44.1 kHz, 24 bit."""
    samples = mixdown(synth_stems(bpm=bpm, seconds=seconds), {}) * 10 ** (gain_db / 20)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.wav"
        write_wav(path, samples, RATE, bit_depth=24)
        return asset_ingest_file(
            actor=scenario.users["engineer"],
            project=scenario.project,
            path=path,
            original_name=f"{name}.wav",
        )


def _mix(scenario: Any, song: Any, seconds: float = 8.0) -> Mix:
    asset = _audio_asset(scenario, f"{song.title} mix", seconds=seconds)
    return mix_create(actor=scenario.users["engineer"], song=song, asset=asset)


def _reference(scenario: Any, song: Any, title: str = "Commercial hit") -> ReferenceTrack:
    asset = _audio_asset(scenario, title, bpm=120.0, gain_db=0.9)
    return reference_add(actor=scenario.users["engineer"], song=song, asset=asset, title=title)


def _events(kind: str) -> list[Event]:
    return list(Event.objects.filter(type=kind).order_by("seq"))


def _events_follow_their_schemas() -> None:
    for event in Event.objects.all():
        assert event.type in EVENT_SCHEMAS, event.type
        jsonschema.validate(event.payload, EVENT_SCHEMAS[event.type])


def _request(client: Any, body: dict[str, Any]) -> Any:
    return client.post("/api/masters/", body, format="json")


def _master_in_process(client: Any, body: dict[str, Any]) -> Job:
    response = _request(client, body)
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]["id"]
    assert runner.run_job(job_id) == "done", Job.objects.get(pk=job_id).error
    return Job.objects.get(pk=job_id)


def _run_analyses() -> None:
    for job in Job.objects.filter(kind=JobKind.ANALYZE, state=JobState.QUEUED):
        assert runner.run_job(job.pk) == "done"


# --- reference tracks ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reference_is_added_listed_with_its_analysis_and_removed(
    scenario: Any, song: Any
) -> None:
    asset = _audio_asset(scenario, "Hit single", bpm=120.0)
    client = scenario.client("engineer")
    created = client.post(
        "/api/references/", {"song": song.pk, "asset": asset.pk, "title": ""}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["song"], body["asset"], body["title"]) == (song.pk, asset.pk, "Hit single")
    assert body["asset_url"] == f"/api/assets/{asset.pk}/file/?disposition=inline"
    assert body["added_by"]["username"] == scenario.users["engineer"].username
    assert body["analysis"] is None  # its analysis job has not run yet
    _run_analyses()
    listing = scenario.client("viewer").get(f"/api/references/?song={song.pk}")
    assert listing.status_code == 200
    (row,) = listing.json()["results"]
    analysis = row["analysis"]
    assert -30 < analysis["integrated_lufs"] < 0 and analysis["true_peak_dbtp"] < 0.5
    assert analysis["lra"] is not None and len(analysis["spectrum"]["centres_hz"]) > 20
    assert row["duration_s"] == pytest.approx(8.0)
    other = song_create(actor=scenario.users["producer"], project=scenario.project, title="B")
    assert client.get(f"/api/references/?song={other.pk}").json()["results"] == []
    again = client.post("/api/references/", {"song": song.pk, "asset": asset.pk}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "reference_exists"
    gone = client.delete(f"/api/references/{body['id']}/")
    assert gone.status_code == 204 and not ReferenceTrack.objects.exists()
    assert Asset.objects.filter(pk=asset.pk).exists()  # the file stays
    assert len(_events("reference.added")) == 1 and len(_events("reference.removed")) == 1
    _events_follow_their_schemas()
    who = scenario.users["engineer"].username
    texts = [a.text for a in describe(list(Event.objects.order_by("seq")))]
    assert f"{who} added the reference 'Hit single' to 'Night Drive'" in texts
    assert f"{who} removed the reference 'Hit single' from 'Night Drive'" in texts


@pytest.mark.django_db
def test_a_reference_is_audio_of_the_same_project_and_only_producers_and_engineers_add_it(
    scenario: Any, other_scenario: Any, song: Any
) -> None:
    foreign = _audio_asset(other_scenario, "Theirs")
    report, _ = stored_file_create(
        project=scenario.project,
        kind=AssetKind.REPORT,
        media_type="application/json",
        path_or_bytes=b'{"not": "audio"}',
        name="qc.json",
    )
    mine = _audio_asset(scenario, "Ours")
    client = scenario.client("producer")
    refused = client.post("/api/references/", {"song": song.pk, "asset": foreign.pk}, format="json")
    assert refused.status_code == 400 and "asset" in refused.json()["fields"]
    not_audio = client.post(
        "/api/references/", {"song": song.pk, "asset": report.pk}, format="json"
    )
    assert not_audio.status_code == 400 and not_audio.json()["code"] == "not_audio"
    for who, status in (("artist", 403), ("viewer", 403), ("outsider", 400)):
        response = scenario.client(who).post(
            "/api/references/", {"song": song.pk, "asset": mine.pk}, format="json"
        )
        assert response.status_code == status, (who, response.content)
    assert not ReferenceTrack.objects.exists() and not _events("reference.added")
    ref = reference_add(actor=scenario.users["producer"], song=song, asset=mine)
    assert scenario.client("artist").delete(f"/api/references/{ref.pk}/").status_code == 403
    assert scenario.client("outsider").delete(f"/api/references/{ref.pk}/").status_code == 404
    assert scenario.client("outsider").get(f"/api/references/{ref.pk}/").status_code == 404
    assert ReferenceTrack.objects.filter(pk=ref.pk).exists()


@pytest.mark.django_db
def test_a_reference_is_never_a_source_of_a_mix(scenario: Any, song: Any) -> None:
    """A spec names stems, takes and mixes of the song; a reference is none of them, whether
    named as a reference or by its asset's id."""
    ref = _reference(scenario, song)
    stem_asset = _audio_asset(scenario, "Stem", seconds=2.0)
    stem_attach(actor=scenario.users["engineer"], song=song, asset=stem_asset, instrument="x")
    client = scenario.client("engineer")
    for source in (f"reference:{ref.pk}", f"stem:{ref.asset_id}", f"mix:{ref.pk}"):
        spec = {
            "version": 1,
            "sample_rate": 44100,
            "tracks": [{"id": "a", "clips": [{"source": source, "start": 0}]}],
        }
        response = client.post("/api/mixes/", {"song": song.pk, "spec": spec}, format="json")
        assert response.status_code == 400, (source, response.content)
        assert "tracks[0].clips[0].source" in response.json()["fields"]
    assert not Mix.objects.filter(song=song).exists()


# --- master requests -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_master_requests_are_refused_naming_their_fields_and_queue_nothing(
    scenario: Any, other_scenario: Any, song: Any
) -> None:
    mix = _mix(scenario, song, seconds=2.0)
    other_song = song_create(actor=scenario.users["producer"], project=scenario.project, title="B")
    elsewhere = _reference(scenario, other_song, "On another song")
    theirs = mix_create(
        actor=other_scenario.users["engineer"],
        song=song_create(
            actor=other_scenario.users["producer"], project=other_scenario.project, title="C"
        ),
        asset=_audio_asset(other_scenario, "Their mix", seconds=2.0),
    )
    client = scenario.client("engineer")
    jobs_before, events_before = Job.objects.count(), Event.objects.count()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"preset": "napster"}, "preset"),
        ({"target_lufs": -3}, "target_lufs"),
        ({"target_lufs": "loud"}, "target_lufs"),
        ({"ceiling_dbtp": 0.5}, "ceiling_dbtp"),
        ({"intensity": 150}, "intensity"),
        ({"bit_depth": "32f"}, "bit_depth"),
        ({"references": [elsewhere.pk]}, "references[0]"),
        ({"references": [999999]}, "references[0]"),
        ({"references": "all"}, "references"),
        ({"stages": {"eq": [{"kind": "notch", "freq": 100}]}}, "stages.eq[0].kind"),
        ({"stages": {"eq": [{"kind": "peak", "freq": 5}]}}, "stages.eq[0].freq"),
        ({"stages": {"eq": [{"kind": "peak", "freq": 1000, "q": 0}]}}, "stages.eq[0].q"),
        ({"stages": {"eq": [{"kind": "peak"}]}}, "stages.eq[0].freq"),
        ({"stages": {"compressor": {"ratio": 0.5}}}, "stages.compressor.ratio"),
        ({"stages": {"compressor": {"lookahead": 5}}}, "stages.compressor.lookahead"),
        ({"stages": {"saturation": {"drive_db": 40}}}, "stages.saturation.drive_db"),
        ({"stages": {"width": 250}}, "stages.width"),
        ({"stages": {"eq_phase": "zero"}}, "stages.eq_phase"),
        ({"stages": {"eq": [{"kind": "peak", "freq": 20000}]}}, "stages.eq[0].freq"),
        ({"stages": {"multiband": {"low_hz": 1000, "high_hz": 1200}}}, "stages.multiband.high_hz"),
        ({"stages": {"multiband": {"mid": {"ratio": 50}}}}, "stages.multiband.mid.ratio"),
        ({"match_tone": -1}, "match_tone"),
        ({"match_width": 101}, "match_width"),
        ({"references": [], "reference_weights": [1]}, "reference_weights"),
        ({"stages": {"reverb": {}}}, "stages.reverb"),
        ({"target": -14}, "target"),
    ]
    for extra, field in cases:
        response = _request(client, {"mix": mix.pk, **extra})
        where = f"{extra} -> {response.status_code} {response.content[:300]!r}"
        assert response.status_code == 400, where
        assert field in response.json()["fields"], where
        assert response.json()["detail"], where
    several = _request(client, {"mix": mix.pk, "preset": "x", "stages": {"width": -1}})
    assert set(several.json()["fields"]) == {"preset", "stages.width"}
    missing = _request(client, {"preset": "spotify"})
    assert missing.status_code == 400 and "mix" in missing.json()["fields"]
    assert _request(client, {"mix": theirs.pk}).status_code == 404
    assert _request(client, {"mix": 10**12}).status_code == 404
    for who in ("artist", "viewer"):
        denied = _request(scenario.client(who), {"mix": mix.pk, "preset": "spotify"})
        assert denied.status_code == 403, who
    assert _request(scenario.client("outsider"), {"mix": mix.pk}).status_code == 404
    assert (Job.objects.count(), Event.objects.count()) == (jobs_before, events_before)
    # a draft has no audio to master yet
    stem_attach(
        actor=scenario.users["engineer"],
        song=song,
        asset=_audio_asset(scenario, "stem", seconds=1.0),
    )
    draft = client.post("/api/mixes/", {"song": song.pk, "from": "keepers"}, format="json")
    refused = _request(client, {"mix": draft.json()["id"]})
    assert refused.status_code == 409 and refused.json()["code"] == "mix_draft"


@pytest.mark.django_db
def test_presets_are_the_engines_platforms_with_their_sources(scenario: Any) -> None:
    response = scenario.client("viewer").get("/api/masters/presets/")
    assert response.status_code == 200
    presets = {p["name"]: p for p in response.json()}
    assert set(presets) == {"spotify", "apple", "youtube", "amazon", "tidal", "deezer", "cd"}
    assert (presets["spotify"]["lufs"], presets["spotify"]["ceiling_dbtp"]) == (-14.0, -1.0)
    assert (presets["amazon"]["lufs"], presets["amazon"]["ceiling_dbtp"]) == (-14.0, -2.0)
    assert presets["cd"]["lufs"] is None and all(p["source"] for p in presets.values())
    assert scenario.client("outsider").get("/api/masters/presets/").status_code == 200
    assert scenario.client(None).get("/api/masters/presets/").status_code == 401


def test_the_master_kind_runs_on_the_audio_queue_within_the_broker_visibility_timeout() -> None:
    """A job whose hard limit outlasts Redis's visibility timeout would be delivered again while
    it still runs (the deploy check W004 says so); the master kind stays under it."""
    from django.core import checks

    from audio.jobs.registry import registered

    spec = registered("master")
    assert spec is not None and spec.queue == "audio" and spec.subject == "mix"
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    assert visibility is not None and spec.hard_limit_s < visibility
    found = checks.run_checks(include_deployment_checks=True)
    assert "studio.W004" not in {c.id for c in found}


# --- the master job in process -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_master_job_makes_master_one_on_target_under_the_ceiling_with_its_files(
    scenario: Any, song: Any
) -> None:
    mix = _mix(scenario, song, seconds=8.0)
    ref = _reference(scenario, song)
    client = scenario.client("engineer")
    body = {
        "mix": mix.pk,
        "preset": "amazon",
        "references": [ref.pk],
        "intensity": 60,
        "match_width": 50,
        "reference_weights": [2],
        "stages": {
            "eq": [{"kind": "highpass", "freq": 30}, {"kind": "peak", "freq": 3000, "gain_db": 1}],
            "eq_phase": "linear",
            "multiband": {"low_hz": 150, "high": {"threshold_db": -24, "ratio": 3}},
            "compressor": {"threshold_db": -20, "ratio": 2},
            "saturation": {"drive_db": 3},
            "width": 110,
        },
        "bit_depth": "16",
    }
    job = _master_in_process(client, body)
    assert job.kind == "master" and job.mix_id == mix.pk
    master = Master.objects.select_related("asset", "prelimiter_asset").get()
    assert (master.number, master.song_id, master.mix_id, master.job_id) == (
        1,
        song.pk,
        mix.pk,
        job.pk,
    )
    assert job.result["master"] == master.pk and job.result["asset"] == master.asset_id
    settings_ = master.settings
    assert (settings_["preset"], settings_["target_lufs"], settings_["ceiling_dbtp"]) == (
        "amazon",
        -14.0,
        -2.0,
    )
    assert settings_["target_from"] == "preset" and settings_["references"] == [ref.pk]
    assert settings_["stages"]["eq"][0] == {
        "kind": "highpass",
        "freq": 30.0,
        "gain_db": 0.0,
        "q": 0.707,
    }
    assert settings_["stages"]["compressor"]["attack_ms"] == 10.0  # the engine's default
    multiband = settings_["stages"]["multiband"]
    assert (multiband["low_hz"], multiband["high_hz"]) == (150.0, 2500.0)
    assert multiband["high"]["ratio"] == 3.0 and multiband["low"]["attack_ms"] == 30.0
    assert settings_["match_width"] == 50.0 and settings_["reference_weights"] == [2.0]
    report = master.report
    out = report["output"]
    assert report["target_met"] is True
    assert abs(out["integrated_lufs"] - -14.0) <= 0.2
    assert out["true_peak_accurate_dbtp"] <= -2.0 and out["true_peak_dbtp"] <= -2.0
    assert report["reference"]["ids"] == [ref.pk]
    assert report["reference"]["files"] == ["Commercial hit"]
    assert report["prelimiter"] == master.prelimiter_asset_id
    kinds = {s["type"] for s in report["stages"]}
    assert kinds >= {"eq", "multiband", "compressor", "saturation", "limiter"}, kinds
    assert report["platforms"]["spotify"]["lufs"] == -14.0 and report["lossy"]
    assert len(report["gain_reduction"]["db"]) == 16  # 8 s at two values a second
    spectra = report["spectra"]
    assert spectra["output"]["centres_hz"] and spectra["reference"]["levels_db"]
    assert report["reference"]["weights"] == [1.0] and report["reference"]["width_weight"] == 50
    assert "/" not in str(report.get("reference", {}).get("files"))  # no local paths
    asset, pre = master.asset, master.prelimiter_asset
    assert asset is not None and pre is not None and asset.pk != pre.pk
    assert (asset.format, asset.bit_depth, asset.frames) == ("wav", 16, mix.asset.frames)
    assert pre.frames == mix.asset.frames and asset.original_name == "Night Drive - Master 1.wav"
    for stored in (asset, pre):
        with storage.local_path(stored.storage_name) as path:
            assert storage.sha256_file(path) == stored.sha256
    assert Job.objects.filter(asset=asset, kind="analyze").count() == 1
    assert not Job.objects.filter(asset=pre, kind="analyze").exists()  # a download only
    assert not workdir_path(job.pk).exists()
    (created,) = _events("master.created")
    assert created.payload["master"] == {
        "id": master.pk,
        "project": scenario.project.pk,
        "song": song.pk,
        "mix": mix.pk,
        "number": 1,
        "asset": asset.pk,
        "prelimiter_asset": pre.pk,
        "is_approved": False,
    }
    assert created.payload["job"] == job.pk and created.actor_id == scenario.users["engineer"].pk
    _events_follow_their_schemas()
    # the API, for everyone in the project
    detail = scenario.client("viewer").get(f"/api/masters/{master.pk}/")
    assert detail.status_code == 200
    data = detail.json()
    assert (data["name"], data["mix"], data["mix_number"], data["number"]) == (
        "Master 1",
        mix.pk,
        1,
        1,
    )
    assert data["asset_url"] == f"/api/assets/{asset.pk}/file/?disposition=inline"
    assert data["prelimiter_url"] == f"/api/assets/{pre.pk}/file/?disposition=inline"
    assert data["report"]["output"]["integrated_lufs"] == out["integrated_lufs"]
    assert data["settings"] == settings_ and data["is_approved"] is False
    assert data["created_by"]["username"] == scenario.users["engineer"].username
    audio = scenario.client("artist").get(data["asset_url"], HTTP_RANGE="bytes=0-3")
    assert audio.status_code == 206 and b"".join(audio.streaming_content) == b"RIFF"
    assert scenario.client("outsider").get(f"/api/masters/{master.pk}/").status_code == 404
    # mastering again makes Master 2; the list is the song's
    again = _master_in_process(client, {"mix": mix.pk, "target_lufs": -9.0, "ceiling_dbtp": -1})
    second = Master.objects.get(job=again)
    assert second.number == 2 and second.settings["target_from"] == "request"
    assert abs(second.report["output"]["integrated_lufs"] - -9.0) <= 0.2
    assert second.report["output"]["true_peak_accurate_dbtp"] <= -1.0
    assert second.report["gain_reduction_max_db"] > 0
    listing = client.get(f"/api/masters/?song={song.pk}").json()["results"]
    assert [m["number"] for m in listing] == [1, 2]
    assert client.get(f"/api/masters/?mix={mix.pk}").json()["count"] == 2
    # the feed tells the masters once each, not their jobs
    who = scenario.users["engineer"].username
    texts = [a.text for a in describe(list(Event.objects.order_by("seq")))]
    assert texts.count(f"{who} mastered 'Night Drive': Master 1") == 1
    assert f"{who} mastered 'Night Drive': Master 2" in texts
    assert not [t for t in texts if "Master job" in t]


@pytest.mark.django_db
def test_the_target_comes_from_the_references_when_nothing_else_sets_it(
    scenario: Any, song: Any
) -> None:
    mix = _mix(scenario, song, seconds=8.0)
    ref = _reference(scenario, song)
    job = _master_in_process(scenario.client("producer"), {"mix": mix.pk, "references": [ref.pk]})
    master = Master.objects.get(job=job)
    assert master.settings["target_from"] == "references"
    loudness = master.report["reference"]["integrated_lufs"][0]
    assert master.report["target_lufs"] == pytest.approx(round(loudness, 2), abs=0.01)
    assert abs(master.report["output"]["integrated_lufs"] - master.report["target_lufs"]) <= 0.2


@pytest.mark.django_db
def test_a_run_after_its_master_committed_hands_that_master_back(scenario: Any, song: Any) -> None:
    """The commit landed but the worker died before acknowledging: the job is claimed again
    (its row put back to running) and the run finds its master instead of making another."""
    mix = _mix(scenario, song, seconds=2.0)
    job = _master_in_process(scenario.client("engineer"), {"mix": mix.pk})
    assets = Asset.objects.count()
    Job.objects.filter(pk=job.pk).update(state=JobState.QUEUED)
    assert runner.run_job(job.pk) == "done"
    assert Master.objects.count() == 1 and Asset.objects.count() == assets
    assert len(_events("master.created")) == 1


@pytest.mark.django_db
def test_a_reference_removed_before_the_job_runs_fails_it_with_a_sentence(
    scenario: Any, song: Any
) -> None:
    mix = _mix(scenario, song, seconds=2.0)
    ref = _reference(scenario, song)
    client = scenario.client("engineer")
    response = _request(client, {"mix": mix.pk, "references": [ref.pk]})
    assert client.delete(f"/api/references/{ref.pk}/").status_code == 204
    job_id = response.json()["job"]["id"]
    assert runner.run_job(job_id) == "failed"
    job = Job.objects.get(pk=job_id)
    assert job.error_code == "audio.master_invalid" and "removed" in job.error
    assert not Master.objects.exists()


# --- approvals and the gate ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_master_is_approved_by_an_engineer_and_the_artists_and_opens_delivery(
    scenario: Any, song: Any
) -> None:
    mix = _mix(scenario, song, seconds=2.0)
    job = _master_in_process(scenario.client("engineer"), {"mix": mix.pk, "preset": "spotify"})
    master = Master.objects.get(job=job)
    assert not song_facts(song).has_approved_master
    state = scenario.client("viewer").get(f"/api/approvals/state/?master={master.pk}").json()
    assert state["approved"] is False and state["reasons"]
    viewer = scenario.client("viewer").post(
        "/api/approvals/", {"master": master.pk, "verdict": "approved"}, format="json"
    )
    assert viewer.status_code == 403
    for who in ("engineer", "artist"):
        response = scenario.client(who).post(
            "/api/approvals/", {"master": master.pk, "verdict": "approved"}, format="json"
        )
        assert response.status_code == 201, (who, response.content)
    master.refresh_from_db()
    assert master.is_approved
    assert scenario.client("viewer").get(f"/api/masters/{master.pk}/").json()["is_approved"]
    assert song_facts(song).has_approved_master
    gates = scenario.client("producer").get(f"/api/songs/{song.pk}/gates/").json()
    assert "no approved master yet" not in str(gates)
    assert len(_events("master.approval_changed")) == 1
    _events_follow_their_schemas()


# --- through a real worker -----------------------------------------------------------------------


def _wait_over(job_id: int, timeout: float = 180) -> Job:
    over = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
    wait_for(lambda: Job.objects.get(pk=job_id).state in over, timeout)
    return Job.objects.get(pk=job_id)


def _start(scenario: Any, mix: Mix, **extra: Any) -> int:
    response = _request(scenario.client("engineer"), {"mix": mix.pk, **extra})
    assert response.status_code == 202, response.content
    return int(response.json()["job"]["id"])


def _no_partial_files(project_id: int) -> None:
    media = Path(settings.MEDIA_ROOT) / "assets" / str(project_id)
    assert not list(media.glob("*.tmp")) if media.is_dir() else True


def _song(scenario: Any, title: str) -> Any:
    return song_create(actor=scenario.users["producer"], project=scenario.project, title=title)


@pytest.mark.django_db(transaction=True)
def test_a_master_through_a_real_worker_streams_progress_and_its_analyses_follow(
    celery_worker_proc: Worker, scenario: Any
) -> None:
    song = _song(scenario, "Progress")
    mix = _mix(scenario, song, seconds=60.0)
    listener = ProgressFrames(scenario.project.pk)
    try:
        job_id = _start(scenario, mix, preset="spotify", stages={"compressor": {"ratio": 3}})
        job = _wait_over(job_id)
        wait_for(lambda: len(listener.of(job_id)) >= 2, 10)
    finally:
        listener.close()
    assert job.state == JobState.DONE, job.error
    assert job.progress == 1.0
    values = [p for _, p in listener.of(job_id)]
    assert len(values) >= 2 and values == sorted(values) and 0 < values[-1] <= 1.0, values
    master = Master.objects.get(job_id=job_id)
    assert master.number == 1 and abs(master.report["output"]["integrated_lufs"] + 14) <= 0.2
    analysis = Job.objects.get(asset_id=master.asset_id, kind="analyze")
    wait_for(lambda: Job.objects.get(pk=analysis.pk).state == JobState.DONE, 60)
    asset = Asset.objects.get(pk=master.asset_id)
    assert asset.analysis is not None and asset.peaks_name
    assert abs(asset.analysis["integrated_lufs"] + 14) <= 0.2
    assert not workdir_path(job_id).exists()


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_master_leaves_no_master_and_no_file(
    celery_worker_proc: Worker, scenario: Any
) -> None:
    song = _song(scenario, "Cancel")
    mix = _mix(scenario, song, seconds=240.0)
    assets = Asset.objects.count()
    job_id = _start(scenario, mix)
    wait_for(lambda: Job.objects.get(pk=job_id).progress >= 0.1, 120, 0.05)
    client = scenario.client("engineer")
    assert scenario.client("artist").post(f"/api/jobs/{job_id}/cancel/").status_code == 403
    assert client.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
    # The handler has stopped when its work folder is gone (the runner removes it on the way
    # out). The worker's log names tasks, not jobs, so it cannot say which job returned.
    wait_for(lambda: not workdir_path(job_id).exists(), 60)
    time.sleep(1.0)
    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.CANCELLED and job.progress < 1.0
    assert not Master.objects.filter(song=song).exists() and not _events("master.created")
    assert Asset.objects.count() == assets
    assert not workdir_path(job_id).exists()
    _no_partial_files(scenario.project.pk)


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_delivery_of_a_master_ends_in_one_master(
    celery_worker_proc: Worker, scenario: Any
) -> None:
    song = _song(scenario, "Twice")
    mix = _mix(scenario, song, seconds=60.0)
    assets = Asset.objects.count()
    job_id = _start(scenario, mix)
    jobs.job_send(job_id, "master")  # the same message again, while the first runs
    job = _wait_over(job_id)
    assert job.state == JobState.DONE, job.error
    jobs.job_send(job_id, "master")  # and once more after it finished
    wait_for(lambda: Job.objects.get(pk=job_id).deliveries >= 3, 30)
    time.sleep(0.5)
    job.refresh_from_db()
    assert job.attempts == 1
    assert Event.objects.filter(type="job.finished", payload__job__id=job_id).count() == 1
    assert Master.objects.filter(song=song).count() == 1 and len(_events("master.created")) == 1
    assert Asset.objects.count() == assets + 2  # the master and its pre-limiter file


@pytest.mark.django_db(transaction=True)
def test_a_master_whose_worker_child_is_killed_runs_again_into_one_master_with_whole_files(
    celery_worker_proc: Worker, scenario: Any
) -> None:
    song = _song(scenario, "Kill")
    mix = _mix(scenario, song, seconds=240.0)
    assets = Asset.objects.count()
    job_id = _start(scenario, mix)

    def running_pid() -> int | None:
        row = Job.objects.filter(pk=job_id, state=JobState.RUNNING, progress__gte=0.1)
        owner = row.values_list("lease_owner", flat=True).first() or ""
        pid = owner.rpartition(":")[2]
        return int(pid) if pid.isdigit() and int(pid) in celery_worker_proc.children() else None

    pid = wait_for(running_pid, 120, 0.05)
    os.kill(pid, signal.SIGKILL)
    job = _wait_over(job_id, 240)
    assert job.state == JobState.DONE, (job.error_code, job.error)
    assert job.attempts == 2
    master = Master.objects.get(song=song)
    assert master.job_id == job_id and len(_events("master.created")) == 1
    assert Asset.objects.count() == assets + 2
    for asset in Asset.objects.filter(pk__in=[master.asset_id, master.prelimiter_asset_id]):
        with storage.local_path(asset.storage_name) as path:
            assert storage.sha256_file(path) == asset.sha256  # whole files, not halves
    _no_partial_files(scenario.project.pk)


# --- with S3 storage ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_s3_a_master_reads_mix_and_reference_from_s3_and_stages_both_outputs(
    s3: Any,  # noqa: F811  (the fixture imported above)
    settings: Any,
    scenario: Any,
    song: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The mix and the reference are scratch copies of their S3 objects, removed after the
    run; the master and its pre-limiter file are staged (keyed by checksum) with their assets,
    and their store jobs PUT exactly those bytes; nothing is left on local disk."""
    mix = _mix(scenario, song, seconds=2.0)
    ref = _reference(scenario, song)
    assert len(s3_keys(s3)) == 2 and s3_local_files(settings) == []
    job = _master_in_process(scenario.client("engineer"), {"mix": mix.pk, "references": [ref.pk]})
    master = Master.objects.get(job=job)
    outputs = list(Asset.objects.filter(pk__in=[master.asset_id, master.prelimiter_asset_id]))
    assert len(outputs) == 2 and all(a.stored_at == StoredAt.STAGED for a in outputs)
    staged = sorted(storage.asset_staged_path(a) for a in outputs)
    assert sorted(s3_local_files(settings)) == staged
    for asset in outputs:
        store = Job.objects.get(asset=asset, kind=JobKind.STORE)
        with django_capture_on_commit_callbacks(execute=True):
            assert runner.run_job(store.pk) == "done"
        asset.refresh_from_db()
        assert asset.stored_at == StoredAt.STORAGE and asset.storage_name in s3_keys(s3)
        data = s3.get_object(Bucket=S3_BUCKET, Key=asset.storage_name)["Body"].read()
        assert hashlib.sha256(data).hexdigest() == asset.sha256
    assert s3_local_files(settings) == []
