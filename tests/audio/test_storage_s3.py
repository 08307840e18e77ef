"""S3-compatible storage through django-storages (STORAGE_BACKEND=s3), against moto's mocked S3
(the only mock in the suite): the real code paths of ingest, Range serving, a job writing
its output under jobs/<id>/, deduplication and delete, with nothing left on local disk.

An upload's completing request sends nothing to S3: its bytes wait in the local staging area
and the asset's `store` job PUTs them (run here through the job runner, in this process, where
S3 is mocked). Storage failures are injected on the S3 client's own event hooks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from moto import mock_aws

from audio import storage, tasks
from audio.jobs.runner import run_job
from audio.jobs.sweep import sweep
from audio.models import Asset, Job, JobKind, JobState, StoredAt, Upload
from audio.services.assets import asset_ingest_file
from audio.services.uploads import STORE_AGAIN_AFTER_S, STORE_JOBS_MAX, upload_sweep_expired
from eventlog.models import Event
from tests.audio.audiofiles import wav_bytes
from tests.audio.conftest import tus_create, tus_patch, upload_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audio.urls")]

BUCKET = "studio-test-media"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def s3(settings: Any, tmp_path: Path) -> Iterator[Any]:
    """The S3 backend exactly as studio/settings.py configures it for STORAGE_BACKEND=s3, on a
    mocked bucket; MEDIA_ROOT and UPLOAD_DIR point at empty folders so stray local writes show."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", **CREDENTIALS)
        client.create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": None,
                    "access_key": CREDENTIALS["aws_access_key_id"],
                    "secret_key": CREDENTIALS["aws_secret_access_key"],
                    "region_name": "us-east-1",
                    "file_overwrite": True,
                    "default_acl": None,
                    "querystring_auth": True,
                },
            },
        }
        settings.MEDIA_ROOT = str(tmp_path / "media")
        settings.UPLOAD_DIR = tmp_path / "uploads"
        assert not storage.is_local()
        yield client


def _keys(client: Any) -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET)
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


