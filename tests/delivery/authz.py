"""Builders of delivery objects for the authorization matrix (tests/studio/test_authz_matrix.py)."""

from __future__ import annotations

from typing import Any

from tests.delivery.helpers import mastered_song, png_bytes


def _song(s: Any) -> Any:
    from studio.models import Song

    n = Song.objects.filter(project=s.project).count()
    return mastered_song(s, f"Matrix release song {n}", seed=500 + n)


def _release(s: Any) -> Any:
    """A deliverable release of one mastered song (5 s, approved)."""
    from delivery.services import release_create

    return release_create(
        actor=s.users["producer"],
        project=s.project,
        data={"title": "Matrix release", "artist": "Ava", "songs": [_song(s).pk]},
    )


def _track(s: Any) -> Any:
    return _release(s).tracks.get()


def _delivery(s: Any) -> Any:
    from audio.services.jobs import job_create
    from delivery.models import Delivery

    release = _release(s)
    job = job_create(actor=s.users["producer"], project=s.project, kind="noop")
    return Delivery.objects.create(release=release, job=job, number=1, qc_status="pass")


BOUNDARY = "matrixboundary"


def artwork_body() -> tuple[str, bytes]:
    """A multipart body holding a valid 1400 px PNG cover as `file`."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="c.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return (
        f"multipart/form-data; boundary={BOUNDARY}",
        head + png_bytes(1400, 1400) + f"\r\n--{BOUNDARY}--\r\n".encode(),
    )
