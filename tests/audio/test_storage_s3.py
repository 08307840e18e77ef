"""S3-compatible storage through django-storages (STORAGE_BACKEND=s3), against moto's mocked S3
(the only mock in the suite): the real code paths of ingest, Range serving, a job writing
its output under jobs/<id>/, deduplication and delete, with nothing left on local disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.storage import default_storage
from moto import mock_aws

from audio import storage, tasks
from audio.models import Asset, Job, JobKind, JobState
from audio.services.assets import asset_ingest_file
from eventlog.models import Event
from tests.audio.audiofiles import wav_bytes
from tests.audio.conftest import upload_bytes

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


def test_s3_ingest_range_job_output_and_delete(
    s3: Any, settings: Any, scenario: Any, tus_client: Any
) -> None:
    data = wav_bytes(seconds=1.0, seed=41)

    # ingest through tus: the completed upload is PUT to the bucket under a generated name
    done = upload_bytes(
        tus_client, data, chunk=60_000, filename="vox.wav", project=scenario.project.pk
    )
    assert done.status_code == 204, done.content
    asset = Asset.objects.get(pk=int(done["Studio-Asset-Id"]))
    assert asset.storage_name.startswith(f"assets/{scenario.project.pk}/")
    assert _keys(s3) == [asset.storage_name]
    assert _object(s3, asset.storage_name) == data
    assert storage.file_exists(asset.storage_name)
    assert storage.file_size(asset.storage_name) == len(data)
    assert _local_files(settings) == []  # the upload's temp file was consumed, nothing local

    # the same bytes again: deduplicated, no second object, no leftovers
    again = upload_bytes(tus_client, data, filename="vox2.wav", project=scenario.project.pk)
    assert again["Studio-Asset-Id"] == str(asset.pk)
    assert _keys(s3) == [asset.storage_name] and _local_files(settings) == []

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
    assert client.get(f"/api/assets/{asset.pk}/peaks/").status_code == 200

    # a second run of the same job's output replaces it with the same bytes (one object)
    before = _object(s3, output)
    storage.job_output_write(job.pk, "analysis.json", before)
    assert _keys(s3).count(output) == 1 and _object(s3, output) == before

    # delete
    for name in (asset.storage_name, seeded.storage_name, output):
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
    from django.core.files.base import ContentFile

    return ContentFile(data)
