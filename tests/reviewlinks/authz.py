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
