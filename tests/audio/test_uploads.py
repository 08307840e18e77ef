"""tus uploads through the API (U2 protocol edges, U3 quotas, completion, refusal, CSRF)."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from audio.models import Asset, Job, Mix, Stem, StoredAt, Take, Upload
from eventlog.models import Event
from tests.audio.audiofiles import wav_bytes
from tests.audio.conftest import TUS, metadata, tus_create, tus_patch, upload_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audio.urls")]


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "assets"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_options_advertises_tus(tus_client: APIClient) -> None:
    """OPTIONS names the version, extensions, max size and checksum algorithms."""
    response = tus_client.options("/api/uploads/")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {
        "creation",
        "checksum",
        "expiration",
        "termination",
    }
    assert int(response["Tus-Max-Size"]) == settings.UPLOAD_MAX_BYTES
    assert "sha256" in response["Tus-Checksum-Algorithm"]


def test_upload_becomes_asset_with_analysis_job(tus_client: APIClient, scenario: Any) -> None:
    """A finished upload is probed and becomes an Asset with checksum and format facts, an
    analysis job, and one asset.created event; the temp file is gone. Local storage stores it
    at once: no staging, no store job."""
    data = wav_bytes(seconds=0.5, seed=1)
    response = upload_bytes(
        tus_client,
        data,
        chunk=7000,
        filename="../../vocals <take>.wav",
        project=scenario.project.pk,
    )
    assert response.status_code == 204, response.content
    asset = Asset.objects.get(pk=int(response["Studio-Asset-Id"]))
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    assert (asset.format, asset.sample_rate, asset.channels, asset.bit_depth) == (
        "wav",
        44100,
        2,
        16,
    )
    assert asset.original_name == "../../vocals <take>.wav"
    assert "vocals" not in asset.storage_name and asset.storage_name.endswith(".wav")
    job = Job.objects.get(pk=int(response["Studio-Job-Id"]))
    assert (job.kind, job.asset_id) == ("analyze", asset.pk)
    assert list(Job.objects.filter(asset=asset).values_list("kind", flat=True)) == ["analyze"]
    assert asset.stored_at == StoredAt.STORAGE
    assert (Path(settings.MEDIA_ROOT) / asset.storage_name).read_bytes() == data
    staged = Path(settings.UPLOAD_DIR) / "staged"
    assert not staged.exists() or not any(staged.rglob(f"{asset.sha256}*"))
    types = list(Event.objects.filter(project=scenario.project).values_list("type", flat=True))
    assert types.count("asset.created") == 1 and types.count("job.queued") == 1
    upload = Upload.objects.get()
    assert not (Path(settings.UPLOAD_DIR) / upload.temp_name).exists()
    head = tus_client.head(f"/api/uploads/{upload.pk}/", **TUS)
    assert head.status_code == 200
    assert head["Studio-Asset-Id"] == str(asset.pk) and head["Upload-Offset"] == str(len(data))


def test_same_bytes_are_deduplicated(tus_client: APIClient, scenario: Any) -> None:
    data = wav_bytes(seconds=0.2, seed=2)
    first = upload_bytes(tus_client, data, filename="a.wav", project=scenario.project.pk)
    second = upload_bytes(tus_client, data, filename="b.wav", project=scenario.project.pk)
    assert first["Studio-Asset-Id"] == second["Studio-Asset-Id"]
    assert Asset.objects.count() == 1 and Job.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "extra", "model", "event"),
    [
        ("stem", {"instrument": "bass"}, Stem, "stem.attached"),
        ("take", {"part": "lead vocal"}, Take, "take.attached"),
        ("mix", {"note": "louder drums"}, Mix, "mix.created"),
    ],
)
def test_upload_attaches_to_song(
    tus_client: APIClient, scenario: Any, song: Any, kind: str, extra: dict, model: Any, event: str
) -> None:
    """With song + kind in the metadata, completion attaches the asset (one event each)."""
    data = wav_bytes(seconds=0.2, seed=3)
    response = upload_bytes(
        tus_client,
        data,
        filename="x.wav",
        project=scenario.project.pk,
        song=song.pk,
        kind=kind,
        **extra,
    )
    assert response.status_code == 204, response.content
    obj = model.objects.get()
    assert response[f"Studio-{kind.capitalize()}-Id"] == str(obj.pk)
    assert obj.song_id == song.pk and obj.asset_id == int(response["Studio-Asset-Id"])
    assert Event.objects.filter(type=event).count() == 1
    if kind == "mix":
        assert (obj.number, obj.note, obj.source) == (1, "louder drums", "upload")


# --- U2: protocol edges -----------------------------------------------------------------------


def test_u2_wrong_offset_is_409_and_offset_unchanged(tus_client: APIClient, scenario: Any) -> None:
    data = wav_bytes(seconds=0.2, seed=4)
    url = tus_create(tus_client, len(data), filename="a.wav", project=scenario.project.pk)[
        "Location"
    ]
    assert tus_patch(tus_client, url, 0, data[:1000]).status_code == 204
    response = tus_patch(tus_client, url, 500, data[500:1500])
    assert response.status_code == 409
    assert response.json()["code"] == "offset_mismatch"
    assert tus_client.head(url, **TUS)["Upload-Offset"] == "1000"


def test_u2_checksum_mismatch_is_460_and_offset_unchanged(
    tus_client: APIClient, scenario: Any
) -> None:
    data = wav_bytes(seconds=0.2, seed=5)
    url = tus_create(tus_client, len(data), filename="a.wav", project=scenario.project.pk)[
        "Location"
    ]
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = tus_patch(tus_client, url, 0, data[:1000], checksum=f"sha256 {bad}")
    assert response.status_code == 460
    assert response.json()["code"] == "checksum_mismatch"
    assert tus_client.head(url, **TUS)["Upload-Offset"] == "0"
    upload = Upload.objects.get()
    assert (Path(settings.UPLOAD_DIR) / upload.temp_name).stat().st_size == 0
    # resending the same chunk at the same offset is idempotent
    assert tus_patch(tus_client, url, 0, data[:1000], checksum="auto").status_code == 204
    assert tus_patch(tus_client, url, 0, data[:1000], checksum="auto").status_code == 409
    rest = tus_patch(tus_client, url, 1000, data[1000:], checksum="auto")
    assert rest.status_code == 204
    assert Asset.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_u2_unsupported_checksum_algorithm_is_400(tus_client: APIClient, scenario: Any) -> None:
    url = tus_create(tus_client, 10, filename="a.wav", project=scenario.project.pk)["Location"]
    response = tus_patch(tus_client, url, 0, b"x" * 10, checksum="crc32 AAAA")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_checksum_algorithm"


def test_u2_wrong_content_type_is_415(tus_client: APIClient, scenario: Any) -> None:
    url = tus_create(tus_client, 10, filename="a.wav", project=scenario.project.pk)["Location"]
    response = tus_patch(tus_client, url, 0, b"x" * 10, content_type="application/json")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_u2_declared_length_over_limit_is_413_before_any_byte(
    tus_client: APIClient, scenario: Any
) -> None:
    response = tus_create(
        tus_client, settings.UPLOAD_MAX_BYTES + 1, filename="a.wav", project=scenario.project.pk
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert Upload.objects.count() == 0


def test_u2_oversized_chunk_is_413(tus_client: APIClient, scenario: Any, settings: Any) -> None:
    settings.UPLOAD_MAX_CHUNK_BYTES = 1000
    url = tus_create(tus_client, 5000, filename="a.wav", project=scenario.project.pk)["Location"]
    response = tus_patch(tus_client, url, 0, b"x" * 1001)
    assert response.status_code == 413
    assert tus_client.head(url, **TUS)["Upload-Offset"] == "0"


def test_u2_chunk_past_declared_length_is_413(tus_client: APIClient, scenario: Any) -> None:
    url = tus_create(tus_client, 10, filename="a.wav", project=scenario.project.pk)["Location"]
    assert tus_patch(tus_client, url, 0, b"x" * 11).status_code == 413


def test_u2_expired_upload_is_410(tus_client: APIClient, scenario: Any) -> None:
    from django.utils import timezone

    url = tus_create(tus_client, 10, filename="a.wav", project=scenario.project.pk)["Location"]
    Upload.objects.update(expires_at=timezone.now())
    assert tus_client.head(url, **TUS).status_code == 410
    response = tus_patch(tus_client, url, 0, b"x" * 10)
    assert response.status_code == 410
    assert response.json()["code"] == "upload_expired"


def test_u2_missing_tus_version_is_412(tus_client: APIClient, scenario: Any) -> None:
    response = tus_client.post("/api/uploads/", HTTP_UPLOAD_LENGTH="10")
    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0"


def test_u2_termination_removes_bytes(tus_client: APIClient, scenario: Any) -> None:
    url = tus_create(tus_client, 100, filename="a.wav", project=scenario.project.pk)["Location"]
    tus_patch(tus_client, url, 0, b"x" * 50)
    temp = Path(settings.UPLOAD_DIR) / Upload.objects.get().temp_name
    assert temp.exists()
    assert tus_client.delete(url, **TUS).status_code == 204
    assert not temp.exists() and Upload.objects.count() == 0
    assert tus_client.head(url, **TUS).status_code == 404


def test_u2_bad_headers_are_400(tus_client: APIClient, scenario: Any) -> None:
    bad_length = tus_client.post("/api/uploads/", HTTP_UPLOAD_LENGTH="ten", **TUS)
    assert bad_length.status_code == 400
    bad_meta = tus_client.post(
        "/api/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA="project !!!", **TUS
    )
    assert bad_meta.status_code == 400
    no_project = tus_create(tus_client, 10, filename="a.wav")
    assert no_project.status_code == 400


# --- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("artist", 403), ("viewer", 403), ("outsider", 404)])
def test_only_uploaders_may_create(scenario: Any, who: str, status: int) -> None:
    response = tus_create(scenario.client(who), 10, filename="a.wav", project=scenario.project.pk)
    assert response.status_code == status
    assert "code" in response.json()


def test_anonymous_is_refused(scenario: Any) -> None:
    response = tus_create(APIClient(), 10, filename="a.wav", project=scenario.project.pk)
    assert response.status_code in (401, 403)


def test_another_users_upload_is_404(scenario: Any, tus_client: APIClient) -> None:
    url = tus_create(tus_client, 10, filename="a.wav", project=scenario.project.pk)["Location"]
    other = scenario.client("producer")
    assert other.head(url, **TUS).status_code == 404
    assert tus_patch(other, url, 0, b"x" * 10).status_code == 404


def test_csrf_required_for_session_auth(scenario: Any) -> None:
    """A session-authenticated PATCH without the CSRF token is refused (ASVS 4.2.2)."""
    engineer = scenario.users["engineer"]
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(engineer)
    response = tus_create(client, 10, filename="a.wav", project=scenario.project.pk)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    client.get("/api/assets/")  # sets no cookie by itself; fetch a token the Django way
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    ok = client.post(
        "/api/uploads/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=metadata(project=scenario.project.pk),
        HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret),
        **TUS,
    )
    assert ok.status_code == 201, ok.content


# --- U3: quotas ---------------------------------------------------------------------------------


def test_u3_concurrent_uploads_over_limit_is_429(
    tus_client: APIClient, scenario: Any, settings: Any
) -> None:
    settings.UPLOAD_MAX_CONCURRENT_PER_USER = 2
    for _ in range(2):
        assert (
            tus_create(tus_client, 10, filename="a", project=scenario.project.pk).status_code == 201
        )
    response = tus_create(tus_client, 10, filename="a", project=scenario.project.pk)
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_uploads"


def test_u3_project_quota_is_413_and_leaves_no_asset(
    tus_client: APIClient, scenario: Any, settings: Any
) -> None:
    data = wav_bytes(seconds=0.2, seed=6)
    settings.PROJECT_STORAGE_QUOTA_BYTES = len(data) + 100
    assert (
        upload_bytes(tus_client, data, filename="a.wav", project=scenario.project.pk).status_code
        == 204
    )
    response = tus_create(tus_client, 200, filename="b.wav", project=scenario.project.pk)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert "project storage quota" in body["detail"] and "exceeded" in body["detail"]
    assert Asset.objects.count() == 1


# --- refusals -----------------------------------------------------------------------------------


def test_refused_file_is_422_naming_the_reason_and_leaves_nothing(
    tus_client: APIClient, scenario: Any
) -> None:
    data = (
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00"
        + b"\xff\xff\xff\xff"
        + b"\x00" * 100
    )
    before = set(_stored_files())
    response = upload_bytes(tus_client, data, filename="evil.wav", project=scenario.project.pk)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_audio" and body["detail"] and body["fields"]
    assert Asset.objects.count() == 0 and Job.objects.count() == 0
    assert set(_stored_files()) == before
    upload = Upload.objects.get()
    assert not (Path(settings.UPLOAD_DIR) / upload.temp_name).exists()
    assert tus_client.head(f"/api/uploads/{upload.pk}/", **TUS).status_code == 410


# --- U4: expiry sweep ---------------------------------------------------------------------------


def test_u4_sweeper_removes_abandoned_uploads_and_keeps_live_ones(
    tus_client: APIClient, scenario: Any, settings: Any, tmp_path: Path
) -> None:
    """U4: `requeue_stale_jobs` also sweeps uploads. Abandoned sessions past their expiry (with
    or without bytes, refused ones too), temp files with no session and scratch copies a killed
    process left are removed: 0 orphan files, 0 dangling rows. An upload in progress and not
    expired is kept and still completes; a fresh file with no row yet is kept; an asset stays."""
    import os
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from audio import storage
    from audio.models import UploadState

    settings.UPLOAD_DIR = tmp_path / "uploads"  # this test owns every file in the folder
    project = scenario.project.pk

    def start(data: bytes, sent: int, name: str) -> Upload:
        url = tus_create(tus_client, len(data), filename=name, project=project)["Location"]
        if sent:
            assert tus_patch(tus_client, url, 0, data[:sent], checksum="auto").status_code == 204
        return Upload.objects.get(pk=url.rstrip("/").rsplit("/", 1)[-1])

    finished = upload_bytes(
        tus_client, wav_bytes(seconds=0.2, seed=61), filename="ok.wav", project=project
    )
    assert finished.status_code == 204
    done = Upload.objects.get(state=UploadState.DONE)
    refused = upload_bytes(tus_client, b"RIFF" + b"\x00" * 60, filename="bad.wav", project=project)
    assert refused.status_code == 422
    failed = Upload.objects.get(state=UploadState.FAILED)
    live_data = wav_bytes(seconds=0.3, seed=62)
    abandoned = [
        start(wav_bytes(seconds=0.3, seed=63), 20_000, "half.wav"),
        start(wav_bytes(seconds=0.3, seed=64), 0, "nothing-sent.wav"),
    ]
    live = start(live_data, 30_000, "in-progress.wav")
    for upload in abandoned:
        assert storage.upload_temp_path(upload.temp_name).exists()

    # time passes: the abandoned and refused sessions expire, the completed one is long done
    now = timezone.now()
    Upload.objects.filter(pk__in=[u.pk for u in [*abandoned, failed]]).update(
        expires_at=now - timedelta(seconds=1)
    )
    Upload.objects.filter(pk=done.pk).update(expires_at=now - timedelta(days=8))
    old = now.timestamp() - settings.UPLOAD_EXPIRY_SECONDS - 60
    upload_dir = Path(settings.UPLOAD_DIR)
    orphan = upload_dir / "0123456789abcdef0123456789abcdef.part"  # crash before the row commit
    scratch = upload_dir / f"{storage.SCRATCH_PREFIX}killed-worker.wav"  # a killed job's copy
    for path in (orphan, scratch):
        path.write_bytes(b"x" * 1000)
        os.utime(path, (old, old))
    fresh = upload_dir / "fedcba9876543210fedcba9876543210.part"  # a create in flight: kept
    fresh.write_bytes(b"")

    out = StringIO()
    call_command("requeue_stale_jobs", stdout=out)
    assert "removed 5 expired uploads" in out.getvalue(), out.getvalue()

    # 0 dangling rows: what is left is the live session (its file present, not expired)
    remaining = list(Upload.objects.all())
    assert [u.pk for u in remaining] == [live.pk]
    for upload in remaining:
        assert upload.expires_at > timezone.now()
        assert storage.upload_temp_path(upload.temp_name).stat().st_size == upload.offset
    # 0 orphan files: every file left belongs to a live session (or is too young to judge)
    assert sorted(p.name for p in upload_dir.iterdir()) == sorted([live.temp_name, fresh.name])
    # the swept sessions are gone for the client too; the asset of the completed one stays
    for upload in [*abandoned, failed]:
        assert tus_client.head(f"/api/uploads/{upload.pk}/", **TUS).status_code == 404
    assert Asset.objects.filter(pk=int(finished["Studio-Asset-Id"])).exists()

    # the kept upload resumes where it stopped and completes
    url = f"/api/uploads/{live.pk}/"
    assert tus_client.head(url, **TUS)["Upload-Offset"] == "30000"
    last = tus_patch(tus_client, url, 30_000, live_data[30_000:], checksum="auto")
    assert last.status_code == 204, last.content
    assert (
        Asset.objects.get(pk=int(last["Studio-Asset-Id"])).sha256
        == hashlib.sha256(live_data).hexdigest()
    )
    assert sorted(p.name for p in upload_dir.iterdir()) == [fresh.name]

    # a second sweep finds nothing more to do
    out = StringIO()
    call_command("requeue_stale_jobs", stdout=out)
    assert "removed 0 expired uploads" in out.getvalue()


# --- completion is one transaction --------------------------------------------------------------


def _rows() -> tuple[int, int, int, int]:
    return (Asset.objects.count(), Job.objects.count(), Stem.objects.count(), Mix.objects.count())


def test_attach_failure_leaves_no_asset_job_or_file(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    """The song is deleted while the file is on its way: attaching fails at completion, and the
    Asset, its analysis job, their events and the stored file all go with it (404, nothing
    left but the refused upload)."""
    data = wav_bytes(seconds=0.3, seed=71)
    url = tus_create(
        tus_client,
        len(data),
        filename="bass.wav",
        project=scenario.project.pk,
        song=song.pk,
        kind="stem",
        instrument="bass",
    )["Location"]
    assert tus_patch(tus_client, url, 0, data[:5000], checksum="auto").status_code == 204
    song.delete()
    before_files = set(_stored_files())
    before_events = Event.objects.count()
    response = tus_patch(tus_client, url, 5000, data[5000:], checksum="auto")
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert _rows() == (0, 0, 0, 0)
    assert set(_stored_files()) == before_files
    assert Event.objects.count() == before_events
    assert not Event.objects.filter(type__in=["asset.created", "job.queued"]).exists()
    upload = Upload.objects.get()
    assert upload.state == "failed" and upload.asset_id is None
    assert not (Path(settings.UPLOAD_DIR) / upload.temp_name).exists()
    assert tus_client.head(url, **TUS).status_code == 410


def test_completion_commits_asset_job_attachment_and_upload_together(
    tus_client: APIClient, scenario: Any, song: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The job's dispatch and the events' broadcast wait for the one commit that also marks
    the upload done and attaches the mix."""
    data = wav_bytes(seconds=0.3, seed=72)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload_bytes(
            tus_client,
            data,
            filename="m.wav",
            project=scenario.project.pk,
            song=song.pk,
            kind="mix",
        )
    assert response.status_code == 204, response.content
    upload = Upload.objects.get()
    assert upload.state == "done" and upload.attached == {"type": "mix", "id": Mix.objects.get().pk}
    assert upload.job_id == Job.objects.get().pk
    assert callbacks  # dispatch and broadcasts ran on commit, not before
    types = set(Event.objects.values_list("type", flat=True))
    assert {"asset.created", "job.queued", "mix.created"} <= types


