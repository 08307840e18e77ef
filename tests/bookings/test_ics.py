"""The private calendar feed: read by the `icalendar` package with the right UTC instants, the
member's zone, stable UIDs and the bookings; a refused token of any kind is the same 404; the
token is kept only as its SHA-256 and never reaches a log line."""

from __future__ import annotations

import datetime
import hashlib
import logging
import re

import icalendar
import pytest

from bookings import services
from bookings.models import CalendarFeed
from sessions.services import session_update
from studio.services.accounts import profile_update
from studio.services.projects import member_remove
from tests.bookings.helpers import START, at, book, resource, session, song

pytestmark = pytest.mark.django_db


def _token(scenario, who: str = "artist") -> str:
    page = scenario.browser(who).post(f"/p/{scenario.project.pk}/calendar/feed/")
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    match = re.search(r"/ics/feed\.ics\?token=([A-Za-z0-9_-]+)", page.content.decode())
    assert match, "the feed address is shown once"
    return match.group(1)


def _feed(token: str):
    from django.test import Client

    return Client().get("/ics/feed.ics", {"token": token})


def test_the_feed_is_read_by_icalendar_with_the_right_instants_and_zone(scenario):
    profile_update(actor=scenario.users["artist"], time_zone="Europe/Berlin")
    ses = session(scenario, participants=[scenario.users["artist"].pk])
    book(scenario, resource(scenario), ses)
    book(scenario, resource(scenario, "U87", "microphone"), ses, starts_at=at(1), ends_at=at(2))
    token = _token(scenario)
    answer = _feed(token)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(answer.content)
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"
    (event,) = cal.walk("VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == START and end == START + datetime.timedelta(hours=4)
    assert start.utcoffset() == datetime.timedelta(0)  # an instant in UTC ("Z")
    assert str(event["UID"]) == f"session-{ses.pk}.project-{scenario.project.pk}@studio"
    assert str(event["SUMMARY"]) == "Recording session: Night Drive"
    assert str(event["LOCATION"]) == "Live room"
    description = str(event["DESCRIPTION"])
    assert "Live room (room), Wed 4 Dec 14:00–18:00 CET" in description  # the member's zone
    assert "U87 (microphone), Wed 4 Dec 15:00–16:00 CET" in description
    assert "Participants: artist" in description


def test_uids_are_stable_when_a_session_moves(scenario):
    ses = session(scenario)
    token = _token(scenario)
    first = icalendar.Calendar.from_ical(_feed(token).content).walk("VEVENT")[0]
    session_update(actor=scenario.users["producer"], session=ses, starts_at=at(24), ends_at=at(26))
    second = icalendar.Calendar.from_ical(_feed(token).content).walk("VEVENT")[0]
    assert first["UID"] == second["UID"]
    assert second.decoded("DTSTART") == at(24)


def test_a_deleted_songs_sessions_are_left_out(scenario):
    from studio.services.songs import song_delete

    gone = song(scenario, "Scrapped")
    session(scenario, on=gone)
    kept = session(scenario)
    song_delete(actor=scenario.users["producer"], song=gone)
    events = icalendar.Calendar.from_ical(_feed(_token(scenario)).content).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [
        f"session-{kept.pk}.project-{scenario.project.pk}@studio"
    ]


def test_only_the_hash_is_kept_and_it_has_256_bits(scenario):
    token = _token(scenario)
    feed = CalendarFeed.objects.get(user=scenario.users["artist"])
    assert feed.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43  # 32 bytes, URL-safe base64
    assert not CalendarFeed.objects.filter(token_sha256=token).exists()


def test_revoked_rotated_unknown_or_lost_membership_is_the_same_404(scenario):
    old = _token(scenario)
    new = _token(scenario)  # rotating: the old address stops
    assert _feed(old).status_code == 404
    assert _feed(new).status_code == 200
    page = scenario.browser("artist").post(f"/p/{scenario.project.pk}/calendar/feed/revoke/")
    assert 'data-state="none"' in page.content.decode()
    assert _feed(new).status_code == 404
    for junk in ("", "x", "A" * 43, "A" * 500):
        assert _feed(junk).status_code == 404
    viewer_token = _token(scenario, "viewer")
    assert _feed(viewer_token).status_code == 200
    membership = scenario.project.memberships.get(user=scenario.users["viewer"])
    member_remove(actor=scenario.users["producer"], membership=membership)
    refused = _feed(viewer_token)
    assert refused.status_code == 404
    assert refused.content == _feed("A" * 43).content  # no hint of why


def test_an_outsider_cannot_make_a_feed(scenario):
    answer = scenario.browser("outsider").post(f"/p/{scenario.project.pk}/calendar/feed/")
    assert answer.status_code == 404
    with pytest.raises(Exception, match="project not found"):
        services.feed_issue(actor=scenario.users["outsider"], project=scenario.project)


def test_the_token_never_reaches_a_log_line(scenario, caplog):
    token = _token(scenario)
    caplog.set_level(logging.DEBUG)
    _feed(token)
    services.feed_revoke(actor=scenario.users["artist"], project=scenario.project)
    _feed(token)  # a 404: Django's request log names the path, never the query
    assert caplog.records, "the 404 is logged"
    assert all(token not in r.getMessage() for r in caplog.records)
