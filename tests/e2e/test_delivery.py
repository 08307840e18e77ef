"""The delivery journey: the producer makes a release of the project's mastered songs, uploads
the cover, reorders the tracks (drag and "Move to"), hears a transition, fixes the missing ISRC
the page points at, delivers with a progress bar, opens the QC report and downloads the bundle;
the artist, with the same release open, sees each change live.

The mastered songs are seeded through the services (three songs, each with an approved Master
1 whose audio is a generated 10 s WAV; two of the masters have ISRCs), stored where the servers
keep their files; the delivery is made by the real worker. Every wait is on a state the page
promises (data-state, data-live, the missing list, the banner); no sleeps.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.delivery.helpers import png_bytes
from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
SLOW = 180_000  # the deliver job on a busy machine
UPC = "036000291452"


@pytest.fixture(scope="module")
def mastered(stack: Any, django_db_blocker: Any) -> dict[str, Any]:
    """A project of its own (the e2e members in their roles, so other journeys' projects are
    left as they are) with three songs with approved masters, committed, their files stored in
    the servers' media folder."""
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from audio.models import Master
    from audio.services.assets import asset_ingest_file
    from audio.services.mixes import mix_create
    from delivery.services import isrc_set
    from studio.services.projects import member_add, project_create
    from studio.services.songs import song_create
    from tests.audio.audiofiles import write_wav

    var = Path(stack.env["STUDIO_VAR_DIR"])
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=var / "media", UPLOAD_DIR=var / "uploads"),
    ):
        producer = get_user_model().objects.get(username="e2e-producer")
        project = project_create(actor=producer, name="Harbour sessions")
        for role in ("engineer", "artist", "viewer"):
            member_add(actor=producer, project=project, username=f"e2e-{role}", role=role)
        songs: dict[str, Any] = {"project": project.pk}
        codes = {"Harbour Lights": "GBXYZ2600001", "Last Ferry": "GBXYZ2600002"}
        for i, title in enumerate(("Harbour Lights", "Last Ferry", "Tide Tables"), start=1):
            song = song_create(actor=producer, project=project, title=title)
            with tempfile.TemporaryDirectory() as tmp:
                path = write_wav(Path(tmp) / "m.wav", seconds=10.0, seed=40 + i, freq=220 * i)
                asset = asset_ingest_file(
                    actor=producer, project=project, path=path, original_name=f"{title}.wav"
                )
            mix = mix_create(actor=producer, song=song, asset=asset)
            master = Master.objects.create(
                project=project, song=song, mix=mix, number=1, asset=asset, is_approved=True
            )
            if title in codes:
                isrc_set(actor=producer, master=master, code=codes[title])
            songs[title] = song.pk
    return songs


def _titles(page: Any) -> list[str]:
    return page.locator("#track-list .track-title").all_inner_texts()