# --- bombs and truncated files through an upload ----------------------------------------------


def _flac_truncated() -> bytes:
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    noise = 0.2 * np.random.default_rng(9).standard_normal((44100 * 5, 2))
    sf.write(buf, noise, 44100, format="FLAC", subtype="PCM_16")
    data = buf.getvalue()
    return data[: int(len(data) * 0.4)]


@pytest.mark.parametrize(
    ("name", "make", "reason", "text"),
    [
        ("bomb.flac", "bomb", "audio.too_long", "60-minute limit (found by decoding"),
        ("cut.flac", "truncated", "audio.corrupt", "the FLAC file is truncated"),
        ("header-only.flac", "header", "audio.corrupt", "the FLAC file is truncated"),
    ],
)
def test_a_bomb_or_truncated_flac_is_422_in_seconds_and_leaves_nothing(
    tus_client: APIClient, scenario: Any, name: str, make: str, reason: str, text: str
) -> None:
    """A 46 KB FLAC bomb (and a FLAC cut to 40 %, or to its 42-byte header) is
    refused at completion with the engine's sentence, in under 5 s, with no row and no file."""
    import time

    from tests.audio.engine.files import flac_46kb_bomb

    data = {
        "bomb": flac_46kb_bomb,
        "truncated": _flac_truncated,
        "header": lambda: _flac_truncated()[:42],
    }[make]()
    before = set(_stored_files())
    start = time.perf_counter()
    response = upload_bytes(tus_client, data, filename=name, project=scenario.project.pk)
    elapsed = time.perf_counter() - start
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_audio" and text in body["detail"], body
    assert body["fields"]["reason"] == [reason]
    assert elapsed < 5.0, f"refused after {elapsed:.2f} s"
    print(f"\n{name}: {len(data)} bytes refused through an upload in {elapsed:.3f} s")
    assert _rows() == (0, 0, 0, 0)
    assert set(_stored_files()) == before
    upload = Upload.objects.get()
    assert not (Path(settings.UPLOAD_DIR) / upload.temp_name).exists()