def _object(client: Any, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _local_files(settings: Any) -> list[Path]:
    found = []
    for root in (Path(settings.MEDIA_ROOT), Path(settings.UPLOAD_DIR)):
        if root.exists():
            found += [p for p in root.rglob("*") if p.is_file()]
    return found


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _on_s3_call(operation: str, handler: Callable[..., Any]) -> Callable[[], None]:
    """Hook the storage's own S3 client before each `operation` call; returns the unhook."""
    events = default_storage.connection.meta.client.meta.events
    event = f"before-call.s3.{operation}"
    events.register(event, handler)
    return lambda: events.unregister(event, handler)


def _store_job(asset: Asset) -> Job:
    return Job.objects.get(asset=asset, kind=JobKind.STORE)


def _store(asset: Asset, capture: Any) -> None:
    """Run the asset's store job through the runner; its after-commit removal runs too."""
    with capture(execute=True):
        assert run_job(_store_job(asset).pk) == "done"
    asset.refresh_from_db()


def test_s3_ingest_range_job_output_and_delete(
    s3: Any, settings: Any, scenario: Any, tus_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    data = wav_bytes(seconds=1.0, seed=41)

    # ingest through tus, then the asset's store job PUTs it under a generated name
    done = upload_bytes(
        tus_client, data, chunk=60_000, filename="vox.wav", project=scenario.project.pk
    )
    assert done.status_code == 204, done.content
    asset = Asset.objects.get(pk=int(done["Studio-Asset-Id"]))
    assert asset.storage_name.startswith(f"assets/{scenario.project.pk}/")
    assert _keys(s3) == [] and asset.stored_at == StoredAt.STAGED
    _store(asset, django_capture_on_commit_callbacks)
    assert _keys(s3) == [asset.storage_name]
    assert _object(s3, asset.storage_name) == data
    assert storage.file_exists(asset.storage_name)
    assert storage.file_size(asset.storage_name) == len(data)
    assert _local_files(settings) == []  # the upload's temp file was consumed, nothing local

    # the same bytes again: deduplicated, no second object, no staging, no second store job
    again = upload_bytes(tus_client, data, filename="vox2.wav", project=scenario.project.pk)
    assert again["Studio-Asset-Id"] == str(asset.pk)
    assert _keys(s3) == [asset.storage_name] and _local_files(settings) == []
    assert Job.objects.filter(asset=asset, kind=JobKind.STORE).count() == 1

    # a script/seeder ingest (the source file is left in place, a scratch copy is stored)
    source = Path(settings.MEDIA_ROOT).parent / "source.wav"
    source.write_bytes(wav_bytes(seconds=0.3, seed=42))
    seeded = asset_ingest_file(
        actor=scenario.users["engineer"],
        project=scenario.project,
        path=source,
        original_name="seed.wav",
    )
    assert _object(s3, seeded.storage_name) == source.read_bytes() and source.exists()
    assert _local_files(settings) == []

    # Range serving straight from the bucket, one ranged GET per request (never the whole
    # object): every GetObject the storage sends is recorded
    gets: list[str | None] = []
    default_storage.connection.meta.client.meta.events.register(
        "before-call.s3.GetObject",
        lambda params, **kw: gets.append(params.get("headers", {}).get("Range")),
    )
    client = scenario.client("viewer")
    url = f"/api/assets/{asset.pk}/file/"
    whole = client.get(url)
    assert whole.status_code == 200 and _body(whole) == data
    for header, start, end in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, len(data) - 1),
        ("bytes=-500", len(data) - 500, len(data) - 1),
    ]:
        part = client.get(url, HTTP_RANGE=header)
        assert part.status_code == 206, header
        assert _body(part) == data[start : end + 1], header
        assert part["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
        assert part["Content-Type"] == "audio/wav" and part["X-Content-Type-Options"] == "nosniff"
    assert client.get(url, HTTP_RANGE="bytes=999999999-").status_code == 416
    assert gets == [
        f"bytes=0-{len(data) - 1}",
        "bytes=0-99",
        f"bytes=1000-{len(data) - 1}",
        f"bytes={len(data) - 500}-{len(data) - 1}",
    ]

    # the analysis job (run in this process, where S3 is mocked): it reads the asset through a
    # local scratch copy that is removed afterwards, and writes its output under jobs/<id>/
    job = Job.objects.get(asset=asset, kind=JobKind.ANALYZE)
    assert tasks.run_job(job.pk) == "done"
    job.refresh_from_db()
    assert job.state == JobState.DONE, (job.error_code, job.error)
    output = f"jobs/{job.pk}/analysis.json"
    assert job.result["output"] == output
    assert output in _keys(s3)
    written = json.loads(_object(s3, output))
    assert written["report"]["sample_rate"] == 44100 and written["peaks"]
    assert storage.read_bytes(output) == _object(s3, output)
    assert Event.objects.filter(type="job.finished", payload__job__id=job.pk).count() == 1
    assert _local_files(settings) == []  # no scratch copy, no local jobs/ folder
    # the peaks are an object keyed by the checksum, served by one ranged GET for a width
    asset.refresh_from_db()
    assert asset.peaks_name.startswith(f"peaks/{scenario.project.pk}/{asset.sha256}-")
    assert json.loads(_object(s3, asset.peaks_name)) == written["peaks"]
    assert client.get(f"/api/assets/{asset.pk}/peaks/").json()["peaks"] == written["peaks"]
    narrow = client.get(f"/api/assets/{asset.pk}/peaks/?width=10").json()["peaks"]
    assert narrow["levels"] == written["peaks"]["levels"][:1]

    # a second run of the same job's output replaces it with the same bytes (one object)
    before = _object(s3, output)
    storage.job_output_write(job.pk, "analysis.json", before)
    assert _keys(s3).count(output) == 1 and _object(s3, output) == before

    # delete
    for name in (asset.storage_name, seeded.storage_name, output, asset.peaks_name):
        storage.delete_file(name)
        assert not storage.file_exists(name)
    storage.delete_file(output)  # deleting what is gone is not an error
    assert _keys(s3) == []


def test_s3_local_path_is_a_removed_temp_copy(s3: Any, settings: Any) -> None:
    """`local_path` on remote storage downloads to a scratch file in the upload dir and removes
    it afterwards, also when the caller raises."""
    default_storage.save("assets/1/x.wav", _content(b"RIFF-bytes"))
    with storage.local_path("assets/1/x.wav") as path:
        assert path.read_bytes() == b"RIFF-bytes" and path.suffix == ".wav"
        assert path.parent == Path(settings.UPLOAD_DIR)
        assert path.name.startswith(storage.SCRATCH_PREFIX)
    assert not path.exists()
    with pytest.raises(RuntimeError), storage.local_path("assets/1/x.wav") as path:
        raise RuntimeError("the engine failed")
    assert not path.exists() and _local_files(settings) == []


def _content(data: bytes) -> Any:
    return ContentFile(data)


def _range(client: Any, asset: Asset, start: int, end: int) -> bytes:
    response = client.get(f"/api/assets/{asset.pk}/file/", HTTP_RANGE=f"bytes={start}-{end}")
    assert response.status_code == 206, response.content
    assert response["Content-Range"] == f"bytes {start}-{end}/{asset.size_bytes}"
    return _body(response)


def test_s3_completion_stages_and_the_store_job_puts(
    s3: Any, settings: Any, scenario: Any, tus_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The completing request sends no PUT: the file is renamed into the staging area (keyed by
    checksum) and served from there, the analysis reads it there; the store job PUTs it, the
    object's bytes hash to the asset's SHA-256, `asset.stored` is recorded with `job.finished`,
    the staged file goes after the commit, and reads (Range, analysis) come from S3."""
    data = wav_bytes(seconds=1.0, seed=43)
    puts: list[str] = []
    unhook = _on_s3_call("PutObject", lambda params, **kw: puts.append(params["url_path"]))
    done = upload_bytes(
        tus_client, data, chunk=70_000, filename="gtr.wav", project=scenario.project.pk
    )
    assert done.status_code == 204, done.content
    unhook()
    assert puts == [] and _keys(s3) == []
    asset = Asset.objects.get(pk=int(done["Studio-Asset-Id"]))
    assert asset.stored_at == StoredAt.STAGED
    staged = storage.asset_staged_path(asset)
    assert staged.parent.parent == Path(settings.UPLOAD_DIR) / storage.STAGING_SUBDIR
    assert staged.name == f"{asset.sha256}.wav" and staged.read_bytes() == data
    assert _local_files(settings) == [staged]  # renamed: the upload's temp file is gone
    upload = Upload.objects.get(asset=asset)
    assert upload.job is not None and upload.job.kind == JobKind.ANALYZE
    assert done["Studio-Job-Id"] == str(upload.job.pk)
    store_job = _store_job(asset)
    assert store_job.state == JobState.QUEUED
    assert Event.objects.filter(type="job.queued", payload__job__id=store_job.pk).exists()

    # before the store: Range reads and the analysis read the staged file, S3 is not asked
    gets: list[str] = []
    _on_s3_call("GetObject", lambda params, **kw: gets.append(params["url_path"]))
    viewer = scenario.client("viewer")
    assert _range(viewer, asset, 100, 4099) == data[100:4100]
    assert _body(viewer.get(f"/api/assets/{asset.pk}/file/")) == data
    analysis = Job.objects.get(asset=asset, kind=JobKind.ANALYZE)
    assert run_job(analysis.pk) == "done"
    asset.refresh_from_db()
    assert asset.analysis is not None and asset.analysis["sample_rate"] == 44100
    assert gets == []
    # the analysis' own output and the peaks file (the audio itself is still only staged)
    assert _keys(s3) == sorted([f"jobs/{analysis.pk}/analysis.json", asset.peaks_name])
    assert staged.exists()

    # the store job: one verified PUT, then the asset is stored and the staged file removed
    _store(asset, django_capture_on_commit_callbacks)
    assert asset.stored_at == StoredAt.STORAGE
    stored = _object(s3, asset.storage_name)
    assert hashlib.sha256(stored).hexdigest() == asset.sha256 and stored == data
    head = s3.head_object(Bucket=BUCKET, Key=asset.storage_name)
    assert head["ContentType"] == "audio/wav"
    assert head["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert not staged.exists() and _local_files(settings) == []
    store_job.refresh_from_db()
    assert store_job.state == JobState.DONE and store_job.result["sha256"] == asset.sha256
    stored_event = Event.objects.get(type="asset.stored")
    assert stored_event.payload["job"] == store_job.pk
    assert stored_event.payload["asset"]["id"] == asset.pk
    finished = Event.objects.get(type="job.finished", payload__job__id=store_job.pk)
    assert finished.seq == stored_event.seq + 1  # the same transaction, one after the other

    # after: Range reads from S3 (one ranged GET), and a second analysis reads the object
    assert _range(viewer, asset, 100, 4099) == data[100:4100]
    assert gets == [f"/{asset.storage_name}"]
    again = Job.objects.create(project=scenario.project, kind=JobKind.ANALYZE, asset=asset)
    assert run_job(again.pk) == "done"
    assert _local_files(settings) == []

    # a duplicate delivery of the finished store job does nothing
    assert run_job(store_job.pk) == "skipped"


def test_s3_store_failure_keeps_the_staged_file_and_retries(
    s3: Any, settings: Any, scenario: Any, tus_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """S3 unreachable during the store, or keeping other bytes than were sent: the runner gets a
    retryable error (the task retries it), the job goes back to queued with `job.requeued`, the
    staged file and the asset's local reads stay; once S3 is back the next run stores it."""
    data = wav_bytes(seconds=0.5, seed=44)
    done = upload_bytes(tus_client, data, filename="keys.wav", project=scenario.project.pk)
    asset = Asset.objects.get(pk=int(done["Studio-Asset-Id"]))
    staged = storage.asset_staged_path(asset)
    job = _store_job(asset)

    def down(**kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://s3.example.invalid")

    unhook = _on_s3_call("PutObject", down)
    with pytest.raises(storage.StorageUnavailable) as raised:
        run_job(job.pk)
    assert isinstance(raised.value, ConnectionError)  # one of the runner's RETRYABLE errors
    assert isinstance(raised.value, tasks.run_job.autoretry_for)
    job.refresh_from_db()
    asset.refresh_from_db()
    assert job.state == JobState.QUEUED and job.attempts == 1
    assert Event.objects.filter(type="job.requeued", payload__job__id=job.pk).exists()
    assert asset.stored_at == StoredAt.STAGED and staged.read_bytes() == data
    assert _keys(s3) == []
    assert _range(scenario.client("viewer"), asset, 0, 99) == data[:100]

    # the sweep leaves the staged file of an asset still waiting for its store job alone
    upload_sweep_expired()
    assert staged.exists()

    unhook()

    # S3 keeps other bytes than were sent (moto checks no checksum, so the ETag check after
    # the PUT is what notices): retried as well, and the object is not taken for stored
    def corrupt(params: dict[str, Any], **kwargs: Any) -> None:
        params["body"] = data[:-1] + bytes([data[-1] ^ 1])

    unhook = _on_s3_call("PutObject", corrupt)
    with pytest.raises(storage.TransferCorrupted):
        run_job(job.pk)
    unhook()
    job.refresh_from_db()
    asset.refresh_from_db()
    assert job.state == JobState.QUEUED and asset.stored_at == StoredAt.STAGED
    assert staged.read_bytes() == data and _object(s3, asset.storage_name) != data

    _store(asset, django_capture_on_commit_callbacks)
    assert asset.stored_at == StoredAt.STORAGE and _object(s3, asset.storage_name) == data
    assert not staged.exists()


def test_s3_store_refuses_a_staged_file_that_changed(
    s3: Any, scenario: Any, tus_client: Any
) -> None:
    """Bytes that no longer hash to the asset's SHA-256 are never stored: the job fails, the
    asset stays staged (and its file stays for a look)."""
    data = wav_bytes(seconds=0.3, seed=45)
    done = upload_bytes(tus_client, data, filename="rot.wav", project=scenario.project.pk)
    asset = Asset.objects.get(pk=int(done["Studio-Asset-Id"]))
    staged = storage.asset_staged_path(asset)
    staged.write_bytes(data[:-1] + b"\x00")
    job = _store_job(asset)
    assert run_job(job.pk) == "failed"
    job.refresh_from_db()
    asset.refresh_from_db()
    assert job.state == JobState.FAILED and job.error_code == "job.error"
    assert asset.stored_at == StoredAt.STAGED and staged.exists() and _keys(s3) == []


def test_s3_a_staged_asset_whose_store_jobs_ended_gets_another(
    s3: Any, scenario: Any, tus_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A staged asset whose store jobs all ended without storing it (failed past their
    retries, lost, cancelled) gets a new store job from the sweep, once the last ended long
    enough ago and up to a bound; so the file reaches S3 once S3 is fixed."""
    data = wav_bytes(seconds=0.3, seed=47)
    done = upload_bytes(tus_client, data, filename="late.wav", project=scenario.project.pk)
    asset = Asset.objects.get(pk=int(done["Studio-Asset-Id"]))
    first = _store_job(asset)
    assert sweep()["stores_queued"] == 0  # its store job is still queued

    def refused(**kwargs: Any) -> None:  # a misconfigured bucket: a 403, not retried
        raise ClientError({"Error": {"Code": "AccessDenied"}}, "PutObject")

    unhook = _on_s3_call("PutObject", refused)
    assert run_job(first.pk) == "failed"
    unhook()
    assert sweep()["stores_queued"] == 0  # it only just failed
    Job.objects.filter(pk=first.pk).update(
        finished_at=timezone.now() - timedelta(seconds=STORE_AGAIN_AFTER_S + 1)
    )
    assert sweep()["stores_queued"] == 1
    assert sweep()["stores_queued"] == 0  # the new one is queued
    again = Job.objects.filter(asset=asset, kind=JobKind.STORE).exclude(pk=first.pk).get()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_job(again.pk) == "done"
    asset.refresh_from_db()
    assert asset.stored_at == StoredAt.STORAGE and _object(s3, asset.storage_name) == data
    assert sweep()["stores_queued"] == 0  # stored: nothing more

    # bounded: an asset that already had STORE_JOBS_MAX store jobs gets no more
    Asset.objects.filter(pk=asset.pk).update(stored_at=StoredAt.STAGED)
    long_ago = timezone.now() - timedelta(seconds=STORE_AGAIN_AFTER_S + 1)
    for _ in range(STORE_JOBS_MAX - 2):
        Job.objects.create(
            project=scenario.project,
            kind=JobKind.STORE,
            asset=asset,
            state=JobState.FAILED,
            finished_at=long_ago,
        )
    Job.objects.filter(asset=asset).update(finished_at=long_ago)
    assert sweep()["stores_queued"] == 0


def test_s3_refused_completion_and_sweep_leave_no_staged_file(
    s3: Any,
    settings: Any,
    scenario: Any,
    tus_client: Any,
    song: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A completion whose transaction rolls back (the song went meanwhile) removes the file it
    staged; a completion stages by renaming the upload's file; the sweep removes staged files
    no staged asset uses (a store job killed between its commit and the removal, a completion
    killed before its commit), never a waiting one."""
    data = wav_bytes(seconds=0.3, seed=46)
    url = tus_create(
        tus_client,
        len(data),
        filename="b.wav",
        project=scenario.project.pk,
        song=song.pk,
        kind="stem",
        instrument="bass",
    )["Location"]
    assert tus_patch(tus_client, url, 0, data[:5000], checksum="auto").status_code == 204
    song.delete()
    assert tus_patch(tus_client, url, 5000, data[5000:], checksum="auto").status_code == 404
    assert Asset.objects.count() == 0 and _local_files(settings) == [] and _keys(s3) == []

    # staged by a rename (the same inode as the upload's temp file), not a copy
    url = tus_create(tus_client, len(data), filename="c.wav", project=scenario.project.pk)[
        "Location"
    ]
    assert tus_patch(tus_client, url, 0, data[:5000], checksum="auto").status_code == 204
    temp = Path(settings.UPLOAD_DIR) / Upload.objects.get(state="active").temp_name
    inode = temp.stat().st_ino
    done = tus_patch(tus_client, url, 5000, data[5000:], checksum="auto")
    asset = Asset.objects.get(pk=int(done["Studio-Asset-Id"]))
    staged = storage.asset_staged_path(asset)
    assert staged.stat().st_ino == inode and not temp.exists()
    orphan = storage.staged_path(
        project_id=scenario.project.pk, sha256="0" * 64, storage_name="x.wav"
    )
    orphan.write_bytes(b"left by a completion killed before its commit")
    upload_sweep_expired()
    assert staged.exists() and not orphan.exists()

    _store(asset, django_capture_on_commit_callbacks)
    staged.write_bytes(data)  # as if the store job died between its commit and the removal
    upload_sweep_expired()
    assert not staged.exists() and _local_files(settings) == []
    assert _range(scenario.client("viewer"), asset, 10, 19) == data[10:20]
