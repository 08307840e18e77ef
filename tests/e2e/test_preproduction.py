"""Pre-production in a browser, the whole way: the producer writes the song's sections and
lyrics and sets its tempo, fills the inventory, plans the palette, schedules two tracking
sessions at the same time, books the live room and a microphone for the first and sees both
refused for the second with who holds them, and logs time; the engineer's open week calendar
shows the bookings live; the artist is mentioned in a comment on the mix and sees the
notification arrive live, on a waveform that shows the sections."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live
from tests.e2e.test_song_sheet import _add_section, _upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def _schedule(page: Any, notes: str) -> Any:
    page.locator("#session-new summary").click()
    page.select_option("#s-new-kind", "recording")
    page.fill("#s-new-notes", notes)
    page.get_by_role("button", name="Schedule").click()
    session = page.locator("#session-list .session", has_text=notes)
    expect(session).to_be_visible()
    return session


def _book(session: Any, label: str) -> None:
    session.locator("select[name=resource]").select_option(label=label)
    session.get_by_role("button", name="Book", exact=True).click()


@pytest.fixture(scope="module")
def harbour_mix(tmp_path_factory: Any) -> Path:
    """A 6 s mix of its own (assets dedupe by checksum across the session's journeys)."""
    rate = 44100
    t = np.arange(rate * 6) / rate
    tone = (0.25 * np.sin(2 * np.pi * 196.0 * t)).astype(np.float32)
    path = tmp_path_factory.mktemp("preproduction") / "harbour-mix.wav"
    sf.write(path, np.stack([tone, tone], axis=1), rate, subtype="PCM_16")
    return path


# The refused bookings answer 409 with the sentence (htmx swaps it in); Chromium logs the status.
@pytest.mark.allow_console(r"status of 409")
def test_preproduction_from_sheet_to_booking_time_and_mention(
    open_as: Any, stack: Any, shot: Any, harbour_mix: Path
) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/resources/")
    for name, kind in (("Live room", "room"), ("U87", "microphone")):
        producer.fill("#nr-name", name)
        producer.select_option("#nr-kind", kind)
        producer.get_by_role("button", name="Add", exact=True).click()
        expect(producer.locator("#resource-list")).to_contain_text(name)
    producer.fill("#nr-name", "live ROOM")
    producer.get_by_role("button", name="Add", exact=True).click()
    expect(producer.locator("#resource-error")).not_to_be_empty()  # names are unique

    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Harbour Lights")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Harbour Lights", exact=True)).to_be_visible()
    song_url = producer.url
    wait_live(producer)
    _upload(producer, "mix", "Rough", harbour_mix)

    # The sheet: the tempo and first downbeat, then the arrangement with its lyrics.
    producer.get_by_role("link", name="Sheet", exact=True).click()
    producer.locator("#sheet-edit > summary").click()
    producer.fill("#sheet-tempo-in", "120")
    producer.fill("#sheet-downbeat-in", "0")
    producer.click("#sheet-save")
    _add_section(producer, "intro", "1")
    _add_section(producer, "verse", "2", "Lights on the water, one by one")
    expect(producer.locator("#section-list > li").nth(1)).to_contain_text("0:02")
    expect(producer.locator("#section-list")).to_contain_text("Lights on the water")
    producer.goto(song_url)
    wait_live(producer)
    first = _schedule(producer, "Drums and bass, together")
    second = _schedule(producer, "Guide vocal")
    starts = first.locator("time").first.get_attribute("datetime") or ""
    year, week, _ = datetime.fromisoformat(starts).isocalendar()

    engineer = open_as("engineer")
    engineer.goto(f"/p/{pid}/calendar/?week={year}-W{week:02d}")
    wait_live(engineer)
    mark(engineer)

    # The palette: the kit is tracked in the first session.
    producer.get_by_role("link", name="Sheet", exact=True).click()
    producer.locator("#palette-add summary").click()
    producer.fill("#palette-add-name", "Drum kit")
    producer.fill("#palette-add-source", "live")
    producer.select_option("#palette-add-session", index=1)
    producer.click("#palette-add-submit")
    expect(producer.locator("#palette-list")).to_contain_text("Drum kit")

    producer.goto(song_url)
    wait_live(producer)
    first = producer.locator("#session-list .session", has_text="Drums and bass")
    second = producer.locator("#session-list .session", has_text="Guide vocal")
    _book(first, "Live room (room)")
    expect(first.locator(".session-needs")).to_contain_text("Live room")
    _book(first, "U87 (microphone)")
    expect(first.locator(".session-needs")).to_contain_text("U87")
    # A live re-render of the sessions while a resource is picked keeps the pick: it used to put
    # the select back to its first option, and the click then booked that resource instead.
    picker = second.locator("select[name=resource]")
    assert picker.locator("option").first.inner_text() != "Live room (room)"
    picker.select_option(label="Live room (room)")
    producer.evaluate("document.getElementById('song-sessions').dataset.beforeLive = '1'")
    producer.evaluate(
        "document.body.dispatchEvent(new CustomEvent('studio:session-updated', {bubbles: true}))"
    )
    expect(producer.locator("#song-sessions[data-before-live]")).to_have_count(0)  # replaced
    expect(picker.locator("option:checked")).to_have_text("Live room (room)")
    second.get_by_role("button", name="Book", exact=True).click()
    refusal = second.locator(".booking-error")
    expect(refusal).to_contain_text("Live room is booked")
    expect(refusal).to_contain_text("Harbour Lights")
    expect(second.locator(".session-needs")).to_contain_text("Nothing booked")
    _book(second, "U87 (microphone)")
    expect(second.locator(".booking-error")).to_contain_text("U87 is booked")
    shot(producer, "booking-refused")

    day = engineer.locator("#calendar-week .cal-session", has_text="Harbour Lights").first
    expect(day.locator(".cal-bookings")).to_contain_text("Live room")
    expect(day.locator(".cal-bookings")).to_contain_text("U87")
    assert_not_reloaded(engineer)
    shot(engineer, "calendar-week")

    # Time: the producer logs the session's hours.
    producer.goto(f"/p/{pid}/time/")
    wait_live(producer)
    session_option = producer.locator(
        "#time-against option", has_text="Harbour Lights · Recording session"
    ).first
    producer.select_option("#time-against", value=session_option.get_attribute("value"))
    producer.fill("#time-minutes", "3:00")
    producer.fill("#time-note", "Drums and bass, live room")
    producer.get_by_role("button", name="Log time").click()
    expect(producer.locator("#my-time")).to_contain_text("3 h")
    expect(producer.locator("#time-summary")).to_contain_text("Harbour Lights")

    # The mention: the artist has the mix open; its waveform shows the sections.
    mixes = producer.request.get(f"/api/mixes/?song={song_url.rstrip('/').split('/')[-1]}")
    mix_id = mixes.json()["results"][0]["id"]
    artist = open_as("artist")
    artist.goto(f"/mixes/{mix_id}/")
    expect(artist.locator("#player")).to_have_attribute("data-sections", "2", timeout=30_000)
    expect(artist.locator("#waveform .section-label")).to_have_text(["intro", "verse"])
    wait_live(artist)
    mark(artist)
    unread = int(artist.locator("#inbox-count").get_attribute("data-unread") or 0)
    producer.goto(f"/mixes/{mix_id}/")
    wait_live(producer)
    producer.fill("#comment-body", "@Artist the verse starts at 0:02, sing it over the kit?")
    producer.get_by_role("button", name="Comment", exact=True).click()
    expect(artist.locator("#inbox-count")).to_have_attribute("data-unread", str(unread + 1))
    expect(artist.locator("#notification-toast")).to_contain_text("Producer mentioned you")
    assert_not_reloaded(artist)
    shot(artist, "mentioned-on-sections")
