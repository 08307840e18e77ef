"""The `deliver` job: in process (every file stored with its size and checksum, the bundle with
the manifest, the QC report, the UPC and ISRCs recorded, downloads with Range to members only,
events), and through a real worker (progress frames, done)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import jsonschema
import pytest

from audio import storage
from audio.jobs import runner
from audio.models import Asset, Job, JobState
from delivery.models import Delivery, Release
from delivery.services import release_artwork_set, release_create, track_update
from eventlog.models import Event
from eventlog.schemas import EVENT_SCHEMAS
from pages.activity import describe
from tests.audio.conftest import Worker, wait_for
from tests.audio.test_jobs_runner import ProgressFrames
from tests.delivery.helpers import mastered_song, png_bytes

pytestmark = pytest.mark.timeout(300)
UPC = "036000291452"


def _release(scenario: Any, seconds: float = 5.0) -> Release:
    a = mastered_song(scenario, "Intro", seconds=seconds, seed=1)
    b = mastered_song(scenario, "Night Drive", seconds=seconds, seed=2)
    producer = scenario.users["producer"]
    release = release_create(
        actor=producer,
        project=scenario.project,
        data={"title": "Night Drive EP", "artist": "Ava", "upc": UPC, "songs": [a.pk, b.pk]},
    )
    release_artwork_set(actor=producer, release=release, data=png_bytes(1400, 1400), name="c.png")
    first = release.tracks.get(position=1)
    track_update(actor=producer, track=first, data={"isrc": "USRC17607839"})
    return release


def _deliver(scenario: Any, release: Release) -> int:
    r = scenario.client("engineer").post(f"/api/releases/{release.pk}/deliver/")
    assert r.status_code == 202, r.content
    return int(r.json()["job"]["id"])


@pytest.mark.django_db
def test_a_delivery_stores_every_file_the_bundle_and_the_qc_report(scenario: Any) -> None:
    release = _release(scenario)
    job_id = _deliver(scenario, release)
    assert runner.run_job(job_id) == "done", Job.objects.get(pk=job_id).error
    delivery = Delivery.objects.get(job_id=job_id)
    assert delivery.number == 1 and delivery.upc == UPC
    assert [i["isrc"] for i in delivery.isrcs] == ["USRC17607839", None]
    paths = {f["path"] for f in delivery.files}
    assert {
        "wav/01 Intro.wav",
        "wav/02 Night Drive.wav",
        "album.wav",
        "album.cue",
        "ddp/IMAGE.DAT",
        "flac/01 Intro.flac",
        "mp3/02 Night Drive.mp3",
        "qc.json",
        "qc.html",
        "manifest.json",
        "bundle.zip",
    } <= paths
    for f in delivery.files:  # each file is an asset of those bytes
        asset = Asset.objects.get(pk=f["asset"], project=scenario.project)
        assert (asset.size_bytes, asset.sha256) == (f["bytes"], f["sha256"]), f["path"]
    # the second track has no ISRC: QC fails it, and the files were delivered anyway
    assert delivery.qc_status == "fail" and delivery.qc["status"] == "fail"
    assert any(c["id"].startswith("isrc") for c in delivery.qc["fails"])
    bundle = Asset.objects.get(pk=delivery.bundle_id)
    with storage.asset_path(bundle) as path, zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = zf.read("manifest.json")
    assert "manifest.json" in names and "ddp/IMAGE.DAT" in names
    listed = {f["path"] for f in json.loads(manifest)["files"]}
    assert listed <= names
    # events: one release.delivered, every payload valid
    (event,) = Event.objects.filter(type="release.delivered")
    assert event.payload["delivery"]["id"] == delivery.pk
    for e in Event.objects.filter(project=scenario.project):
        jsonschema.validate(e.payload, EVENT_SCHEMAS[e.type])
    feed = [a.text for a in describe(list(Event.objects.order_by("-seq")))]
    assert "Delivery 1 of 'Night Drive EP' is ready (QC FAIL)" in feed
    assert any("gave 'Intro' the ISRC USRC17607839" in line for line in feed)
    # the API lists it with download URLs; the bundle downloads with Range, members only
    data = scenario.client("viewer").get(f"/api/deliveries/?release={release.pk}").json()
    (row,) = data["results"]
    assert row["bundle_url"] == f"/api/assets/{bundle.pk}/file/"
    part = scenario.client("artist").get(row["bundle_url"], HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206 and b"".join(part.streaming_content) == b"PK\x03\x04"
    assert scenario.client("outsider").get(row["bundle_url"]).status_code == 404
    whole = b"".join(scenario.client("viewer").get(row["bundle_url"]).streaming_content)
    assert hashlib.sha256(whole).hexdigest() == bundle.sha256
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        assert zf.testzip() is None


@pytest.mark.django_db
def test_delivering_again_makes_delivery_two_from_the_same_files(scenario: Any) -> None:
    """Same release, same masters: the same bytes, so the stored files are shared."""
    release = _release(scenario)
    first = _deliver(scenario, release)
    assert runner.run_job(first) == "done"
    second = _deliver(scenario, release)
    assert runner.run_job(second) == "done", Job.objects.get(pk=second).error
    one, two = (Delivery.objects.get(job_id=j) for j in (first, second))
    assert (one.number, two.number) == (1, 2)
    assert [f["sha256"] for f in one.files] == [f["sha256"] for f in two.files]
    assert one.bundle_id == two.bundle_id


@pytest.mark.django_db(transaction=True)
def test_a_delivery_through_a_real_worker_streams_progress(
    celery_worker_proc: Worker, scenario: Any
) -> None:
    release = _release(scenario, seconds=30.0)
    listener = ProgressFrames(scenario.project.pk)
    try:
        job_id = _deliver(scenario, release)
        wait_for(lambda: Job.objects.get(pk=job_id).state in (JobState.DONE, JobState.FAILED), 240)
        wait_for(lambda: len(listener.of(job_id)) >= 2, 10)
    finally:
        listener.close()
    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.DONE, job.error
    values = [p for _, p in listener.of(job_id)]
    assert values == sorted(values) and 0 < values[-1] <= 1.0
    assert Delivery.objects.filter(job_id=job_id, release=release).exists()


@pytest.mark.django_db
def test_a_release_deleted_before_its_job_runs_fails_the_job_with_why(scenario: Any) -> None:
    release = _release(scenario)
    job_id = _deliver(scenario, release)
    assert scenario.client("producer").delete(f"/api/releases/{release.pk}/").status_code == 204
    assert runner.run_job(job_id) == "failed"
    job = Job.objects.get(pk=job_id)
    assert "deleted" in job.error and not Delivery.objects.filter(job_id=job_id).exists()


@pytest.mark.django_db
def test_whoever_may_deliver_may_cancel_the_delivery(scenario: Any) -> None:
    release = _release(scenario)
    job_id = _deliver(scenario, release)
    assert scenario.client("artist").post(f"/api/jobs/{job_id}/cancel/").status_code == 403
    r = scenario.client("engineer").post(f"/api/jobs/{job_id}/cancel/")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    data = scenario.client("viewer").get(f"/api/releases/{release.pk}/").json()
    assert data["delivering_job"] is None
