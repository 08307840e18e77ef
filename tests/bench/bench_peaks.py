"""L2: throughput of the waveform-peaks JSON endpoint under `wrk -t2 -c50`, as a ratio to a
trivial view (`/healthz`) served the same way (one Daphne process with production's pool of
database connections, the same middleware, the same run). The peaks are those the analysis
job stored for a real file; the endpoint is asked as the player asks (`?width=1200`, token
auth). Target: 0 non-2xx and a ratio >= 0.5.

Each side runs twice in the order ours, trivial, trivial, ours (the shared machine's load drifts;
so each side meets the same share of it), and the ratio is of the mean rates.

Run: `make bench` (or `python -m tests.bench bench_peaks`); BENCH_PEAKS_S sets each run's length
(15 s by default; docs/reliability.md's L2 says 60 s), BENCH_PEAKS_ROUNDS=1 one run each.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import requests

from tests.bench._audio_common import (
    bench_project,
    cleanup,
    setup_django,
    start,
    stop,
)
from tests.launch import daphne_command, free_port

DURATION_S = int(os.environ.get("BENCH_PEAKS_S", "15"))
ROUNDS = int(os.environ.get("BENCH_PEAKS_ROUNDS", "2"))
THREADS, CONNECTIONS = 2, 50
WIDTH = 1200


def wrk(url: str, headers: dict[str, str], seconds: int) -> dict[str, float]:
    """One wrk run: requests/s, non-2xx/3xx responses and socket errors."""
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rate.group(1)),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
    }


def main() -> None:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    from django.conf import settings

    setup_django()
    from audio.jobs import runner
    from audio.models import Asset, Job, JobKind
    from audio.services.assets import asset_ingest_file
    from tests.audio.audiofiles import write_wav

    user, project, token = bench_project("peaks")
    var = Path(settings.VAR_DIR)
    tmp = Path(tempfile.mkdtemp(dir=var))
    port = free_port()

    def up() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    daphne = None
    try:
        path = write_wav(tmp / "song.wav", seconds=180, seed=3)
        asset = asset_ingest_file(actor=user, project=project, path=path, original_name="s.wav")
        job = Job.objects.get(asset=asset, kind=JobKind.ANALYZE)
        if runner.run_job(job.pk) != "done":
            raise RuntimeError("the analysis job did not finish")
        asset = Asset.objects.get(pk=asset.pk)
        daphne = start(
            daphne_command(port),
            up,
            var / "log" / "bench-peaks-daphne.log",
            # production's database setting (docker/studio.env): a pool per process
            env={"DATABASE_POOL_SIZE": "8"},
        )
        base = f"http://127.0.0.1:{port}"
        peaks_url = f"{base}/api/assets/{asset.pk}/peaks/?width={WIDTH}"
        auth = {"Authorization": f"Token {token}"}
        wrk(peaks_url, auth, 2)  # warm both (connections, caches) before measuring
        wrk(f"{base}/healthz", auth, 2)
        # ABBA order: the machine's load drifts, and each side gets the same share of it
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "peer": []}
        urls = {"ours": peaks_url, "peer": f"{base}/healthz"}
        for side in ("ours", "peer", "peer", "ours")[: 4 if ROUNDS > 1 else 2]:
            runs[side].append(wrk(urls[side], auth, DURATION_S))
        size = len(requests.get(peaks_url, headers=auth, timeout=30).content)
        ours, peer = (
            {
                "rps": sum(r["rps"] for r in side) / len(side),
                "non_2xx": sum(r["non_2xx"] for r in side),
                "socket_errors": sum(r["socket_errors"] for r in side),
                "p99_ms": max(r["p99_ms"] for r in side),
            }
            for side in (runs["ours"], runs["peer"])
        )
        each = ", ".join(f"{r['rps']:.0f}" for r in runs["ours"])
        each_peer = ", ".join(f"{r['rps']:.0f}" for r in runs["peer"])
        print(
            f"peaks endpoint (?width={WIDTH}, {size / 1024:.0f} KiB JSON), wrk -t{THREADS} "
            f"-c{CONNECTIONS} -d{DURATION_S}s, {len(runs['ours'])} run(s): {each} req/s, p99 "
            f"{ours['p99_ms']:.0f} ms, non-2xx {ours['non_2xx']:.0f}, socket errors "
            f"{ours['socket_errors']:.0f}"
        )
        print(
            f"trivial view (/healthz), same Daphne: {each_peer} req/s, p99 "
            f"{peer['p99_ms']:.0f} ms, non-2xx {peer['non_2xx']:.0f}, socket errors "
            f"{peer['socket_errors']:.0f}"
        )
        ratio = ours["rps"] / peer["rps"] if peer["rps"] else float("nan")
        verdict = "ok" if ratio >= 0.5 and ours["non_2xx"] == 0 else "BELOW TARGET"
        print(f"ratio peaks/trivial throughput: {ratio:.2f} (target >= 0.5, 0 non-2xx): {verdict}")
    finally:
        if daphne is not None:
            stop(daphne)
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup(project, user)


if __name__ == "__main__":
    main()
