"""Upload throughput through tus on a real Daphne, as a ratio to a plain local file copy of the
same bytes (same disk, same run). `python -m tests.bench.bench_uploads`."""

from __future__ import annotations

import hashlib
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.bench._audio_common import (
    bench_project,
    cleanup,
    free_port,
    setup_django,
    start,
    stop,
)
from tests.launch import daphne_command

MIB = 1024 * 1024
SIZE = 1024 * MIB
CHUNK = 8 * MIB


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
    import os

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
        size = src.stat().st_size
        started = time.perf_counter()
        shutil.copyfile(src, tmp / "copy.wav")
        with open(tmp / "copy.wav", "rb+") as fh:
            import os

            os.fsync(fh.fileno())
        copy_s = time.perf_counter() - started

        import base64

        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}"
            for k, v in {"filename": "bench.wav", "project": str(project.pk)}.items()
        )
        auth = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
        session = requests.Session()
        # warm: Daphne loads the URL configuration on its first request, not part of an upload
        session.options(f"http://127.0.0.1:{port}/api/uploads/", headers=auth, timeout=60)
        started = time.perf_counter()
        created = session.post(
            f"http://127.0.0.1:{port}/api/uploads/",
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
        upload_s = time.perf_counter() - started
        floor_s = _guarded_copy(src, tmp / "guarded.wav")
        mb = size / MIB
        print(
            f"upload {mb:.0f} MiB via tus (8 MiB chunks, sha256 per chunk): {upload_s:.2f} s "
            f"= {mb / upload_s:.0f} MiB/s"
        )
        print(
            f"  of which: client reads+hashes {client_s:.2f} s, {len(patch_s) - 1} PATCHes "
            f"{sum(patch_s[:-1]):.2f} s (median {sorted(patch_s[:-1])[len(patch_s) // 2]:.3f} s), "
            f"the completing PATCH (probe, store, commit) {patch_s[-1]:.2f} s"
        )
        print(
            f"plain local copy of the same bytes (+fsync): {copy_s:.2f} s = {mb / copy_s:.0f} MiB/s"
        )
        print(f"ratio upload/copy throughput: {copy_s / upload_s:.2f}")
        print(
            f"second peer, the same copy doing what a chunk must (8 MiB blocks through memory, "
            f"SHA-256 of each and of the whole, fsync each): {floor_s:.2f} s = "
            f"{mb / floor_s:.0f} MiB/s; ratio upload/that: {floor_s / upload_s:.2f}"
        )
    finally:
        stop(daphne)
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup(project, user)


if __name__ == "__main__":
    main()
