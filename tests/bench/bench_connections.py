"""Database connections (issue 17): requests/s of a typical API read (the song list of a
project with 30 songs, token auth) on one Daphne process under `wrk -t2 -c50`, with a new
PostgreSQL connection per request (DATABASE_CONN_MAX_AGE=0), persistent ones (60 s, health
checks) and a pool (DATABASE_POOL_SIZE=8, checked), each run beside the trivial view
(`/healthz`, which touches no database) on the same Daphne, so every figure is a ratio measured
in the same run, and the non-2xx answers of each.

The ASGI caveat, measured here: under Daphne each request's sync code may run on a thread of
its own, and a persistent connection belongs to its thread, so with CONN_MAX_AGE > 0 the
connections pile up until PostgreSQL refuses more ("too many clients") and requests fail with
500. A pool belongs to the process: its connections are handed to each request's thread and
back, so production uses it (docker/studio.env) and keeps CONN_MAX_AGE at 0.

Run: `make bench` (or `python -m tests.bench bench_connections`); BENCH_CONNECTIONS_S sets each
run's length (10 s by default).
"""

from __future__ import annotations

import os
import shutil
import socket

from tests.bench._audio_common import (
    ROOT,
    bench_project,
    cleanup,
    setup_django,
    start,
    stop,
)
from tests.bench.bench_peaks import wrk
from tests.launch import daphne_command, free_port

DURATION_S = int(os.environ.get("BENCH_CONNECTIONS_S", "10"))
# label -> the Daphne's database settings
SETTINGS = {
    "per request (0)": {"DATABASE_CONN_MAX_AGE": "0"},
    "persistent (60 s, health checks)": {"DATABASE_CONN_MAX_AGE": "60"},
    "pooled (8, checked)": {"DATABASE_POOL_SIZE": "8"},
}


def main() -> None:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    setup_django()
    from studio.services.songs import song_create

    user, project, token = bench_project("connections")
    for number in range(30):
        song_create(actor=user, project=project, title=f"Song {number}")
    auth = {"Authorization": f"Token {token}"}
    results = {}
    try:
        for number, (label, env) in enumerate(SETTINGS.items()):
            port = free_port()

            def up(port: int = port) -> bool:
                with socket.socket() as sock:
                    return sock.connect_ex(("127.0.0.1", port)) == 0

            daphne = start(
                daphne_command(port),
                up,
                ROOT / "var" / "log" / f"bench-connections-{number}.log",
                env={"DATABASE_CONN_HEALTH_CHECKS": "true", **env},
            )
            try:
                base = f"http://127.0.0.1:{port}"
                read = f"{base}/api/songs/?project={project.pk}"
                wrk(read, auth, 2)  # warm up
                ours = wrk(read, auth, DURATION_S)
                peer = wrk(f"{base}/healthz", auth, DURATION_S)
            finally:
                stop(daphne)
            results[label] = (ours, peer)
            print(
                f"{label}: song list {ours['rps']:.0f} req/s (p99 {ours['p99_ms']:.0f} ms, "
                f"non-2xx {ours['non_2xx']}), /healthz {peer['rps']:.0f} req/s, ratio "
                f"{ours['rps'] / peer['rps']:.2f}"
            )
        fresh, fresh_peer = results["per request (0)"]
        for label, (ours, peer) in list(results.items())[1:]:
            print(
                f"{label} / per request, song list: {ours['rps'] / fresh['rps']:.2f} "
                f"(as ratios to /healthz: {ours['rps'] / peer['rps']:.2f} vs "
                f"{fresh['rps'] / fresh_peer['rps']:.2f}); non-2xx {ours['non_2xx']} vs "
                f"{fresh['non_2xx']}: " + ("unsafe here" if ours["non_2xx"] else "safe here")
            )
    finally:
        cleanup(project, user)


if __name__ == "__main__":
    main()