# --- stored files of other kinds ----------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)


def test_stored_file_is_deduplicated_and_served_with_its_media_type(scenario: Any) -> None:
    """Artwork is an Asset of kind artwork with no audio facts, deduplicated by checksum in the
    project, and served by the same Range view, members only, as image/png with nosniff."""
    from audio.services.assets import stored_file_create

    asset, created = stored_file_create(
        project=scenario.project,
        kind="artwork",
        media_type="image/png",
        path_or_bytes=PNG,
        name="cover.png",
    )
    again, created_again = stored_file_create(
        project=scenario.project,
        kind="artwork",
        media_type="image/png",
        path_or_bytes=PNG,
        name="cover-copy.png",
    )
    assert created and not created_again and again.pk == asset.pk
    assert (asset.kind, asset.media_type, asset.size_bytes) == ("artwork", "image/png", len(PNG))
    assert asset.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (asset.format, asset.sample_rate, asset.frames, asset.duration_s) == (
        "",
        None,
        None,
        None,
    )
    assert Job.objects.count() == 0  # nothing to analyse
    assert Event.objects.filter(type="asset.created").count() == 1
    url = f"/api/assets/{asset.pk}/file/"
    viewer = scenario.client("viewer")
    whole = viewer.get(url)
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == PNG
    assert whole["Content-Type"] == "image/png"
    assert whole["X-Content-Type-Options"] == "nosniff"
    assert whole["Content-Disposition"] == (
        "attachment; filename=\"cover.png\"; filename*=UTF-8''cover.png"
    )
    part = viewer.get(url, HTTP_RANGE="bytes=0-7")
    assert part.status_code == 206 and b"".join(part.streaming_content) == PNG[:8]
    assert scenario.client("outsider").get(url).status_code == 404


