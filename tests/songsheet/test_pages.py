"""The Sheet tab: read-only for viewers and engineers, written by artists and producers."""

from __future__ import annotations

import pytest

from songsheet.models import Influence, PaletteItem, Section
from songsheet.services import influence_add
from studio.models import SampleUse
from tests.songsheet.helpers import session_of, written_song

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_a_viewer_reads_the_sheet_without_forms(scenario):
    song = written_song(scenario)
    page = scenario.browser("viewer").get(f"/songs/{song.pk}/sheet/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="section-list"' in html and "Verse" in html and "0:08" in html
    assert 'id="sheet-readonly"' in html
    for form in ('id="section-add"', 'id="sheet-edit"', 'id="palette-add"', 'id="influence-add"'):
        assert form not in html
    refused = scenario.browser("viewer").post(
        f"/songs/{song.pk}/sheet/sections/", {"name": "bridge", "bars": "4"}
    )
    assert refused.status_code == 403
    assert Section.objects.filter(song=song).count() == 3


def test_the_song_page_mixer_and_master_have_the_sheet_tab(scenario, song):
    browser = scenario.browser("viewer")
    for url in (f"/songs/{song.pk}/", f"/songs/{song.pk}/mix/", f"/songs/{song.pk}/master/"):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert f'href="/songs/{song.pk}/sheet/"' in page.content.decode(), url


def test_an_artist_writes_the_sheet(scenario):
    song = written_song(scenario)
    artist = scenario.browser("artist")
    html = artist.get(f"/songs/{song.pk}/sheet/").content.decode()
    assert 'id="section-add"' in html and 'id="sheet-edit"' in html
    card = artist.post(
        f"/songs/{song.pk}/sheet/edit/",
        {
            "time_signature": "6/8",
            "first_downbeat_s": "2",
            "genre": "synth-pop",
            "tempo_bpm": "120",
        },
        **HX,
    )
    assert card.status_code == 200 and "synth-pop" in card.content.decode()
    assert "The player and the mixer show the sections" in card.content.decode()
    card = artist.post(
        f"/songs/{song.pk}/sheet/sections/",
        {"name": "bridge", "bars": "4", "lyrics": "Over the water", "estimate_minutes": "30"},
        **HX,
    )
    html = card.content.decode()
    assert card.status_code == 200 and "Over the water" in html
    assert "0:32.0" in html  # bridge after 20 bars of 1.5 s, from 2 s in
    bridge = Section.objects.get(song=song, name="bridge")
    artist.post(f"/sections/{bridge.pk}/move/", {"direction": "up"}, **HX)
    artist.post(f"/sections/{bridge.pk}/move/", {"direction": "up"}, **HX)
    order = list(
        Section.objects.filter(song=song).order_by("position").values_list("name", flat=True)
    )
    assert order == ["intro", "bridge", "verse", "chorus"]
    bad = artist.post(f"/songs/{song.pk}/sheet/sections/", {"name": "verse", "bars": "0"}, **HX)
    assert bad.status_code == 200 and bad["HX-Retarget"] == "#section-add-error"
    assert "bars" in bad.content.decode()
    long = artist.post(
        f"/sections/{bridge.pk}/", {"name": "bridge", "bars": "4", "lyrics": "x" * 20_001}, **HX
    )
    assert "20 000" in long.content.decode()
    session = session_of(scenario, song)
    artist.post(
        f"/songs/{song.pk}/sheet/palette/",
        {"name": "Rhodes", "source": "live", "player": str(scenario.users["engineer"].pk),
         "session": str(session.pk), "status": "planned"},
        **HX,
    )  # fmt: skip
    item = PaletteItem.objects.get(song=song)
    assert (item.player, item.session) == (scenario.users["engineer"], session)
    line = artist.get(f"/songs/{song.pk}/sheet/?part=palette", **HX).content.decode()
    assert "live · engineer · tracked in the recording session of" in line
    card = artist.post(
        f"/songs/{song.pk}/sheet/influences/",
        {"work": "Blue Monday", "artist": "New Order", "taken": ["feel", "melody"]},
        **HX,
    )
    html = card.content.decode()
    assert "needs clearance" in html and "A producer records it as a sample use" in html


def test_the_producer_answers_the_clearance_prompt(scenario, song):
    influence = influence_add(
        actor=scenario.users["artist"], song=song, data={"work": "W", "taken": ["sound"]}
    )
    producer = scenario.browser("producer")
    html = producer.get(f"/songs/{song.pk}/sheet/").content.decode()
    assert f'id="influence-{influence.pk}-record"' in html
    card = producer.post(
        f"/influences/{influence.pk}/sample-use/", {"kind": "sample", "clearance": "pending"}, **HX
    )
    assert "Recorded as a sample use" in card.content.decode()
    assert SampleUse.objects.get(song=song).clearance == "pending"
    assert Influence.objects.get(pk=influence.pk).sample_use is not None
    refused = scenario.browser("artist").post(f"/influences/{influence.pk}/sample-use/", {})
    assert refused.status_code == 403


def test_the_gates_card_offers_sections_written_before_leaving_pre_production(scenario, song):
    producer = scenario.browser("producer")
    html = producer.get(f"/p/{scenario.project.pk}/").content.decode()
    assert 'value="sections_written"' in html
    assert "Arrangement sections written, before a song leaves pre-production" in html
    assert "Stems or takes uploaded, before a song leaves recording" in html
    saved = producer.post(
        f"/p/{scenario.project.pk}/gates/", {"gate_checks": ["sections_written"]}, **HX
    )
    assert saved.status_code == 200
    scenario.project.refresh_from_db()
    assert scenario.project.gate_checks == ["sections_written"]
    stage = producer.get(f"/songs/{song.pk}/?part=stage", **HX).content.decode()
    assert "arrangement sections written" in stage.lower()


def test_the_stage_card_refetches_when_sections_come_and_go(scenario, song):
    """The gate's checklist reads the sections: its card listens for their events."""
    html = scenario.browser("viewer").get(f"/songs/{song.pk}/").content.decode()
    card = html[html.index('id="song-stage"') :][:3000]
    assert "studio:section-added from:body" in card and "studio:section-removed from:body" in card
