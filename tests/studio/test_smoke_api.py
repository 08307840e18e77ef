import pytest

pytestmark = pytest.mark.django_db


def test_song_create_and_move_refused_without_approved_mix(scenario):
    client = scenario.client("producer")
    r = client.post(
        "/api/songs/", {"project": scenario.project.pk, "title": "Ocean"}, format="json"
    )
    assert r.status_code == 201, r.content
    song_id = r.json()["id"]
    r = client.post(f"/api/songs/{song_id}/move/", {"to": "mastering"}, format="json")
    assert r.status_code == 409
    assert "no approved mix yet" in r.json()["fields"]["reasons"]