def test_stored_file_from_a_path_is_copied_not_consumed(scenario: Any, tmp_path: Path) -> None:
    from audio.services.assets import stored_file_create

    report = tmp_path / "qc.json"
    report.write_bytes(b'{"true_peak_dbtp": -1.2}')
    asset, created = stored_file_create(
        project=scenario.project,
        kind="report",
        media_type="application/json; charset=utf-8",
        path_or_bytes=report,
        name="qc.json",
    )
    assert created and report.exists() and asset.media_type == "application/json"
    assert (Path(settings.MEDIA_ROOT) / asset.storage_name).read_bytes() == report.read_bytes()


@pytest.mark.parametrize(
    ("kind", "media_type", "data", "code"),
    [
        ("artwork", "text/html", b"<html><script>alert(1)</script>", "unsupported_media_type"),
        ("artwork", "image/svg+xml", b"<svg onload=alert(1)>", "unsupported_media_type"),
        ("report", "application/xhtml+xml", b"<html/>", "unsupported_media_type"),
        ("artwork", "image/png", b"<html>not a png</html>", "media_type_mismatch"),
        ("bundle", "application/zip", b"not a zip", "media_type_mismatch"),
        ("audio", "audio/wav", b"RIFF", "invalid"),
        ("artwork", "image/png", b"", "invalid"),
    ],
)
def test_stored_file_refuses_active_or_mismatched_types(
    scenario: Any, kind: str, media_type: str, data: bytes, code: str
) -> None:
    """Never an active type (HTML, SVG, XHTML), never a type the bytes contradict, never audio
    past the probe: Invalid (400), and no row or stored file."""
    from audio.services.assets import stored_file_create
    from studio.errors import Invalid

    before = set(_stored_files())
    with pytest.raises(Invalid) as caught:
        stored_file_create(
            project=scenario.project, kind=kind, media_type=media_type, path_or_bytes=data
        )
    assert caught.value.code == code
    assert Asset.objects.count() == 0 and set(_stored_files()) == before


