"""Rooms and equipment in a browser: the producer fills the inventory, plans the palette,
schedules two tracking sessions at the same time, books the live room and a microphone for the
first and sees the room refused for the second with who holds it; the engineer's open week
calendar shows the bookings live."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live

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


# The refused bookings answer 409 with the sentence (htmx swaps it in); Chromium logs the status.
@pytest.mark.allow_console(r"status of 409")
def test_rooms_and_gear_are_booked_without_conflicts(open_as: Any, stack: Any, shot: Any) -> None:
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
    _book(second, "Live room (room)")
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
