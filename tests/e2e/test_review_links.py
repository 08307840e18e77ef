"""The review-link journey: a producer sends a master to an A&R from the player; the A&R opens
the link in a fresh browser with no account, waits while their copy is marked (the real
worker), plays it and comments; the producer's open Review links page shows the comment (from
outside) and the play live; the producer revokes the link and the A&R's page stops working;
a leaked copy of that recipient's file (MP3 at 128 kbit/s, cut) uploaded on the page is traced
back to them. Every wait is on a state the page promises; no sleeps."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.e2e.conftest import WIDE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
SLOW = 180_000
RATE = 48_000


@pytest.fixture(scope="module")
def mastered(stack: Any, django_db_blocker: Any) -> dict[str, Any]:
    """A project of its own with one song whose approved Master 1 is 75 s of music-like audio,
    committed, its file stored where the servers keep theirs."""
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from audio.models import Master
    from audio.services.assets import asset_ingest_file
    from audio.services.mixes import mix_create
    from studio.services.projects import member_add, project_create
    from studio.services.songs import song_create
    from tests.audio.engine.test_watermark_signals import music

    var = Path(stack.env["STUDIO_VAR_DIR"])
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=var / "media", UPLOAD_DIR=var / "uploads"),
    ):
        producer = get_user_model().objects.get(username="e2e-producer")
        project = project_create(actor=producer, name="Review copies")
        for role in ("engineer", "artist", "viewer"):
            member_add(actor=producer, project=project, username=f"e2e-{role}", role=role)
        song = song_create(actor=producer, project=project, title="Open Water")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.wav"
            sf.write(path, music(RATE, 75.0, seed=21).T, RATE, subtype="PCM_24")
            asset = asset_ingest_file(
                actor=producer, project=project, path=path, original_name="Open Water.wav"
            )
        mix = mix_create(actor=producer, song=song, asset=asset)
        master = Master.objects.create(
            project=project, song=song, mix=mix, number=1, asset=asset, is_approved=True
        )
    return {"project": project.pk, "master": master.pk}


def _leaked_copy(stack: Any, django_db_blocker: Any, out: Path) -> Path:
    """The recipient's marked copy, as someone leaked it: MP3 at 128 kbit/s, 60 s cut out."""
    from django.test import override_settings

    from audio import storage
    from audio.engine.io import write_mp3
    from reviewlinks.models import ReviewLink

    var = Path(stack.env["STUDIO_VAR_DIR"])
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=var / "media", UPLOAD_DIR=var / "uploads"),
    ):
        link = ReviewLink.objects.select_related("marked_asset").latest("id")
        with storage.asset_path(link.marked_asset) as path:
            data, rate = sf.read(path, dtype="float32", always_2d=True)
    cut = data[int(7.3 * rate) : int(67.3 * rate)].T
    write_mp3(out, np.ascontiguousarray(cut), rate, quality=128)
    return out


@pytest.mark.allow_console("404", "Failed to load resource")
def test_a_master_goes_to_an_a_and_r_who_plays_and_comments_then_it_is_revoked_and_traced(
    open_as: Any,
    browser: Any,
    stack: Any,
    shot: Any,
    mastered: dict[str, Any],
    django_db_blocker: Any,
    tmp_path: Path,
) -> None:
    pid = mastered["project"]
    producer = open_as("producer")
    producer.goto(f"/masters/{mastered['master']}/")
    producer.click("#send-review-copy")
    expect(producer.locator("h1", has_text="Review links")).to_be_visible()
    producer.fill("#rs-name", "Ana Ruiz (A&R)")
    producer.fill("#rs-email", "ana@label.test")
    producer.fill("#rs-note", "First listen, please keep it private")
    producer.click("#review-send button[type=submit]")
    url = producer.locator("#sent-url").input_value()
    assert "/r/#" in url
    shot(producer, "review-sent")

    guest_context = browser.new_context(viewport=WIDE)  # no account, no cookies
    guest_context.set_default_timeout(15_000)
    guest = guest_context.new_page()
    guest.goto(url)
    expect(guest.locator("#review-audio")).to_be_visible(timeout=SLOW)  # marked by the worker
    assert "#" not in guest.url  # the token left the address bar
    expect(guest.locator("h1")).to_contain_text("Open Water")
    # wavesurfer draws the server's peaks in its own canvas (shadow DOM) over the page's <audio>
    expect(guest.locator("#review-wave canvas").first).to_be_attached()
    guest.evaluate(
        "() => { const a = document.getElementById('review-audio'); a.muted = true;"
        " return a.play(); }"
    )
    guest.fill("#review-body", "The second chorus lifts; maybe more vocal")
    guest.click("#review-comment button[type=submit]")
    expect(guest.locator("#review-comments")).to_contain_text("maybe more vocal")
    shot(guest, "review-guest")

    row = producer.locator("#review-link-list li[data-link]").first
    expect(row).to_contain_text("maybe more vocal", timeout=20_000)  # live, no reload
    expect(row).to_contain_text("(outside)")
    expect(row.locator(".plays")).to_have_text("1", timeout=20_000)

    row.locator("button", has_text="Revoke").click()
    expect(producer.locator("#review-link-list li[data-state=revoked]")).to_have_count(1)
    guest.reload()
    expect(guest.locator("h1")).to_have_text("This link does not work")
    guest_context.close()

    leak = _leaked_copy(stack, django_db_blocker, tmp_path / "found-on-a-forum.mp3")
    producer.goto(f"/p/{pid}/review-links/")
    producer.set_input_files("#rt-file", str(leak))
    producer.click("#review-trace button[type=submit]")
    found = producer.locator("#trace-list li[data-found=yes]")
    expect(found).to_contain_text("Ana Ruiz (A&R)", timeout=SLOW)
    expect(found).to_contain_text("e2e-producer")
    expect(found).to_contain_text("confidence")
    shot(producer, "review-traced")
