"""The bookings pages: the week calendar (navigation, the reader's zone), the inventory, what a
session needs on the song page (book, the refusal with the holder, release)."""

from __future__ import annotations

import re

import pytest

from bookings.models import Booking, Resource
from studio.services.accounts import profile_update
from tests.bookings.helpers import at, book, resource, session, song

pytestmark = pytest.mark.django_db


def test_the_week_calendar_shows_sessions_and_bookings_in_the_readers_zone(scenario):
    profile_update(actor=scenario.users["viewer"], time_zone="America/New_York")
    ses = session(scenario)  # Wed 4 Dec 2030 13:00-17:00 UTC = 08:00-12:00 EST
    book(scenario, resource(scenario), ses)
    page = scenario.browser("viewer").get(f"/p/{scenario.project.pk}/calendar/?week=2030-W49")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-week="2030-W49"' in html
    assert "?week=2030-W48" in html and "?week=2030-W50" in html
    assert "times in America/New_York" in html
    day = re.search(r'data-date="2030-12-04".*?</li>\s*</ul>', html, re.S).group(0)
    assert f'data-session="{ses.pk}"' in day
    assert "08:00" in day and "12:00 EST" in day
    assert "Live room" in day
    other = scenario.browser("viewer").get(f"/p/{scenario.project.pk}/calendar/?week=2030-W50")
    assert f'data-session="{ses.pk}"' not in other.content.decode()


def test_a_session_late_in_the_evening_falls_on_the_readers_day(scenario):
    """23:30 UTC on Wednesday is Thursday 00:30 in Berlin: the calendar puts it on Thursday."""
    profile_update(actor=scenario.users["artist"], time_zone="Europe/Berlin")
    ses = session(scenario, starts=at(10.5), hours=1)
    html = (
        scenario.browser("artist")
        .get(f"/p/{scenario.project.pk}/calendar/?week=2030-W49")
        .content.decode()
    )
    thursday = re.search(r'data-date="2030-12-05".*?</li>\s*</ul>', html, re.S).group(0)
    assert f'data-session="{ses.pk}"' in thursday


def test_a_bad_week_is_a_400_and_no_week_is_this_week(scenario):
    browser = scenario.browser("viewer")
    assert browser.get(f"/p/{scenario.project.pk}/calendar/?week=2030-W54").status_code == 400
    assert browser.get(f"/p/{scenario.project.pk}/calendar/?week=soon").status_code == 400
    assert browser.get(f"/p/{scenario.project.pk}/calendar/").status_code == 200
    dash = browser.get(f"/p/{scenario.project.pk}/").content.decode()
    assert f"/p/{scenario.project.pk}/calendar/" in dash  # linked from the project's head


def test_the_inventory_page_adds_edits_and_refuses_with_a_sentence(scenario):
    browser = scenario.browser("engineer")
    url = f"/p/{scenario.project.pk}/resources/"
    added = browser.post(f"{url}new/", {"name": "Live room", "kind": "room"})
    assert added.status_code == 302
    room = Resource.objects.get(project=scenario.project)
    again = browser.post(f"{url}new/", {"name": "LIVE ROOM", "kind": "room"})
    assert again.status_code == 400
    assert "already has an item named" in again.content.decode()
    browser.post(
        f"/resources/{room.pk}/edit/",
        {"name": "Live room", "kind": "room", "availability": "out_of_service"},
    )
    room.refresh_from_db()
    assert room.availability == "out_of_service"
    listing = scenario.browser("viewer").get(url).content.decode()
    assert "Out of service" in listing and "Add to the inventory" not in listing


def test_the_song_page_lists_what_a_session_needs_and_books_from_it(scenario):
    tune = song(scenario)
    ses = session(scenario, on=tune)
    room = resource(scenario)
    browser = scenario.browser("producer")
    page = browser.get(f"/songs/{tune.pk}/").content.decode()
    assert f'id="session-{ses.pk}-bookings"' in page and "Nothing booked." in page
    htmx = {"HTTP_HX_REQUEST": "true"}
    made = browser.post(f"/sessions/{ses.pk}/bookings/new/", {"resource": room.pk}, **htmx)
    assert made.status_code == 200
    assert "Live room" in made.content.decode()
    booking = Booking.objects.get(session=ses)
    assert (booking.starts_at, booking.ends_at) == (ses.starts_at, ses.ends_at)
    other = session(scenario, on=tune, starts=at(2))
    refused = browser.post(f"/sessions/{other.pk}/bookings/new/", {"resource": room.pk}, **htmx)
    assert refused.status_code == 409
    assert "Live room is booked" in refused.content.decode()
    assert f"session-{other.pk}-booking-error" in refused.content.decode()
    viewer_page = scenario.browser("viewer").get(f"/songs/{tune.pk}/").content.decode()
    assert "Live room" in viewer_page and "booking-cancel" not in viewer_page
    released = browser.post(f"/bookings/{booking.pk}/cancel/", **htmx)
    assert released.status_code == 200 and not Booking.objects.filter(pk=booking.pk).exists()


def test_a_part_of_the_session_is_read_in_the_readers_zone(scenario):
    profile_update(actor=scenario.users["producer"], time_zone="Europe/Berlin")
    ses = session(scenario)  # 13:00-17:00 UTC = 14:00-18:00 CET
    room = resource(scenario)
    answer = scenario.browser("producer").post(
        f"/sessions/{ses.pk}/bookings/new/",
        {"resource": room.pk, "starts_at": "2030-12-04T15:00", "ends_at": "2030-12-04T16:00"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    booking = Booking.objects.get(session=ses)
    assert (booking.starts_at, booking.ends_at) == (at(1), at(2))
    bad = scenario.browser("producer").post(
        f"/sessions/{ses.pk}/bookings/new/",
        {"resource": "999999", "starts_at": "2030-12-04T15:00"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400
