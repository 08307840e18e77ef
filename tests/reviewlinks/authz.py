"""Builders of review-link objects for the authorization matrix (tests/studio/test_authz_matrix)."""

from __future__ import annotations

from typing import Any

from tests.delivery.helpers import mastered_song


def _review_link(s: Any) -> Any:
    """A link to a 3 s master, sent by the producer (its copy not made: no job runs here)."""
    from reviewlinks.services import link_create
    from studio.models import Song

    n = Song.objects.filter(project=s.project).count()
    master = mastered_song(s, f"Matrix review song {n}", seconds=3.0, seed=700 + n).masters.get()
    link, _token = link_create(
        actor=s.users["producer"],
        master=master,
        recipient_name="Matrix listener",
        recipient_email="listener@example.test",
    )
    return link


def _leak_trace(s: Any) -> Any:
    """A trace of a short WAV (its job not run)."""
    import tempfile
    from pathlib import Path

    from reviewlinks.services import trace_start
    from tests.audio.audiofiles import write_wav

    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "found.wav", seconds=1.0, seed=9)
        return trace_start(actor=s.users["producer"], project=s.project, path=path)


def found_file_body() -> tuple[str, bytes]:
    """A multipart body carrying a short WAV as `file`."""
    import tempfile
    from pathlib import Path

    from tests.audio.audiofiles import write_wav

    with tempfile.TemporaryDirectory() as tmp:
        data = write_wav(Path(tmp) / "found.wav", seconds=0.5, seed=11).read_bytes()
    boundary = "reviewlinksmatrix"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body
