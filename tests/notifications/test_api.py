"""The notification API: one's own inbox only (another's notification is a 404), ?unread=1, mark
one and all read, the preferences per kind, and an unknown mention refused with 400."""

from __future__ import annotations

import json

import pytest

from notifications.models import Notification
from studio.services.songs import song_move_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(scenario, song):
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    song_move_stage(actor=scenario.users["producer"], song=song, to="editing")
    return song


def test_a_person_lists_only_their_own(scenario, moved):
    engineer = scenario.client("engineer")
    rows = engineer.get("/api/notifications/").json()
    assert rows["count"] == 2
    assert {r["kind"] for r in rows["results"]} == {"stage"}
    assert all(r["unread"] for r in rows["results"])
    assert rows["results"][0]["sentence"] == "producer moved 'Night Drive' to Editing"
    mine = {n.pk for n in Notification.objects.filter(recipient=scenario.users["engineer"])}
    assert {r["id"] for r in rows["results"]} == mine
    assert scenario.client("producer").get("/api/notifications/").json()["count"] == 0
    assert scenario.client("outsider").get("/api/notifications/").json()["count"] == 0
    assert scenario.client(None).get("/api/notifications/").status_code == 401


def test_another_persons_notification_is_a_404(scenario, moved):
    theirs = Notification.objects.filter(recipient=scenario.users["artist"]).first()
    engineer = scenario.client("engineer")
    for response in (
        engineer.get(f"/api/notifications/{theirs.pk}/"),
        engineer.post(f"/api/notifications/{theirs.pk}/read/"),
        engineer.get("/api/notifications/abc/"),
        engineer.get(f"/api/notifications/{2**70}/"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert scenario.client("artist").get(f"/api/notifications/{theirs.pk}/").status_code == 200


def test_mark_one_then_all_read(scenario, moved):
    engineer = scenario.client("engineer")
    first, second = engineer.get("/api/notifications/").json()["results"]
    r = engineer.post(f"/api/notifications/{first['id']}/read/")
    assert r.status_code == 200 and r.json()["unread"] is False and r.json()["read_at"]
    unread = engineer.get("/api/notifications/?unread=1&limit=1").json()
    assert unread["count"] == 1 and unread["results"][0]["id"] == second["id"]
    r = engineer.post("/api/notifications/read-all/")
    assert r.json() == {"marked": 1, "unread": 0}
    assert engineer.get("/api/notifications/?unread=1").json()["count"] == 0
    assert engineer.get("/api/notifications/?unread=0").json()["count"] == 2
    bad = engineer.get("/api/notifications/?unread=yes")
    assert bad.status_code == 400 and "unread" in bad.json()["detail"]
    # the artist's are still unread: read-all is one's own
    assert scenario.client("artist").get("/api/notifications/?unread=1").json()["count"] == 2


def test_preferences_per_kind(scenario, song):
    viewer = scenario.client("viewer")
    prefs = viewer.get("/api/notification-preferences/").json()
    assert [p["kind"] for p in prefs] == ["mention", "task", "stage", "approval", "booking"]
    assert all(p["inbox"] and p["email"] for p in prefs)
    r = viewer.patch("/api/notification-preferences/stage/", {"inbox": False}, format="json")
    assert r.status_code == 200 and r.json()["inbox"] is False and r.json()["email"] is True
    assert viewer.get("/api/notification-preferences/stage/").json()["inbox"] is False
    r = viewer.patch("/api/notification-preferences/stage/", {"email": False}, format="json")
    assert r.json() == {"kind": "stage", "label": r.json()["label"], "inbox": False, "email": False}
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    assert viewer.get("/api/notifications/").json()["count"] == 0
    assert scenario.client("artist").get("/api/notifications/").json()["count"] == 1
    unknown = viewer.patch("/api/notification-preferences/gossip/", {"inbox": False}, format="json")
    assert unknown.status_code == 400
    assert "is not a kind of notification" in unknown.json()["detail"]
    assert viewer.get("/api/notification-preferences/gossip/").status_code == 400
    bad = viewer.patch("/api/notification-preferences/stage/", {"inbox": "maybe"}, format="json")
    assert bad.status_code == 400
    assert (
        viewer.patch("/api/notification-preferences/stage/", [], format="json").status_code == 400
    )
    assert scenario.client(None).get("/api/notification-preferences/").status_code == 401


def test_an_unknown_mention_is_a_400_over_the_api(scenario, song):
    from tests.live.conftest import make_mix

    mix = make_mix(song)
    artist = scenario.client("artist")
    r = artist.post(
        "/api/comments/", {"mix": mix.pk, "body": "@zed hear this", "start_s": 1}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "No one called @zed is a member of this project"
    assert r.json()["code"] == "unknown_mention"
    r = artist.post(
        "/api/comments/",
        {"mix": mix.pk, "body": "@engineer hear this", "start_s": 1},
        format="json",
    )
    assert r.status_code == 201
    assert scenario.client("engineer").get("/api/notifications/").json()["count"] == 1


def test_hostile_input_gets_a_4xx_never_a_5xx(scenario, moved):
    """The outside pass walks the viewsets; these routes are plain views, so the same hostile
    values, bodies and queries are thrown at them here."""
    from tests.studio.test_outside_pass import HOSTILE_BODIES, HOSTILE_QUERIES, HOSTILE_VALUES

    engineer = scenario.client("engineer")
    mine = Notification.objects.filter(recipient=scenario.users["engineer"]).first()
    for value in HOSTILE_VALUES:
        for field in ("inbox", "email"):
            r = engineer.generic(
                "PATCH",
                "/api/notification-preferences/stage/",
                json.dumps({field: value}),
                content_type="application/json",
            )
            assert r.status_code in (200, 400), (field, value, r.status_code)
    for content_type, body in HOSTILE_BODIES:
        for url in ("/api/notification-preferences/stage/",):
            r = engineer.generic("PATCH", url, body, content_type=content_type)
            assert 400 <= r.status_code < 500 or r.status_code == 200, (body[:20], r.status_code)
        for url in ("/api/notifications/read-all/", f"/api/notifications/{mine.pk}/read/"):
            r = engineer.generic("POST", url, body, content_type=content_type)
            assert r.status_code < 500, (url, body[:20], r.status_code)
    for query in HOSTILE_QUERIES:
        r = engineer.get(f"/api/notifications/?{query}")
        assert r.status_code < 500, (query, r.status_code)
    for kind in ("\x00", "x" * 5000, "../../etc", "%00"):
        r = engineer.get(f"/api/notification-preferences/{kind}/")
        assert r.status_code in (400, 404), (kind, r.status_code)
