"""Rendered mix versions in the app: drafts from the keepers or a spec, the spec API with 400s
keyed by JSON path (nothing stored on a bad spec), roles, previews, the render job in process
(same spec twice: the same file and the same Asset; a rendered spec never changes), and through a
real worker: progress frames, cancel, a pool child killed mid-render, a duplicate delivery."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import soundfile as sf
from django.conf import settings

from audio import storage
from audio.jobs import runner
from audio.jobs.workdir import workdir_path
from audio.models import Asset, Job, JobKind, JobState, Mix, MixState, Stem, StoredAt
from audio.services import jobs
from audio.services.assets import asset_ingest_file, stem_attach, take_attach
from audio.services.mixes import mix_create
from audio.services.renders import render_cache_dir
from eventlog.models import Event
from eventlog.schemas import EVENT_SCHEMAS
from pages.activity import describe
from sessions.services.keepers import take_set_keeper
from studio.services.songs import song_create
from tests.audio.audiofiles import write_wav
from tests.audio.conftest import Worker, wait_for
from tests.audio.test_jobs_runner import ProgressFrames
from tests.audio.test_storage_s3 import BUCKET as S3_BUCKET
from tests.audio.test_storage_s3 import _keys as s3_keys
from tests.audio.test_storage_s3 import _local_files as s3_local_files
from tests.audio.test_storage_s3 import s3  # noqa: F401  (the mocked S3 fixture)

pytestmark = [pytest.mark.urls("tests.audio.urls"), pytest.mark.timeout(240)]


def _ingest(scenario: Any, tmp_path: Path, name: str, **wav: Any) -> Asset:
    path = write_wav(tmp_path / f"{name}.wav", **wav)
    return asset_ingest_file(
        actor=scenario.users["engineer"], project=scenario.project, path=path, original_name=name
    )


def _stems(
    scenario: Any, song: Any, tmp_path: Path, n: int = 2, seconds: float = 1.0, rate: int = 48000
) -> list[Stem]:
    out = []
    for i in range(n):
        asset = _ingest(
            scenario,
            tmp_path,
            f"{song.pk}-stem{i}-{seconds}",
            seconds=seconds,
            rate=rate,
            channels=1 + i % 2,
            seed=100 + i + 10 * song.pk,
        )
        out.append(
            stem_attach(
                actor=scenario.users["engineer"], song=song, asset=asset, instrument=f"inst {i}"
            )
        )
    return out


def _keepers_draft(client: Any, song: Any) -> dict[str, Any]:
    response = client.post("/api/mixes/", {"song": song.pk, "from": "keepers"}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def _put_spec(client: Any, mix_id: int, body: bytes | str | dict, **headers: Any) -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic(
        "PUT", f"/api/mixes/{mix_id}/spec/", data, content_type="application/json", **headers
    )


def _events(kind: str) -> int:
    return Event.objects.filter(type=kind).count()


def _events_follow_their_schemas() -> None:
    """Every event recorded so far validates against its declared schema."""
    for event in Event.objects.all():
        assert event.type in EVENT_SCHEMAS, event.type
        jsonschema.validate(event.payload, EVENT_SCHEMAS[event.type])


def _render_in_process(client: Any, mix_id: int) -> Job:
    """POST render, then run the job here (inside the test's transaction nothing is sent)."""
    response = client.post(f"/api/mixes/{mix_id}/render/", {}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert runner.run_job(job_id) == "done", Job.objects.get(pk=job_id).error
    return Job.objects.get(pk=job_id)


def _wav(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples, rate


# --- drafts -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_draft_from_the_keepers_has_one_track_per_stem_and_keeper_take_at_unity(
    scenario: Any, song: Any, tmp_path: Path
) -> None:
    stems = _stems(scenario, song, tmp_path, n=2)
    take_asset = _ingest(scenario, tmp_path, "vox1", seconds=0.5, rate=44100, seed=5)
    keeper = take_attach(actor=scenario.users["engineer"], song=song, asset=take_asset, part="vox")
    spare = _ingest(scenario, tmp_path, "vox2", seconds=0.5, rate=44100, seed=6)
    take_attach(actor=scenario.users["engineer"], song=song, asset=spare, part="vox")
    take_set_keeper(actor=scenario.users["engineer"], take=keeper)
    client = scenario.client("engineer")
    mix = _keepers_draft(client, song)
    assert (mix["name"], mix["state"], mix["source"], mix["asset"]) == (
        "Mix 1 (draft)",
        "draft",
        "render",
        None,
    )
    got = client.get(f"/api/mixes/{mix['id']}/spec/")
    assert got.status_code == 200 and got["ETag"] == '"r0"'
    body = got.json()
    assert body["editable"] is True and body["spec_revision"] == 0
    spec = body["spec"]
    sources = [t["clips"][0]["source"] for t in spec["tracks"]]
    assert sources == [f"stem:{stems[0].pk}", f"stem:{stems[1].pk}", f"take:{keeper.pk}"]
    assert [t["id"] for t in spec["tracks"]] == ["inst-0", "inst-1", "vox"]
    assert spec["sample_rate"] == 48000  # two sources at 48 kHz, one at 44.1
    for track in spec["tracks"]:
        assert (track["gain_db"], track["pan"], track["fx"]) == (0.0, 0.0, [])
        assert track["clips"][0]["start"] == 0 and track["clips"][0]["length"] is None
        assert track["sends"] == [{"bus": "verb", "level_db": -144.0, "pre_fader": False}]
    assert [b["id"] for b in spec["buses"]] == ["verb"]
    assert spec["buses"][0]["fx"][0]["type"] == "Reverb"
    assert _events("mix.draft_created") == 1
    again = client.post("/api/mixes/", {"song": song.pk, "from": "keepers"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "draft_exists"
    assert again.json()["fields"]["draft"] == [str(mix["id"])]
    # an upload meanwhile takes the next number; the draft keeps its own
    upload = mix_create(actor=scenario.users["engineer"], song=song, asset=spare)
    assert upload.number == 2 and upload.state == MixState.RENDERED
    assert Mix.objects.get(pk=mix["id"]).number == 1
    _events_follow_their_schemas()


@pytest.mark.django_db
def test_a_draft_from_a_spec_and_its_replacement_record_events_and_revisions(
    scenario: Any, song: Any, tmp_path: Path
) -> None:
    (stem,) = _stems(scenario, song, tmp_path, n=1)
    spec = {
        "version": 1,
        "sample_rate": 48000,
        "tracks": [{"id": "a", "clips": [{"source": f"stem:{stem.pk}", "start": 0}]}],
    }
    client = scenario.client("producer")
    created = client.post("/api/mixes/", {"song": song.pk, "spec": spec}, format="json")
    assert created.status_code == 201, created.content
    mix_id = created.json()["id"]
    spec["tracks"][0]["gain_db"] = -6.0
    response = _put_spec(client, mix_id, spec, HTTP_IF_MATCH='"r0"')
    assert response.status_code == 200, response.content
    assert response.json()["spec"]["tracks"][0]["gain_db"] == -6.0
    assert response.json()["spec_revision"] == 1 and response["ETag"] == '"r1"'
    stale = _put_spec(client, mix_id, spec, HTTP_IF_MATCH='"r0"')
    assert stale.status_code == 412 and stale.json()["code"] == "spec_revision"
    assert _events("mix.spec_changed") == 1
    event = Event.objects.filter(type="mix.spec_changed").get()
    assert event.payload["mix"]["spec_revision"] == 1
    review = scenario.client("artist").post(
        "/api/approvals/", {"mix": mix_id, "verdict": "approved"}, format="json"
    )
    assert review.status_code == 409 and review.json()["code"] == "mix_draft"
    discard = client.delete(f"/api/mixes/{mix_id}/")
    assert discard.status_code == 204 and not Mix.objects.filter(pk=mix_id).exists()
    assert _events("mix.draft_discarded") == 1
    _events_follow_their_schemas()


# --- bad specs: 400 with JSON paths, nothing stored -----------------------------------------------


@pytest.mark.django_db
def test_every_kind_of_bad_spec_is_a_400_naming_its_path_and_changes_nothing(
    scenario: Any, song: Any, other_scenario: Any, tmp_path: Path
) -> None:
    (stem,) = _stems(scenario, song, tmp_path, n=1, seconds=1.0)
    other_song = song_create(actor=scenario.users["producer"], project=scenario.project, title="B")
    (foreign,) = _stems(scenario, other_song, tmp_path, n=1)
    client = scenario.client("engineer")
    mix_id = _keepers_draft(client, song)["id"]
    before = Mix.objects.get(pk=mix_id)
    events_before = Event.objects.count()

    def spec(**changes: Any) -> dict[str, Any]:
        clip = {"source": f"stem:{stem.pk}", "start": 0, **changes.pop("clip", {})}
        track = {"id": "a", "clips": [clip], **changes.pop("track", {})}
        return {"version": 1, "sample_rate": 48000, "tracks": [track], **changes}

    cases: list[tuple[Any, str]] = [
        (b'{"version": 1, "tracks": [', "spec"),
        (b"[1, 2]", "spec"),
        (spec(version=2), "version"),
        (spec(clip={"source": f"stem:{foreign.pk}"}), "tracks[0].clips[0].source"),
        (spec(clip={"source": "stem:999999"}), "tracks[0].clips[0].source"),
        (spec(clip={"source": "vox.wav"}), "tracks[0].clips[0].source"),
        (spec(clip={"length": 48000 * 5}), "tracks[0].clips[0].length"),
        (spec(track={"fx": [{"type": "Compressor", "ratio": 0.5}]}), "tracks[0].fx[0].ratio"),
        (spec(track={"fx": [{"type": "Flanger"}]}), "tracks[0].fx[0].type"),
        (spec(length=48000 * 3600 * 10), "length"),
        (
            {
                "version": 1,
                "sample_rate": 48000,
                "tracks": [
                    {"id": f"t{i}", "clips": [{"source": f"stem:{stem.pk}", "start": 0}]}
                    for i in range(1000)
                ],
            },
            "tracks",
        ),
        (
            spec(
                buses=[
                    {"id": "x", "output": "y"},
                    {"id": "y", "output": "x"},
                ]
            ),
            "buses",
        ),
    ]
    for body, path in cases:
        response = _put_spec(client, mix_id, body)
        where = f"{str(body)[:80]} -> {response.status_code} {response.content[:300]!r}"
        assert response.status_code == 400, where
        data = response.json()
        assert data["code"] == "spec_invalid", where
        assert any(key == path or key.startswith(path) for key in data["fields"]), where
    after = Mix.objects.get(pk=mix_id)
    assert (after.spec, after.spec_revision) == (before.spec, before.spec_revision)
    assert Event.objects.count() == events_before
    # the same checks guard a new draft: nothing is created
    client.delete(f"/api/mixes/{mix_id}/")
    count = Mix.objects.count()
    bad = spec(clip={"source": f"stem:{foreign.pk}"})
    response = client.post("/api/mixes/", {"song": song.pk, "spec": bad}, format="json")
    assert response.status_code == 400
    assert "tracks[0].clips[0].source" in response.json()["fields"]
    assert Mix.objects.count() == count


# --- roles --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_engineers_and_producers_edit_and_render_artists_and_viewers_read_outsiders_see_nothing(
    scenario: Any, tmp_path: Path
) -> None:
    for who in ("engineer", "producer", "artist", "viewer", "outsider"):
        song = song_create(actor=scenario.users["producer"], project=scenario.project, title=who)
        _stems(scenario, song, tmp_path, n=1, seconds=0.5)
        mix = _keepers_draft(scenario.client("producer"), song)
        spec = scenario.client("producer").get(f"/api/mixes/{mix['id']}/spec/").json()["spec"]
        client = scenario.client(who)
        base = f"/api/mixes/{mix['id']}"
        answers = {
            "create": client.post(
                "/api/mixes/", {"song": song.pk, "from": "keepers"}, format="json"
            ).status_code,
            "get spec": client.get(f"{base}/spec/").status_code,
            "put spec": _put_spec(client, mix["id"], spec).status_code,
            "preview": client.post(
                f"{base}/preview/", {"start_s": 0, "end_s": 0.2}, format="json"
            ).status_code,
            "render": client.post(f"{base}/render/", {}, format="json").status_code,
        }
        if who in ("engineer", "producer"):
            # the song has its draft already: a second one is a 409, the rest works
            assert answers == {
                "create": 409,
                "get spec": 200,
                "put spec": 200,
                "preview": 200,
                "render": 202,
            }, who
        elif who == "outsider":
            assert answers == {
                "create": 400,
                "get spec": 404,
                "put spec": 404,
                "preview": 404,
                "render": 404,
            }, who
        else:
            assert answers == {
                "create": 403,
                "get spec": 200,
                "put spec": 403,
                "preview": 403,
                "render": 403,
            }, who


# --- previews and the render job in process -------------------------------------------------------


@pytest.mark.django_db
def test_a_preview_is_the_full_render_over_its_window_and_long_ranges_are_refused(
    scenario: Any, song: Any, tmp_path: Path, settings: Any
) -> None:
    _stems(scenario, song, tmp_path, n=2, seconds=2.0)
    client = scenario.client("engineer")
    mix_id = _keepers_draft(client, song)["id"]
    spec = client.get(f"/api/mixes/{mix_id}/spec/").json()["spec"]
    spec["tracks"][0]["gain_db"] = -3.0
    spec["tracks"][1]["pan"] = 0.5
    assert _put_spec(client, mix_id, spec).status_code == 200
    response = client.post(
        f"/api/mixes/{mix_id}/preview/", {"start_s": 0.5, "end_s": 1.5}, format="json"
    )
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    window, rate = _wav(response.content)
    assert rate == 48000 and window.shape == (48000, 2)
    job = _render_in_process(client, mix_id)
    mix = Mix.objects.select_related("asset").get(pk=mix_id)
    with storage.local_path(mix.asset.storage_name) as path:
        full, _ = sf.read(path, dtype="float32", always_2d=True)
    assert np.array_equal(window, full[24000:72000])
    assert job.result["asset"] == mix.asset_id
    too_long = client.post(
        f"/api/mixes/{mix_id}/preview/", {"start_s": 0, "end_s": 31}, format="json"
    )
    assert too_long.status_code == 400 and "end_s" in too_long.json()["fields"]
    settings.RENDER_PREVIEW_BUDGET_S = 0.0  # the request's time budget is spent at once
    slow = client.post(f"/api/mixes/{mix_id}/preview/", {"start_s": 0, "end_s": 1}, format="json")
    assert slow.status_code == 409 and slow.json()["code"] == "preview_too_slow"


@pytest.mark.django_db
def test_rendering_gives_the_draft_its_audio_and_the_same_spec_twice_the_same_asset(
    scenario: Any, song: Any, tmp_path: Path
) -> None:
    _stems(scenario, song, tmp_path, n=2, seconds=1.0)
    client = scenario.client("engineer")
    first_id = _keepers_draft(client, song)["id"]
    job = _render_in_process(client, first_id)
    first = Mix.objects.select_related("asset").get(pk=first_id)
    assert first.state == MixState.RENDERED and first.asset is not None
    assert first.engine_version and len(first.samples_sha256) == 64
    assert first.samples_sha256 == job.result["samples_sha256"]
    assert first.asset.sha256 == job.result["sha256"] and first.asset.format == "wav"
    assert Job.objects.filter(asset=first.asset, kind="analyze").count() == 1
    rendered = Event.objects.filter(type="mix.rendered").get()
    assert rendered.payload["mix"]["state"] == "rendered" and rendered.actor_id
    detail = client.get(f"/api/mixes/{first_id}/").json()
    assert (detail["state"], detail["name"], detail["render_job"]) == ("rendered", "Mix 1", None)
    # a rendered version's spec never changes; a new draft copies it
    spec = client.get(f"/api/mixes/{first_id}/spec/").json()
    assert spec["editable"] is False
    refused = _put_spec(client, first_id, spec["spec"])
    assert refused.status_code == 409 and refused.json()["code"] == "mix_rendered"
    again = client.post(f"/api/mixes/{first_id}/render/", {}, format="json")
    assert again.status_code == 409
    copy = client.post("/api/mixes/", {"song": song.pk, "parent": first_id}, format="json")
    assert copy.status_code == 201, copy.content
    assert (copy.json()["number"], copy.json()["parent"]) == (2, first_id)
    assets = Asset.objects.count()
    _render_in_process(client, copy.json()["id"])
    second = Mix.objects.get(pk=copy.json()["id"])
    assert second.asset_id == first.asset_id and second.samples_sha256 == first.samples_sha256
    assert Asset.objects.count() == assets  # the same bytes: the same Asset, no new file
    assert Job.objects.filter(asset=first.asset, kind="analyze").count() == 1
    # the clip cache is per project (empty here: WAVs at the spec's rate are read in place)
    assert render_cache_dir(scenario.project.pk).is_dir()
    _events_follow_their_schemas()
    # the activity feed tells the draft and the render by the version's name, once each
    engineer = scenario.users["engineer"]
    who = engineer.get_short_name() or engineer.username
    texts = [a.text for a in describe(list(Event.objects.order_by("seq")))]
    assert f"{who} started Mix 1 (draft) of 'Night Drive'" in texts
    assert texts.count(f"{who} rendered Mix 1 of 'Night Drive'") == 1
    assert f"{who} rendered Mix 2 of 'Night Drive'" in texts
    assert not [t for t in texts if "Render job" in t]


@pytest.mark.django_db
def test_a_re_render_after_a_fader_move_reuses_every_prepared_clip(
    scenario: Any, song: Any, tmp_path: Path
) -> None:
    """The project's clip cache: a new draft copying a rendered one, with one fader moved,
    renders from the cached stretched clip (no entry is written again; WAV sources at the
    spec's rate are read in place) into a new file; a bad parameter of the render is a 400
    naming it."""
    _stems(scenario, song, tmp_path, n=2, seconds=1.0)
    client = scenario.client("engineer")
    first_id = _keepers_draft(client, song)["id"]
    spec = client.get(f"/api/mixes/{first_id}/spec/").json()["spec"]
    spec["tracks"][1]["clips"][0]["stretch"] = 1.25
    assert _put_spec(client, first_id, spec).status_code == 200
    bad = client.post(f"/api/mixes/{first_id}/render/", {"bit_depth": "8"}, format="json")
    assert bad.status_code == 400 and "bit_depth" in bad.json()["fields"]
    _render_in_process(client, first_id)
    cache = render_cache_dir(scenario.project.pk)
    entries = {p.name: p.stat().st_mtime_ns for p in cache.iterdir() if p.suffix == ".f32"}
    assert any(n.startswith("clip-") for n in entries)
    copy = client.post("/api/mixes/", {"song": song.pk, "parent": first_id}, format="json")
    second_id = copy.json()["id"]
    spec["tracks"][0]["gain_db"] = -6.0
    assert _put_spec(client, second_id, spec).status_code == 200
    _render_in_process(client, second_id)
    after = {p.name: p.stat().st_mtime_ns for p in cache.iterdir() if p.suffix == ".f32"}
    assert after == entries
    assert not list(cache.glob("hash-*"))  # the Assets' hashes key the cache: none hashed
    first, second = Mix.objects.get(pk=first_id), Mix.objects.get(pk=second_id)
    assert first.asset_id != second.asset_id and first.samples_sha256 != second.samples_sha256


@pytest.mark.django_db
def test_a_version_with_audio_may_be_a_source_but_not_a_draft_nor_the_mix_itself(
    scenario: Any, song: Any, tmp_path: Path
) -> None:
    uploaded_asset = _ingest(scenario, tmp_path, "mixdown", seconds=1.0, rate=44100, seed=9)
    uploaded = mix_create(actor=scenario.users["engineer"], song=song, asset=uploaded_asset)
    client = scenario.client("engineer")
    spec = {
        "version": 1,
        "sample_rate": 48000,
        "tracks": [{"id": "old", "clips": [{"source": f"mix:{uploaded.pk}", "start": 4800}]}],
    }
    created = client.post("/api/mixes/", {"song": song.pk, "spec": spec}, format="json")
    assert created.status_code == 201, created.content
    draft_id = created.json()["id"]
    spec["tracks"].append({"id": "self", "clips": [{"source": f"mix:{draft_id}", "start": 0}]})
    refused = _put_spec(client, draft_id, spec)
    assert refused.status_code == 400
    assert "is this mix itself" in refused.json()["fields"]["tracks[1].clips[0].source"][0]
    spec["tracks"].pop()
    _render_in_process(client, draft_id)
    rendered = Mix.objects.select_related("asset").get(pk=draft_id)
    assert rendered.asset is not None and rendered.asset.sample_rate == 48000
    # the resampled upload (44.1 -> 48 kHz) starts 0.1 s in
    assert rendered.asset.frames == 4800 + 48000


# --- through a real worker ----------------------------------------------------------------------


def _slow_draft(scenario: Any, tmp_path: Path, title: str, seconds: float = 120.0) -> Mix:
    """A draft that takes several seconds to render (four tracks of `seconds` with a reverb and a
    chorus each), rendering progress all along."""
    song = song_create(actor=scenario.users["producer"], project=scenario.project, title=title)
    for i in range(4):
        asset = _ingest(
            scenario, tmp_path, f"{title}{i}", seconds=seconds, rate=48000, channels=1, seed=i
        )
        stem_attach(actor=scenario.users["engineer"], song=song, asset=asset, instrument=f"s{i}")
    client = scenario.client("engineer")
    mix_id = _keepers_draft(client, song)["id"]
    spec = client.get(f"/api/mixes/{mix_id}/spec/").json()["spec"]
    for track in spec["tracks"]:
        track["fx"] = [{"type": "Reverb"}, {"type": "Chorus"}]
    assert _put_spec(client, mix_id, spec).status_code == 200
    return Mix.objects.get(pk=mix_id)


def _wait_over(job_id: int, timeout: float = 120) -> Job:
    wait_for(lambda: Job.objects.get(pk=job_id).state in (JobState.DONE, JobState.FAILED), timeout)
    return Job.objects.get(pk=job_id)


def _start(scenario: Any, mix: Mix) -> int:
    response = scenario.client("engineer").post(f"/api/mixes/{mix.pk}/render/", {}, format="json")
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


def _no_partial_files(project_id: int) -> None:
    media = Path(settings.MEDIA_ROOT) / "assets" / str(project_id)
    assert not list(media.glob("*.tmp")) if media.is_dir() else True


def _mix_events(kind: str, mix_id: int) -> int:
    return Event.objects.filter(type=kind, payload__mix__id=mix_id).count()


@pytest.mark.django_db(transaction=True)
def test_a_render_through_a_real_worker_streams_progress_and_its_analysis_follows(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    mix = _slow_draft(scenario, tmp_path, "Progress", seconds=30.0)
    listener = ProgressFrames(scenario.project.pk)
    try:
        job_id = _start(scenario, mix)
        listing = scenario.client("artist").get(f"/api/mixes/{mix.pk}/").json()
        assert listing["state"] in ("rendering", "rendered")
        job = _wait_over(job_id)
        # Frames are best effort (the layer may drop one); the row holds the end for sure.
        wait_for(lambda: len(listener.of(job_id)) >= 2, 10)
    finally:
        listener.close()
    assert job.state == JobState.DONE, job.error
    assert job.progress == 1.0
    values = [p for _, p in listener.of(job_id)]
    assert len(values) >= 2 and values == sorted(values) and 0 < values[-1] <= 1.0, values
    mix.refresh_from_db()
    assert mix.state == MixState.RENDERED and mix.asset_id
    assert _mix_events("mix.rendered", mix.pk) == 1
    analysis = Job.objects.get(asset_id=mix.asset_id, kind="analyze")
    wait_for(lambda: Job.objects.get(pk=analysis.pk).state == JobState.DONE, 60)
    asset = Asset.objects.get(pk=mix.asset_id)
    assert asset.analysis is not None and asset.peaks_name
    assert not workdir_path(job_id).exists()


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_render_leaves_the_draft_a_draft_and_no_file(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    mix = _slow_draft(scenario, tmp_path, "Cancel")
    assets = Asset.objects.count()
    job_id = _start(scenario, mix)
    wait_for(lambda: Job.objects.get(pk=job_id).progress >= 0.25, 90, 0.05)
    client = scenario.client("engineer")
    busy = _put_spec(client, mix.pk, mix.spec)
    assert busy.status_code == 409 and busy.json()["code"] == "mix_rendering"
    assert client.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
    # The handler has stopped when its work folder is gone (the runner removes it on the way
    # out). The worker's log names tasks, not jobs, so it cannot say which job returned.
    wait_for(lambda: not workdir_path(job_id).exists(), 30)
    time.sleep(1.0)
    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.CANCELLED and job.progress < 1.0
    mix.refresh_from_db()
    assert mix.state == MixState.DRAFT and mix.asset_id is None
    assert Asset.objects.count() == assets and _mix_events("mix.rendered", mix.pk) == 0
    assert not workdir_path(job_id).exists()
    _no_partial_files(scenario.project.pk)
    # still a draft: editable again and renderable
    detail = client.get(f"/api/mixes/{mix.pk}/").json()
    assert (detail["state"], detail["render_job"]) == ("draft", None)
    assert _put_spec(client, mix.pk, mix.spec).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_render_whose_worker_child_is_killed_runs_again_into_one_version_with_one_file(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    mix = _slow_draft(scenario, tmp_path, "Kill")
    assets = Asset.objects.count()
    job_id = _start(scenario, mix)

    def running_pid() -> int | None:
        row = Job.objects.filter(pk=job_id, state=JobState.RUNNING, progress__gte=0.3)
        owner = row.values_list("lease_owner", flat=True).first() or ""
        pid = owner.rpartition(":")[2]
        return int(pid) if pid.isdigit() and int(pid) in celery_worker_proc.children() else None

    pid = wait_for(running_pid, 90, 0.05)
    os.kill(pid, signal.SIGKILL)
    job = _wait_over(job_id, 180)
    assert job.state == JobState.DONE, (job.error_code, job.error)
    assert job.attempts == 2
    assert Event.objects.filter(type="job.started", payload__job__id=job_id).count() == 2
    mix.refresh_from_db()
    assert mix.state == MixState.RENDERED and mix.asset_id
    assert Mix.objects.filter(song=mix.song).count() == 1
    assert Asset.objects.count() == assets + 1 and _mix_events("mix.rendered", mix.pk) == 1
    asset = Asset.objects.get(pk=mix.asset_id)
    with storage.local_path(asset.storage_name) as path:
        assert storage.sha256_file(path) == asset.sha256  # the whole file, not a half
    _no_partial_files(scenario.project.pk)


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_delivery_of_a_render_ends_in_one_version_with_one_file(
    celery_worker_proc: Worker, scenario: Any, tmp_path: Path
) -> None:
    mix = _slow_draft(scenario, tmp_path, "Twice", seconds=30.0)
    assets = Asset.objects.count()
    job_id = _start(scenario, mix)
    jobs.job_send(job_id, "render")  # the same message again, while the first runs
    job = _wait_over(job_id)
    assert job.state == JobState.DONE, job.error
    jobs.job_send(job_id, "render")  # and once more after it finished
    wait_for(lambda: Job.objects.get(pk=job_id).deliveries >= 3, 30)
    time.sleep(0.5)
    job.refresh_from_db()
    assert job.attempts == 1
    assert Event.objects.filter(type="job.finished", payload__job__id=job_id).count() == 1
    mix.refresh_from_db()
    assert mix.state == MixState.RENDERED
    assert (
        Mix.objects.filter(song=mix.song).count() == 1 and _mix_events("mix.rendered", mix.pk) == 1
    )
    assert Asset.objects.count() == assets + 1


# --- with S3 storage ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_s3_a_render_reads_its_sources_from_s3_and_stages_its_output_for_the_store_job(
    s3: Any,  # noqa: F811  (the fixture imported above)
    settings: Any,
    scenario: Any,
    song: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The sources are scratch copies of the S3 objects, removed after the render; the output
    is staged (keyed by checksum) with the asset, and its store job PUTs exactly those bytes;
    nothing is left on local disk but the project's clip cache."""
    _stems(scenario, song, tmp_path, n=2, seconds=1.0)
    assert len(s3_keys(s3)) == 2 and s3_local_files(settings) == []
    client = scenario.client("engineer")
    mix_id = _keepers_draft(client, song)["id"]
    _render_in_process(client, mix_id)
    mix = Mix.objects.select_related("asset").get(pk=mix_id)
    asset = mix.asset
    assert asset is not None and asset.stored_at == StoredAt.STAGED
    staged = storage.asset_staged_path(asset)
    assert s3_local_files(settings) == [staged]
    assert storage.sha256_file(staged) == asset.sha256
    store = Job.objects.get(asset=asset, kind=JobKind.STORE)
    with django_capture_on_commit_callbacks(execute=True):
        assert runner.run_job(store.pk) == "done"
    asset.refresh_from_db()
    assert asset.stored_at == StoredAt.STORAGE and asset.storage_name in s3_keys(s3)
    data = s3.get_object(Bucket=S3_BUCKET, Key=asset.storage_name)["Body"].read()
    assert hashlib.sha256(data).hexdigest() == asset.sha256
    assert s3_local_files(settings) == []
