"""A standard tus client (tuspy) against a real Daphne, and U1: a big upload over a connection
that breaks at random offsets, with the server's memory watched."""

from __future__ import annotations

import hashlib
import random
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import requests
from rest_framework.authtoken.models import Token

from audio.models import Asset, Job, JobState, Upload
from tests.audio.conftest import Daphne, b64, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

MIB = 1024 * 1024


def _big_wav(path: Path, data_bytes: int, rate: int = 192000, channels: int = 2) -> str:
    """A valid 32-bit float WAV of about `data_bytes`, written in blocks; returns its sha256."""
    import struct

    block_align = channels * 4
    frames = data_bytes // block_align
    size = frames * block_align
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 3, channels, rate, rate * block_align, block_align, 32)
        + b"data"
        + struct.pack("<I", size)
    )
    digest = hashlib.sha256(header)
    rng = np.random.default_rng(7)
    with open(path, "wb") as fh:
        fh.write(header)
        left = frames
        while left:
            n = min(left, 262144)
            block = (0.1 * rng.standard_normal(n * channels)).astype("<f4").tobytes()
            fh.write(block)
            digest.update(block)
            left -= n
    return digest.hexdigest()


def test_tuspy_client_works_unchanged(
    daphne_server: Daphne, celery_worker_proc: Any, scenario: Any, tmp_path: Path
):
    """tuspy creates, sends chunks with checksums and finishes; the asset's sha256 matches, and
    its analysis job finishes (waited for: a job still running in the worker when the test's
    teardown truncates the tables made that TRUNCATE deadlock)."""
    from tusclient import client as tus

    from tests.audio.audiofiles import write_wav

    token = Token.objects.create(user=scenario.users["engineer"])
    path = write_wav(tmp_path / "t.wav", seconds=12, seed=21)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    client = tus.TusClient(
        f"{daphne_server.url}/api/uploads/", headers={"Authorization": f"Token {token.key}"}
    )
    uploader = client.uploader(
        str(path),
        chunk_size=MIB,
        metadata={"filename": "t.wav", "project": str(scenario.project.pk)},
        upload_checksum=True,
    )
    uploader.upload()
    assert uploader.offset == path.stat().st_size
    headers = uploader.request.response_headers
    asset = Asset.objects.get(sha256=sha)
    assert headers.get("studio-asset-id") == str(asset.pk)
    assert headers.get("studio-job-id")
    job_id = int(headers["studio-job-id"])
    wait_for(lambda: Job.objects.get(pk=job_id).state in (JobState.DONE, JobState.FAILED), 60)
    assert Job.objects.get(pk=job_id).state == JobState.DONE


def _patch_raw(port: int, path: str, token: str, offset: int, body: bytes, cut: int | None) -> int:
    """PATCH over a raw socket; with `cut`, send only that many body bytes and hang up."""
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        if cut is not None:
            sock.sendall(body[:cut])
            return 0
        sock.sendall(body)
        status = sock.recv(4096).split(b" ", 2)[1]
    return int(status)


