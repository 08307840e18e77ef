"""Times in the viewer's zone: the same working session, activity and comments read at each
viewer's own local time (studio.timezones activates their Profile's zone for every request,
including the htmx re-fetch of a live region after a websocket event)."""

from __future__ import annotations

import datetime

from django.urls import reverse

from sessions.models import WorkingSession
from sessions.services import session_schedule
from studio.models import Profile


def _in_zone(user, zone):
    Profile.objects.update_or_create(user=user, defaults={"time_zone": zone})


def _sessions_part(client, song):
    """The card as live.js re-fetches it after a session event (an htmx GET of the fragment)."""
    response = client.get(
        reverse("song-detail", args=[song.pk]) + "?part=sessions", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    return response.content.decode()


def test_new_york_and_tokyo_see_one_session_at_their_own_times(scenario, song):
    producer, viewer = scenario.users["producer"], scenario.users["viewer"]
    _in_zone(producer, "America/New_York")
    _in_zone(viewer, "Asia/Tokyo")
    starts = datetime.datetime(2030, 1, 31, 15, 0, tzinfo=datetime.UTC)
    session = session_schedule(
        actor=producer,
        song=song,
        kind="recording",
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=2),
    )
    new_york = _sessions_part(scenario.browser("producer"), song)
    tokyo = _sessions_part(scenario.browser("viewer"), song)
    item = f'id="session-{session.pk}"'
    assert item in new_york and item in tokyo
    assert "Thu 31 Jan, 10:00–12:00 EST" in new_york
    assert "Fri 1 Feb, 00:00–02:00 JST" in tokyo
    assert 'datetime="2030-01-31T10:00:00-05:00"' in new_york
    assert 'datetime="2030-02-01T00:00:00+09:00"' in tokyo
    # the edit form shows the session back in the producer's zone, and says which zone it is
    assert 'name="starts_at" type="datetime-local" required value="2030-01-31T10:00"' in new_york
    assert "(America/New_York)" in new_york
    assert "UTC" not in new_york and "UTC" not in tokyo


def test_a_typed_session_time_is_read_in_the_typists_zone(scenario, song):
    _in_zone(scenario.users["producer"], "Asia/Tokyo")
    response = scenario.browser("producer").post(
        reverse("session-schedule", args=[song.pk]),
        {"kind": "mix", "starts_at": "2030-03-01T10:00", "ends_at": "2030-03-01T12:30"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    session = WorkingSession.objects.get(song=song)
    assert session.starts_at.isoformat() == "2030-03-01T01:00:00+00:00"  # 10:00 JST
    assert session.ends_at.isoformat() == "2030-03-01T03:30:00+00:00"
    assert 'value="2030-03-01T10:00"' in response.content.decode()


def test_activity_times_carry_the_viewers_zone(scenario, song):
    _in_zone(scenario.users["viewer"], "Asia/Tokyo")
    response = scenario.browser("viewer").get(
        reverse("project-dashboard", args=[scenario.project.pk]) + "?part=activity",
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert ' JST">' in body and "+09:00" in body
    assert "UTC" not in body