def test_an_active_media_type_in_a_row_is_still_served_as_bytes(scenario: Any) -> None:
    """Serving checks again: a row naming text/html (written past the service) is served as
    application/octet-stream, nosniff, in a sandbox."""
    from audio.services.assets import stored_file_create

    asset, _ = stored_file_create(
        project=scenario.project,
        kind="other",
        media_type="application/octet-stream",
        path_or_bytes=b"<html><script>alert(1)</script></html>",
    )
    Asset.objects.filter(pk=asset.pk).update(media_type="text/html")
    response = scenario.client("viewer").get(f"/api/assets/{asset.pk}/file/?disposition=inline")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


# --- the probe's sandbox: one child per probe ---------------------------------------------------


def _slow_bomb(tmp_path: Path) -> Path:
    """A FLAC without a length that the probe decodes for a second or more before refusing."""
    from tests.audio.engine.files import constant_flac

    path = tmp_path / "slow.flac"
    path.write_bytes(constant_flac(2 * 3600, rate=48000, channels=2, blocksize=16384))
    return path


def _probe_children() -> list[Any]:
    """The sandbox's probe processes: children of its launchers, children of its forkserver, a
    child of this process."""
    import psutil

    me = psutil.Process()
    return [
        p for child in me.children() for launcher in child.children() for p in launcher.children()
    ]


