"""The release pages: list and create, the release page's parts (missing pieces pointing at
their fields, the sequence with Move to, gaps and trims, the running time, transitions), the
forms' refusals shown by their labels, deliverables with the QC report fails first, and the
songs moved to delivered in one action."""

from __future__ import annotations

from typing import Any

import pytest

from audio.jobs import runner
from delivery.models import Release, ReleaseTrack
from delivery.services import release_create
from tests.delivery.helpers import mastered_song, png_bytes

pytestmark = pytest.mark.django_db


def _release(scenario: Any, n: int = 2, **data: Any) -> Release:
    songs = [mastered_song(scenario, f"Song {i}", seed=i) for i in range(1, n + 1)]
    return release_create(
        actor=scenario.users["producer"],
        project=scenario.project,
        data={"title": "Night Drive EP", "artist": "Ava", "songs": [s.pk for s in songs], **data},
    )


def test_the_producer_creates_a_release_from_the_mastered_songs(scenario: Any) -> None:
    a = mastered_song(scenario, "Intro", seed=1)
    mastered_song(scenario, "Demo", seed=2, approved=False)
    browser = scenario.browser("producer")
    page = browser.get(f"/p/{scenario.project.pk}/releases/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Intro" in html and "Demo" not in html  # only songs with an approved master
    r = browser.post(
        f"/p/{scenario.project.pk}/releases/new/",
        {"title": "EP", "artist": "Ava", "songs": [a.pk]},
    )
    assert r.status_code == 302
    release = Release.objects.get(title="EP")
    assert r["Location"] == f"/releases/{release.pk}/"
    bad = browser.post(
        f"/p/{scenario.project.pk}/releases/new/", {"title": "X", "artist": "A", "upc": "123"}
    )
    assert bad.status_code == 200 and "UPC/EAN: " in bad.content.decode()


def test_the_release_page_points_each_missing_piece_at_its_field(scenario: Any) -> None:
    release = _release(scenario)
    track = release.tracks.get(position=2)
    html = scenario.browser("viewer").get(f"/releases/{release.pk}/").content.decode()
    assert f'href="#track-{track.pk}-isrc"' in html
    assert 'href="#rel-upc"' in html and 'href="#artwork-file"' in html
    assert "Running time" in html and "79:57" in html
    assert "Hear the transition 1 → 2" in html
    assert 'id="deliver-button"' not in html  # a viewer does not deliver
    producer = scenario.browser("producer").get(f"/releases/{release.pk}/").content.decode()
    assert f'id="track-{track.pk}-isrc"' in producer and 'id="deliver-button"' in producer


def test_track_forms_save_move_and_refuse_by_label(scenario: Any) -> None:
    release = _release(scenario, 3)
    first, _second, third = release.tracks.order_by("position")
    browser = scenario.browser("producer")
    r = browser.post(f"/release-tracks/{third.pk}/move/", {"position": "1"})
    assert r.status_code == 302
    assert release.tracks.order_by("position").values_list("pk", flat=True).first() == third.pk
    r = browser.post(
        f"/release-tracks/{first.pk}/",
        {"title": "Intro", "isrc": "USRC17607839", "pregap_s": "2.5"},
    )
    assert r.status_code == 302
    first.refresh_from_db()
    assert (first.title, first.pregap_s) == ("Intro", 2.5)
    r = browser.post(f"/release-tracks/{first.pk}/", {"isrc": "bad"})
    assert r.status_code == 200 and "ISRC: " in r.content.decode()
    r = browser.post(f"/release-tracks/{first.pk}/", {"pregap_s": "99"})
    assert r.status_code == 200 and "Gap before: must be from 0 to 60 seconds" in r.content.decode()
    assert (
        scenario.browser("engineer")
        .post(f"/release-tracks/{first.pk}/move/", {"position": "2"})
        .status_code
        == 403
    )
    r = browser.post(f"/release-tracks/{first.pk}/remove/")
    assert r.status_code == 302 and not ReleaseTrack.objects.filter(pk=first.pk).exists()


def test_the_cover_is_uploaded_or_refused_with_the_reason(scenario: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    release = _release(scenario, 1)
    browser = scenario.browser("producer")
    bad = browser.post(
        f"/releases/{release.pk}/artwork/",
        {"artwork": SimpleUploadedFile("c.png", png_bytes(1400, 1000))},
    )
    assert bad.status_code == 200 and "must be square" in bad.content.decode()
    ok = browser.post(
        f"/releases/{release.pk}/artwork/",
        {"artwork": SimpleUploadedFile("c.png", png_bytes(1500, 1500))},
    )
    assert ok.status_code == 302
    release.refresh_from_db()
    assert release.artwork_id is not None


def test_deliverables_and_the_qc_report_show_fails_first(scenario: Any) -> None:
    release = _release(scenario, 2, upc="036000291452")
    r = scenario.client("producer").post(f"/api/releases/{release.pk}/deliver/")
    assert runner.run_job(r.json()["job"]["id"]) == "done"
    html = (
        scenario.browser("artist")
        .get(f"/releases/{release.pk}/?part=deliveries", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert 'id="qc-banner"' in html and 'data-status="fail"' in html
    assert "album.cue" in html and "Download everything (zip)" in html
    statuses = [chunk.split('"')[0] for chunk in html.split('<tr class="qc-')[1:]]
    assert statuses[0] == "fail" and statuses == sorted(
        statuses, key=["fail", "warn", "pass"].index
    )
    # above the folded report, only what needs attention: every fail and warning, no pass
    attention = html.split('id="qc-attention"')[1].split("</ul>")[0]
    listed = [chunk.split('"')[0] for chunk in attention.split('<li data-status="')[1:]]
    assert listed == [s for s in statuses if s != "pass"] and "fail" in listed


def test_the_producer_moves_the_songs_to_delivered_each_through_its_gate(scenario: Any) -> None:
    """No split or credit yet: every song is refused by its gate, with the reasons shown."""
    release = _release(scenario, 2)
    browser = scenario.browser("producer")
    r = browser.post(f"/releases/{release.pk}/deliver-songs/")
    assert r.status_code == 302
    html = browser.get(f"/releases/{release.pk}/").content.decode()
    assert "stays:" in html
    assert (
        scenario.browser("engineer").post(f"/releases/{release.pk}/deliver-songs/").status_code
        == 403
    )


def test_songs_that_pass_their_gate_move_and_the_others_stay(scenario: Any) -> None:
    from audio.models import Mix
    from studio.models import Song, Stage
    from studio.services.credits import credit_add
    from studio.services.rights import split_set

    release = _release(scenario, 2)
    ready, other = (t.song for t in release.tracks.order_by("position"))
    producer = scenario.users["producer"]
    Mix.objects.filter(song=ready).update(is_approved=True)
    credit_add(actor=producer, song=ready, role="composer", contributor_name="Ava")
    credit_add(
        actor=producer, song=ready, role="performer", contributor_name="Ava", instrument="vocals"
    )
    for right in ("composition", "master"):
        split_set(actor=producer, song=ready, right=right, shares=[{"party": "Ava", "share": 100}])
    r = scenario.client("producer").post(f"/api/releases/{release.pk}/deliver-songs/")
    assert r.status_code == 200
    out = r.json()
    assert out["moved"] == [ready.pk] and out["refused"][0]["song"] == other.pk
    assert out["refused"][0]["reasons"]
    assert Song.objects.get(pk=ready.pk).stage == Stage.DELIVERED
    assert Song.objects.get(pk=other.pk).stage != Stage.DELIVERED
    again = scenario.client("producer").post(f"/api/releases/{release.pk}/deliver-songs/").json()
    assert again["already"] == [ready.pk]


def test_the_csv_export_never_starts_a_cell_with_a_formula(scenario: Any) -> None:
    from studio.services.credits import credit_add

    release = _release(scenario, 1)
    song = release.tracks.get().song
    credit_add(
        actor=scenario.users["producer"],
        song=song,
        role="composer",
        contributor_name="=HYPERLINK(1)",
    )
    text = scenario.client("viewer").get(f"/api/releases/{release.pk}/export/?as=csv").content
    assert b",'=HYPERLINK(1)," in text and b",=HYPERLINK" not in text
