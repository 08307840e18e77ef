"""Upload throughput through tus on a real Daphne, as a ratio to a plain local file copy of the
same bytes (same disk, same run). `python -m tests.bench.bench_uploads`."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._audio_common import (
    bench_project,
    cleanup,
    setup_django,
    start,
    stop,
)
from tests.launch import daphne_command, free_port

MIB = 1024 * 1024
SIZE = 1024 * MIB
CHUNK = 8 * MIB
ROUNDS = 3  # alternating (copy, upload, the second peer), so a slow minute hits all


@dataclass
class Upload:
    wall: float
    client_s: float
    patch_s: list[float]


def _wav(path: Path, data_bytes: int) -> None:
    import struct

    rate, channels = 48000, 2
    frames = data_bytes // 8
    size = frames * 8
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 3, channels, rate, rate * 8, 8, 32)
        + b"data"
        + struct.pack("<I", size)
    )
    rng = np.random.default_rng(1)
    with open(path, "wb") as fh:
        fh.write(header)
        left = frames
        while left:
            n = min(left, 262144)
            fh.write((0.1 * rng.standard_normal(n * channels)).astype("<f4").tobytes())
            left -= n


def _guarded_copy(src: Path, dest: Path) -> float:
    """A second peer, reported beside the plain copy (never instead of it): the local copy
    with the work each tus chunk must do whatever the transport (the bytes through user
    memory, a SHA-256 of each 8 MiB block and a running one of the whole, fsync per block), so
    the figure says what HTTP and the framework cost on top."""
    started = time.perf_counter()
    whole = hashlib.sha256()
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while block := fin.read(CHUNK):
            hashlib.sha256(block).digest()
            whole.update(block)
            fout.write(block)
            fout.flush()
            os.fdatasync(fout.fileno())
    whole.hexdigest()
    elapsed = time.perf_counter() - started
    dest.unlink()
    return elapsed


def plain_copy(src: Path, dest: Path) -> float:
    """The peer: a local copy of the same bytes and one fsync (then deleted)."""
    started = time.perf_counter()
    shutil.copyfile(src, dest)
    with open(dest, "rb+") as fh:
        os.fsync(fh.fileno())
    elapsed = time.perf_counter() - started
    dest.unlink()
    return elapsed


def tus_upload(session: Any, base: str, auth: dict[str, str], src: Path, project: int) -> Upload:
    """One upload of ``src`` through tus in CHUNK-byte PATCHes, each with its SHA-256."""
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"filename": "bench.wav", "project": str(project)}.items()
    )
    size = src.stat().st_size
    started = time.perf_counter()
    created = session.post(
        f"{base}/api/uploads/",
        headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta},
        timeout=60,
    )
    url = created.headers["Location"]
    offset = 0
    client_s = 0.0
    patch_s: list[float] = []
    with open(src, "rb") as fh:
        while offset < size:
            hashed = time.perf_counter()
            body = fh.read(CHUNK)
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            client_s += time.perf_counter() - hashed
            sent = time.perf_counter()
            response = session.patch(
                url,
                data=body,
                headers={
                    **auth,
                    "Upload-Offset": str(offset),
                    "Upload-Checksum": f"sha256 {digest}",
                    "Content-Type": "application/offset+octet-stream",
                },
                timeout=120,
            )
            if response.status_code != 204:
                raise RuntimeError(f"PATCH {response.status_code}: {response.text[:300]}")
            patch_s.append(time.perf_counter() - sent)
            offset += len(body)
    return Upload(time.perf_counter() - started, client_s, patch_s)


def main() -> None:
    import requests
    from django.conf import settings

    setup_django()
    user, project, token = bench_project("uploads")
    port = free_port()

    def up() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    var = Path(settings.VAR_DIR)
    daphne = start(
        daphne_command(port),
        up,
        var / "log" / "bench-uploads-daphne.log",
        # production's database setting (docker/studio.env): a pool per process
        env={"DATABASE_POOL_SIZE": "8"},
    )
    tmp = Path(tempfile.mkdtemp(dir=var))
    try:
        src = tmp / "src.wav"
        _wav(src, SIZE)
        mb = src.stat().st_size / MIB
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
        session = requests.Session()
        # warm: Daphne loads the URL configuration on its first request, not part of an upload
        session.options(f"{base}/api/uploads/", headers=auth, timeout=60)
        rounds = []
        for _ in range(ROUNDS):
            copy_s = plain_copy(src, tmp / "copy.wav")
            upload = tus_upload(session, base, auth, src, project.pk)
            floor_s = _guarded_copy(src, tmp / "guarded.wav")
            rounds.append((copy_s, upload, floor_s))
        print(
            f"{ROUNDS} alternating rounds of {mb:.0f} MiB (the plain copy's time swings with the "
            "state of the VM's memory: a page the kernel handed back to the host is faulted in "
            "again, 0.6-2.4 s per GiB)"
        )
        for k, (copy_s, upload, floor_s) in enumerate(rounds, 1):
            patches = upload.patch_s[:-1]
            print(
                f"round {k}: upload via tus (8 MiB chunks, sha256 per chunk) {upload.wall:.2f} s "
                f"= {mb / upload.wall:.0f} MiB/s (client reads+hashes {upload.client_s:.2f} s, "
                f"{len(patches)} PATCHes {sum(patches):.2f} s, median "
                f"{statistics.median(patches):.3f} s, the completing PATCH (probe, store, "
                f"commit) {upload.patch_s[-1]:.2f} s); plain copy (+fsync) {copy_s:.2f} s "
                f"= {mb / copy_s:.0f} MiB/s; the copy doing a chunk's work {floor_s:.2f} s; "
                f"ratios {copy_s / upload.wall:.2f}, {floor_s / upload.wall:.2f}"
            )
        print(
            "ratio upload/copy throughput (median of rounds): "
            f"{statistics.median(c / u.wall for c, u, _ in rounds):.2f} (target >= 0.3)"
        )
        print(
            "second peer, the same copy doing what a chunk must (8 MiB blocks through memory, "
            "SHA-256 of each and of the whole, fsync each); ratio upload/that (median): "
            f"{statistics.median(f / u.wall for _, u, f in rounds):.2f}"
        )
        print(
            "  limit: a chunk's own guarantees (two SHA-256 passes and an fsync per 8 MiB) "
            "make that peer itself "
            f"{statistics.median(c / f for c, _, f in rounds):.2f}x of the plain copy; "
            "Daphne hands a request to the application only once its whole body has arrived, "
            "so receiving a chunk and writing it cannot overlap"
        )
    finally:
        stop(daphne)
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup(project, user)


if __name__ == "__main__":
    main()