def test_sandbox_timeout_kills_that_probe_only(tmp_path: Path) -> None:
    """A probe past its timeout is killed and refused, while a probe started meanwhile answers
    normally (with a shared pool it waited behind the slow one, or was killed with it)."""
    import threading
    import time

    from audio.sandbox import ProbeCrashed, probe_isolated
    from audio.services.assets import engine_limits_kwargs
    from tests.audio.audiofiles import write_wav

    slow, good = _slow_bomb(tmp_path), write_wav(tmp_path / "good.wav", seconds=0.2)
    limits = engine_limits_kwargs()
    outcome: dict[str, Any] = {}
    # How long the slow probe takes here and now (it varies 5x with the machine's load): the
    # timeout is a quarter of that, so it fires whatever the load.
    began = time.perf_counter()
    assert probe_isolated(str(slow), limits)[0] == "error"
    timeout_s = max(0.1, (time.perf_counter() - began) / 4)

    def run_slow() -> None:
        try:
            outcome["slow_returned"] = probe_isolated(str(slow), limits, timeout_s=timeout_s)
        except ProbeCrashed as exc:
            outcome["slow"] = str(exc)
        except BaseException as exc:  # reported by the assertion below, not lost in the thread
            outcome["slow_raised"] = repr(exc)

    thread = threading.Thread(target=run_slow)
    thread.start()
    status, info = probe_isolated(str(good), limits)
    outcome["good_done_while_slow_ran"] = thread.is_alive()
    thread.join(30)
    assert (status, info["format"]) == ("ok", "wav")
    assert outcome["good_done_while_slow_ran"]
    assert not thread.is_alive(), "the slow probe was not stopped within 30 s"
    assert outcome.get("slow") == "reading the file took too long", outcome
    from tests.audio.conftest import wait_for

    wait_for(lambda: not _probe_children(), 10)


