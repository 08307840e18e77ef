"""The song sheet API: shapes, times, every refusal as a 4xx with a sentence, the gate."""

from __future__ import annotations

import pytest

from songsheet.models import Section
from studio.services.projects import project_update
from studio.services.songs import song_archive, song_create
from tests.songsheet.helpers import session_of, written_song

pytestmark = pytest.mark.django_db


def test_the_sheet_reads_and_writes_with_the_songs_key_and_tempo(scenario):
    song = written_song(scenario)
    artist = scenario.client("artist")
    body = artist.get(f"/api/song-sheets/{song.pk}/").json()
    assert body["time_signature"] == "4/4" and body["tempo_bpm"] == "120.00"
    assert [(x["name"], x["start_s"]) for x in body["sections"]] == [
        ("intro", 0.0),
        ("verse", 8.0),
        ("chorus", 24.0),
    ]
    assert body["regions_ready"] is False and body["regions"] == []
    put = artist.put(
        f"/api/song-sheets/{song.pk}/",
        {
            "time_signature": "6/8",
            "first_downbeat_s": 1.25,
            "genre": "synth-pop",
            "key": "F# minor",
        },
        format="json",
    )
    assert put.status_code == 200, put.content
    body = put.json()
    assert (body["genre"], body["key"], body["regions_ready"]) == ("synth-pop", "F# minor", True)
    assert [r["start_s"] for r in body["regions"]] == [1.25, 7.25, 19.25]
    listed = scenario.client("viewer").get(f"/api/sections/?song={song.pk}").json()["results"]
    assert [(x["position"], x["start_bar"], x["end_s"]) for x in listed] == [
        (1, 1, 7.25),
        (2, 5, 19.25),
        (3, 13, 31.25),
    ]
    engineer = scenario.client("engineer").put(
        f"/api/song-sheets/{song.pk}/", {"genre": "x"}, format="json"
    )
    assert engineer.status_code == 403


def _refused(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "verse", "bars": 0}, "bars"),
        ({"name": "verse", "bars": -8}, "bars"),
        ({"name": "verse", "bars": 8, "lyrics": "x" * 20_001}, "lyrics"),
        ({"name": "verse", "bars": 8, "estimate_minutes": -1}, "estimate_minutes"),
    ],
)
def test_bad_sections_are_a_400_naming_the_field(scenario, song, data, field):
    body = _refused(
        scenario.client("producer").post("/api/sections/", {"song": song.pk, **data}, format="json")
    )
    assert field in body["fields"]
    if field == "lyrics":
        assert "20 000" in body["detail"]


def test_other_refusals(scenario, other_scenario, song):
    producer = scenario.client("producer")
    _refused(producer.put(f"/api/song-sheets/{song.pk}/", {"time_signature": "5/7"}, format="json"))
    foreign_song = song_create(
        actor=other_scenario.users["producer"], project=other_scenario.project, title="Theirs"
    )
    _refused(producer.post("/api/sections/", {"song": foreign_song.pk, "name": "v", "bars": 4}))
    assert producer.get(f"/api/song-sheets/{foreign_song.pk}/").status_code == 404
    other = song_create(actor=scenario.users["producer"], project=scenario.project, title="B")
    body = _refused(
        producer.post(
            "/api/palette-items/",
            {"song": song.pk, "name": "Pad", "session": session_of(scenario, other).pk},
            format="json",
        )
    )
    assert "session" in body["fields"]
    song_archive(actor=scenario.users["producer"], song=song)
    body = _refused(
        producer.post("/api/sections/", {"song": song.pk, "name": "v", "bars": 4}, format="json"),
        409,
    )
    assert "archived" in body["detail"]


def test_move_through_the_api(scenario):
    song = written_song(scenario)
    chorus = Section.objects.get(song=song, name="chorus")
    moved = scenario.client("artist").post(
        f"/api/sections/{chorus.pk}/move/", {"position": 1}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["start_s"] == 0.0
    names = [
        x["name"]
        for x in scenario.client("artist").get(f"/api/sections/?song={song.pk}").json()["results"]
    ]
    assert names == ["chorus", "intro", "verse"]


def test_an_influence_prompts_and_records_a_sample_use_the_gate_sees(scenario, song):
    producer = scenario.client("producer")
    created = scenario.client("artist").post(
        "/api/influences/",
        {"song": song.pk, "work": "Blue Monday", "artist": "New Order", "taken": ["groove"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    influence = created.json()
    assert influence["asks_clearance"] is True and "clearance" in influence["clearance_prompt"]
    denied = scenario.client("artist").post(f"/api/influences/{influence['id']}/sample-use/", {})
    assert denied.status_code == 403
    recorded = producer.post(
        f"/api/influences/{influence['id']}/sample-use/",
        {"kind": "sample", "clearance": "denied"},
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["clearance"] == "denied"
    again = producer.get(f"/api/influences/{influence['id']}/").json()
    assert again["sample_clearance"] == "denied" and again["clearance_prompt"] is None
    _refused(producer.post(f"/api/influences/{influence['id']}/sample-use/", {}), 409)
    gates = producer.get(f"/api/songs/{song.pk}/gates/").json()
    delivered = next(g for g in gates if g["stage"] == "delivered")
    assert "1 sample use pending or denied clearance" in delivered["reasons"]


def test_a_refused_move_names_the_sections_check(scenario, song):
    project_update(
        actor=scenario.users["producer"], project=scenario.project, gate_checks=["sections_written"]
    )
    body = _refused(
        scenario.client("producer").post(
            f"/api/songs/{song.pk}/move/", {"to": "recording"}, format="json"
        ),
        409,
    )
    assert "no arrangement sections written on the song sheet yet" in body["detail"]
    labels = [c["label"] for c in body["fields"]["checks"]]
    assert "arrangement sections written" in labels


def test_the_schema_documents_the_sheet(scenario):
    schema = scenario.client("viewer").get("/api/schema/?format=json").json()
    for path in (
        "/api/song-sheets/{id}/",
        "/api/sections/",
        "/api/sections/{id}/move/",
        "/api/palette-items/",
        "/api/influences/{id}/sample-use/",
    ):
        assert path in schema["paths"], path


def test_an_archived_songs_sheet_is_read_only(scenario, song):
    song_archive(actor=scenario.users["producer"], song=song)
    artist = scenario.client("artist")
    assert artist.get(f"/api/song-sheets/{song.pk}/").status_code == 200
    body = _refused(artist.put(f"/api/song-sheets/{song.pk}/", {"genre": "x"}, format="json"), 409)
    assert "This song is archived" in body["detail"]
    page = scenario.browser("artist").get(f"/songs/{song.pk}/sheet/").content.decode()
    assert "Archived: the sheet is read-only." in page and 'id="section-add"' not in page
