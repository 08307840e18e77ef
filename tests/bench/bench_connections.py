"""Persistent database connections (issue 17): requests/s of a typical API read (the song list
of a project with 30 songs, token auth) on one Daphne process under `wrk -t2 -c50`, with
DATABASE_CONN_MAX_AGE=0 (a new PostgreSQL connection per request) against 60 s with health
checks, each run beside the trivial view (`/healthz`, which touches no database) on the same
Daphne, so both figures are ratios measured in the same run, and the non-2xx answers of each.

The ASGI caveat, measured here: under Daphne each request's sync code may run on a thread of
its own, and a persistent connection belongs to its thread, so with CONN_MAX_AGE > 0 the
connections pile up until PostgreSQL refuses more ("too many clients") and requests fail with
500. Hence the web default stays 0 (docs/operations.md).

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
    free_port,
    setup_django,
    start,
    stop,
)
from tests.bench.bench_peaks import wrk

DURATION_S = int(os.environ.get("BENCH_CONNECTIONS_S", "10"))
APP = "studio.asgi:application"
SETTINGS = {"per request (0)": "0", "persistent (60 s, health checks)": "60"}


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
        for label, max_age in SETTINGS.items():
            port = free_port()

            def up(port: int = port) -> bool:
                with socket.socket() as sock:
                    return sock.connect_ex(("127.0.0.1", port)) == 0

            daphne = start(
                [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), APP],
                up,
                ROOT / "var" / "log" / f"bench-connections-{max_age}.log",
                env={"DATABASE_CONN_MAX_AGE": max_age, "DATABASE_CONN_HEALTH_CHECKS": "true"},
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
        (fresh, fresh_peer), (kept, kept_peer) = results.values()
        print(
            f"persistent / per request, song list: {kept['rps'] / fresh['rps']:.2f} "
            f"(as ratios to /healthz: {kept['rps'] / kept_peer['rps']:.2f} vs "
            f"{fresh['rps'] / fresh_peer['rps']:.2f}); non-2xx {kept['non_2xx']} vs "
            f"{fresh['non_2xx']}: "
            + ("persistent is unsafe here" if kept["non_2xx"] else "persistent is safe here")
        )
    finally:
        cleanup(project, user)


if __name__ == "__main__":
    main()
