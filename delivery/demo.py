"""The demo's release: the demo project's songs that have a master, as a release the team can
sequence and deliver (called by the `seed_demo` command after the demo master exists)."""

from __future__ import annotations

from typing import Any

from audio.models import Master
from delivery.models import Release
from delivery.services import release_create
from studio.models import Project

DEMO_UPC = "036000291452"  # a valid UPC-A (its GS1 check digit is right)


def seed_demo_release(*, project: Project, users: dict[str, Any]) -> Release:
    """Idempotent: the project's first release, or a new one holding every song with a master
    (an unapproved master is listed as the missing piece to approve on the release page)."""
    existing = Release.objects.filter(project=project).order_by("id").first()
    if existing is not None:
        return existing
    songs = list(
        Master.objects.filter(project=project)
        .order_by("song_id")
        .values_list("song_id", flat=True)
        .distinct()
    )
    return release_create(
        actor=users["mia"],
        project=project,
        data={
            "title": project.name,
            "artist": "Ava",
            "label": "Demo Records",
            "upc": DEMO_UPC,
            "p_line": "2026 Demo Records",
            "c_line": "2026 Demo Records",
            "songs": songs,
        },
    )