def test_sandbox_child_crash_is_a_422_not_a_5xx(tmp_path: Path) -> None:
    """A probe child that dies (here: SIGSEGV, as a decoder crash would) becomes InvalidAudio
    naming it; the next probe works."""
    import signal
    import threading

    from audio.services.assets import InvalidAudio, audio_probe
    from tests.audio.audiofiles import write_wav
    from tests.audio.conftest import wait_for

    slow = _slow_bomb(tmp_path)
    caught: dict[str, Any] = {}

    def run() -> None:
        try:
            audio_probe(slow)
        except InvalidAudio as exc:
            caught["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    victim = wait_for(lambda: _probe_children(), 10)[0]
    victim.send_signal(signal.SIGSEGV)
    thread.join(30)
    error = caught["error"]
    assert error.status == 422 and "the decoder crashed on this file" in error.detail
    assert audio_probe(write_wav(tmp_path / "after.wav", seconds=0.2))["format"] == "wav"


# --- one format registry ----------------------------------------------------------------------


def test_upload_form_and_api_take_the_formats_from_the_engine() -> None:
    """The upload panel's accept list and label, and the assets API's format filter, are the
    engine's registry rendered (no copy of the list to drift)."""
    from django.template.loader import render_to_string

    from audio.api.views import AssetViewSet
    from audio.engine.formats import FORMATS, NAMES, accept_attribute

    html = render_to_string(
        "audio/_upload.html", {"project": {"pk": 1}, "song": {"pk": 2}, "can": {}}
    )
    assert f'accept="{accept_attribute()}"' in html
    assert ", ".join(f.label for f in FORMATS) in html
    assert AssetViewSet.choice_filters["file_format"] == ("format", list(NAMES))


def test_a_stored_file_of_another_kind_cannot_be_a_stem_take_or_mix(
    scenario: Any, song: Any
) -> None:
    from audio.services.assets import stem_attach, stored_file_create, take_attach
    from audio.services.mixes import mix_create
    from studio.errors import Invalid

    artwork, _ = stored_file_create(
        project=scenario.project, kind="artwork", media_type="image/png", path_or_bytes=PNG
    )
    producer = scenario.users["producer"]
    attempts = [
        lambda: stem_attach(actor=producer, song=song, asset=artwork),
        lambda: take_attach(actor=producer, song=song, asset=artwork, part="vocal"),
        lambda: mix_create(actor=producer, song=song, asset=artwork),
    ]
    for attempt in attempts:
        with pytest.raises(Invalid) as caught:
            attempt()
        assert caught.value.code == "not_audio" and "artwork file, not audio" in caught.value.detail
    assert (Stem.objects.count(), Take.objects.count(), Mix.objects.count()) == (0, 0, 0)


def test_asset_created_events_of_every_kind_match_the_schema(scenario: Any, tmp_path: Path) -> None:
    """The replayed `asset.created` payload validates for audio and for a stored file without
    audio facts alike."""
    import jsonschema

    from audio.services.assets import asset_ingest_file, stored_file_create
    from eventlog.schemas import EVENT_SCHEMAS
    from tests.audio.audiofiles import write_wav

    stored_file_create(
        project=scenario.project, kind="artwork", media_type="image/png", path_or_bytes=PNG
    )
    path = write_wav(tmp_path / "a.wav", seconds=0.2)
    asset_ingest_file(
        actor=scenario.users["engineer"], project=scenario.project, path=path, original_name="a"
    )
    events = list(Event.objects.filter(type="asset.created"))
    assert sorted(e.payload["asset"]["kind"] for e in events) == ["artwork", "audio"]
    for event in events:
        jsonschema.validate(event.payload, EVENT_SCHEMAS["asset.created"])