def test_a_release_is_sequenced_fixed_delivered_and_downloaded_the_artist_sees_it_live(
    open_as: Any, stack: Any, shot: Any, mastered: dict[str, Any], tmp_path: Path
) -> None:
    pid = mastered["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/releases/")  # the dashboard links here (#releases-link)
    expect(producer.locator("h1", has_text="Releases")).to_be_visible()
    producer.fill("#nr-title", "Harbour EP")
    producer.fill("#nr-artist", "Ava")
    producer.fill("#nr-upc", UPC)
    for title in ("Harbour Lights", "Last Ferry", "Tide Tables"):
        expect(producer.get_by_label(title)).to_be_checked()
    producer.get_by_role("button", name="Create release").click()
    expect(producer.get_by_role("heading", name=re.compile("Harbour EP"))).to_be_visible()
    release_url = producer.url
    assert _titles(producer) == ["Harbour Lights", "Last Ferry", "Tide Tables"]
    wait_live(producer)

    artist = open_as("artist")
    artist.goto(release_url)
    wait_live(artist)
    mark(artist)
    expect(artist.locator("#deliver-button")).to_have_count(0)  # artists do not deliver

    # The cover: a square PNG of 1400 px.
    cover = tmp_path / "cover.png"
    cover.write_bytes(png_bytes(1400, 1400))
    producer.set_input_files("#artwork-file", str(cover))
    producer.get_by_role("button", name="Upload cover").click()
    expect(producer.locator("#cover")).to_be_visible()
    expect(artist.locator("#cover")).to_be_visible()  # live, from release.updated

    # Reorder: "Move to" without a mouse, then a drag.
    third = producer.locator("#track-list .seq-track").nth(2)
    third_id = third.get_attribute("data-track")
    producer.select_option(f"#track-{third_id}-position", "1")
    producer.locator(f"#track-{third_id} .move-form button").click()
    expect(producer.locator("#track-list .track-title").first).to_have_text("Tide Tables")
    expect(artist.locator("#track-list .track-title").first).to_have_text("Tide Tables")
    wait_live(producer)
    last = producer.locator("#track-list .seq-track").nth(2)  # Last Ferry
    first = producer.locator("#track-list .seq-track").nth(0)
    last.locator(".seq-handle").drag_to(first)
    expect(producer.locator("#track-list .track-title").first).to_have_text("Last Ferry")
    expect(artist.locator("#track-list .track-title")).to_have_text(
        ["Last Ferry", "Tide Tables", "Harbour Lights"]
    )

    # Hear the transition from track 1 into track 2 (two scheduled <audio> elements).
    hear = producer.locator("button.hear").first
    hear.click()
    expect(hear).to_have_attribute("data-state", re.compile("playing-a|gap|playing-b"))
    expect(hear).to_have_attribute("data-state", "done", timeout=30_000)

    # The missing ISRC: the page points at the field; fix it there.
    piece = producer.locator("#missing-list li[data-code=no_isrc] a")
    expect(piece).to_have_count(1)
    href = piece.get_attribute("href")
    assert href and href.endswith("-isrc")
    piece.click()
    field = producer.locator(href)
    field.fill("gb-xyz-26-00003")
    field.locator("xpath=ancestor::form").get_by_role("button", name="Save").click()
    expect(producer.locator("#missing-list li[data-code=no_isrc]")).to_have_count(0)
    expect(artist.locator("#missing-list li[data-code=no_isrc]")).to_have_count(0)
    expect(producer.locator("#track-list")).to_contain_text("GBXYZ2600003")

    # Deliver, with the progress bar; the artist's page follows the same job.
    wait_live(producer)
    producer.locator("#deliver-button").click()
    progress = producer.locator("#deliver-progress")
    expect(progress).to_have_attribute("data-state", re.compile("running|done"))
    expect(artist.locator("#deliver-progress")).to_be_visible(timeout=SLOW)
    expect(progress).to_have_attribute("data-state", "done", timeout=SLOW)
    expect(producer.locator("#deliver-bar")).to_have_attribute("value", "1")
    expect(producer.locator("#qc-banner")).to_be_visible()
    expect(artist.locator("#qc-banner")).to_be_visible(timeout=30_000)
    assert_not_reloaded(artist)

    # The QC report: every check with its value, fails first.
    producer.locator("#qc-report summary").click()
    rows = producer.locator("#qc-table tbody tr")
    expect(rows.first).to_be_visible()
    statuses = list(rows.evaluate_all("rs => rs.map(r => r.dataset.status)"))
    order = ["fail", "warn", "pass"]
    assert statuses == sorted(statuses, key=order.index), statuses
    # what needs attention is listed above the folded report: each fail and warning, or nothing
    attention = producer.locator("#qc-attention li")
    expect(attention).to_have_count(len([s for s in statuses if s != "pass"]))
    shot(producer, "release-delivered")

    # The bundle downloads, and holds the manifest and the DDP image.
    with producer.expect_download() as info:
        producer.locator("#bundle-link").click()
    path = tmp_path / "bundle.zip"
    info.value.save_as(str(path))
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    assert {"manifest.json", "album.cue", "ddp/IMAGE.DAT", "qc.json"} <= names
    assert "wav/01 Last Ferry.wav" in names

    # On a phone the page does not scroll sideways (tables scroll in their own box).
    producer.set_viewport_size({"width": 390, "height": 844})
    producer.reload()
    expect(producer.locator("#qc-banner")).to_be_visible()
    width = producer.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the release page is {width} px wide on a 390 px phone"