@pytest.mark.slow
def test_u1_200mib_upload_with_broken_connections(scenario: Any, tmp_path: Path) -> None:
    """U1: 200 MiB in 8 MiB chunks, the connection aborted at 10 random offsets: the upload
    completes, the server's SHA-256 equals the client's, and Daphne's memory stays flat."""
    server = Daphne()
    try:
        token = Token.objects.create(user=scenario.users["engineer"]).key
        path = tmp_path / "big.wav"
        sha = _big_wav(path, 200 * MIB)
        size = path.stat().st_size
        meta = f"filename {b64('big.wav')},project {b64(str(scenario.project.pk))}"
        created = requests.post(
            f"{server.url}/api/uploads/",
            headers={
                "Authorization": f"Token {token}",
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(size),
                "Upload-Metadata": meta,
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        url_path = "/" + created.headers["Location"].split("/", 3)[3]
        proc = psutil.Process(server.proc.pid)
        rss_start = proc.memory_info().rss
        peak = [rss_start]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.05):
                peak[0] = max(peak[0], proc.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rng = random.Random(3)
        aborts = sorted(rng.sample(range(1, size - 1), 10))
        chunk = 8 * MIB
        offset, broken = 0, 0
        with open(path, "rb") as fh:
            while offset < size:
                fh.seek(offset)
                body = fh.read(chunk)
                pending = [a for a in aborts if offset <= a < offset + len(body)]
                if pending:
                    aborts.remove(pending[0])
                    _patch_raw(server.port, url_path, token, offset, body, pending[0] - offset)
                    broken += 1
                    head = requests.head(
                        f"{server.url}{url_path}",
                        headers={"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"},
                        timeout=30,
                    )
                    offset = int(head.headers["Upload-Offset"])
                    continue
                status = _patch_raw(server.port, url_path, token, offset, body, None)
                assert status == 204, status
                offset += len(body)
        stop.set()
        sampler.join()
        time.sleep(0.5)
        rss_end = proc.memory_info().rss
        asset = Asset.objects.get(project=scenario.project)
        assert asset.sha256 == sha
        assert Upload.objects.get().state == "done"
        growth_peak = (peak[0] - rss_start) / MIB
        growth_end = (rss_end - rss_start) / MIB
        print(
            f"U1: {broken} aborts; daphne RSS growth peak {growth_peak:.1f} MiB, "
            f"end {growth_end:.1f} MiB (start {rss_start / MIB:.0f} MiB)"
        )
        assert broken == 10
        assert growth_peak < 64
    finally:
        server.stop()


def _tus_create(server: Daphne, token: str, project: int, data: bytes, name: str) -> str:
    created = requests.post(
        f"{server.url}/api/uploads/",
        headers={
            "Authorization": f"Token {token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"filename {b64(name)},project {b64(str(project))}",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return str(created.headers["Location"])


def _tus_send(url: str, token: str, data: bytes) -> requests.Response:
    return requests.patch(
        url,
        data=data,
        headers={
            "Authorization": f"Token {token}",
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=60,
    )


def _scratch_files() -> set[Path]:
    from django.conf import settings

    return {p for p in Path(settings.UPLOAD_DIR).iterdir() if p.name.startswith("scratch-")}


def test_a_long_probe_blocks_no_other_request(
    daphne_server: Daphne, scenario: Any, tmp_path: Path
) -> None:
    """While one upload's probe decodes a bomb (about two seconds on an idle core), another
    upload completes (its probe runs in a child of its own, not queued behind the bomb's) and
    an API read answers; then the bomb is refused with 422 and the engine's sentence, leaving no
    row and no stored file. (The 5-second bound is asserted in CPU time by the engine's tests
    and in wall time by test_uploads; here the machine's load is whatever it is, so the bound
    is the sandbox's own timeout.)"""
    from django.conf import settings

    from tests.audio.audiofiles import wav_bytes
    from tests.audio.engine.files import constant_flac

    token = Token.objects.create(user=scenario.users["engineer"]).key
    project = scenario.project.pk
    # 6 hours of silence in about 1.1 MB: its decode budget takes about a second to spend
    bomb = constant_flac(6 * 3600, rate=48000, channels=2, blocksize=16384)
    good = wav_bytes(seconds=0.5, seed=81)
    bomb_url = _tus_create(daphne_server, token, project, bomb, "bomb.flac")
    good_url = _tus_create(daphne_server, token, project, good, "good.wav")
    # warm up: Daphne's first request and the sandbox's forkserver start are not the point
    warm = b"RIFF" + bytes(60)
    warm_url = _tus_create(daphne_server, token, project, warm, "w.wav")
    assert _tus_send(warm_url, token, warm).status_code == 422
    root = Path(settings.MEDIA_ROOT) / "assets"
    before = {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    scratch_before = _scratch_files()

    finished: dict[str, float] = {}
    responses: dict[str, requests.Response] = {}

    def send_bomb() -> None:
        responses["bomb"] = _tus_send(bomb_url, token, bomb)
        finished["bomb"] = time.perf_counter()

    started = time.perf_counter()
    thread = threading.Thread(target=send_bomb)
    thread.start()
    time.sleep(0.1)  # the bomb's body (1.1 MB over loopback) is in; its probe is decoding
    good_response = _tus_send(good_url, token, good)
    finished["good"] = time.perf_counter()
    read = requests.get(
        f"{daphne_server.url}/api/assets/?project={project}",
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    finished["read"] = time.perf_counter()
    thread.join(30)

    assert good_response.status_code == 204, good_response.text
    assert read.status_code == 200
    bomb_response = responses["bomb"]
    assert bomb_response.status_code == 422, bomb_response.text
    body = bomb_response.json()
    assert body["code"] == "invalid_audio" and "decompression bomb" in body["detail"], body
    assert finished["good"] < finished["bomb"] and finished["read"] < finished["bomb"], finished
    assert finished["bomb"] - started < 20.0, finished
    print(
        f"\nbomb refused over Daphne after {finished['bomb'] - started:.2f} s; meanwhile an "
        f"upload completed at {finished['good'] - started:.2f} s and a read at "
        f"{finished['read'] - started:.2f} s"
    )
    assert not Asset.objects.filter(sha256=hashlib.sha256(bomb).hexdigest()).exists()
    assert Asset.objects.filter(sha256=hashlib.sha256(good).hexdigest()).count() == 1
    after = {p for p in root.rglob("*") if p.is_file()}
    assert len(after - before) == 1  # the good file only
    assert Upload.objects.get(pk=bomb_url.rstrip("/").rsplit("/", 1)[-1]).state == "failed"
    # Earlier tests' workers may leave scratch files of their own; this upload left none.
    assert _scratch_files() <= scratch_before
