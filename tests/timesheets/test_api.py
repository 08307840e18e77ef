"""The time API (issue 16, Time): entries CRUD with filters, the rules as 4xx with sentences, and
the project's planned-against-spent summary."""

from __future__ import annotations

import pytest

from tests.timesheets import helpers as h
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db


def test_log_list_filter_edit_delete(scenario):
    s, other = h.song(scenario, "One"), h.song(scenario, "Two")
    t = h.task(scenario, s, "recording", 60)
    mix = h.session(scenario, other, "mix")
    engineer = scenario.client("engineer")
    r = engineer.post(
        "/api/time-entries/",
        {"song": s.pk, "task": t.pk, "minutes": 90, "spent_on": "2026-11-29", "note": "drums"},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["stage"], body["minutes"], body["member"]["username"]) == (
        "recording",
        90,
        "engineer",
    )
    r = scenario.client("artist").post(
        "/api/time-entries/", {"song": other.pk, "session": mix.pk, "minutes": 30}, format="json"
    )
    assert r.status_code == 201 and r.json()["stage"] == "mixing"
    viewer = scenario.client("viewer")
    assert len(viewer.get("/api/time-entries/").json()["results"]) == 2
    assert [
        e["minutes"] for e in viewer.get(f"/api/time-entries/?song={s.pk}").json()["results"]
    ] == [90]
    artist_id = scenario.users["artist"].pk
    assert [
        e["minutes"] for e in viewer.get(f"/api/time-entries/?member={artist_id}").json()["results"]
    ] == [30]
    assert [
        e["minutes"] for e in viewer.get("/api/time-entries/?stage=mixing").json()["results"]
    ] == [30]
    assert viewer.get("/api/time-entries/?stage=nonsense").status_code == 400
    eid = body["id"]
    r = engineer.patch(f"/api/time-entries/{eid}/", {"minutes": 75}, format="json")
    assert r.status_code == 200 and r.json()["minutes"] == 75
    r = scenario.client("producer").patch(
        f"/api/time-entries/{eid}/", {"minutes": 5}, format="json"
    )
    assert r.status_code == 403 and "your own" in r.json()["detail"]
    r = scenario.client("artist").delete(f"/api/time-entries/{eid}/")
    assert r.status_code == 403 and "producer" in r.json()["detail"]
    assert scenario.client("producer").delete(f"/api/time-entries/{eid}/").status_code == 204
    assert scenario.client("outsider").get("/api/time-entries/").json()["results"] == []


def test_bad_input_is_a_4xx_with_a_sentence(scenario, other_scenario):
    s, other = h.song(scenario, "One"), h.song(scenario, "Two")
    t = h.task(scenario, s, "recording", 60)
    theirs = h.song(other_scenario, "Theirs")
    their_task = h.task(other_scenario, theirs, "recording", 5)
    engineer = scenario.client("engineer")
    cases = [
        ({"song": s.pk, "task": t.pk, "minutes": 0}, "at least one minute"),
        ({"song": s.pk, "task": t.pk, "minutes": 5000}, "a day's worth"),
        ({"song": s.pk, "task": t.pk, "minutes": 10**30}, "a day's worth"),
        ({"song": s.pk, "minutes": 10}, "task or a working session"),
        ({"song": other.pk, "task": t.pk, "minutes": 10}, "another song"),
        ({"song": s.pk, "task": their_task.pk, "minutes": 10}, ""),
        ({"song": s.pk, "task": t.pk, "minutes": "ten"}, ""),
    ]
    for data, words in cases:
        r = engineer.post("/api/time-entries/", data, format="json")
        assert r.status_code == 400, (data, r.content)
        assert words in r.json()["detail"], (data, r.json())
    r = scenario.client("viewer").post(
        "/api/time-entries/", {"song": s.pk, "task": t.pk, "minutes": 10}, format="json"
    )
    assert r.status_code == 403
    assert TimeEntry.objects.count() == 0


def test_summary_per_song_and_stage(scenario, other_scenario):
    s = h.song(scenario, "One")
    t = h.task(scenario, s, "recording", 60)
    h.task(scenario, s, "mixing", 30)
    h.section(scenario, s, "Verse", 20)
    h.log(scenario, "engineer", s, 100, task=t)
    r = scenario.client("viewer").get(f"/api/time-summary/{scenario.project.pk}/")
    assert r.status_code == 200, r.content
    data = r.json()
    assert (data["planned"], data["spent"], data["over_budget"]) == (110, 100, [])
    song = data["songs"][0]
    rec = next(st for st in song["stages"] if st["stage"] == "recording")
    assert (rec["tasks_planned"], rec["sections_planned"], rec["spent"], rec["over"]) == (
        60,
        20,
        100,
        20,
    )
    assert song["sections"][0]["estimate_minutes"] == 20
    h.log(scenario, "engineer", s, 20, task=t)
    assert scenario.client("viewer").get(f"/api/time-summary/{scenario.project.pk}/").json()[
        "over_budget"
    ] == [s.pk]
    assert (
        scenario.client("outsider").get(f"/api/time-summary/{scenario.project.pk}/").status_code
        == 404
    )
    assert (
        scenario.client("producer")
        .get(f"/api/time-summary/{other_scenario.project.pk}/")
        .status_code
        == 404
    )


def test_archived_song_refuses_writes_and_a_foreign_session_is_a_400(scenario):
    from studio.services.songs import song_archive

    s, other = h.song(scenario, "One"), h.song(scenario, "Two")
    t = h.task(scenario, s, "recording", 60)
    entry = h.log(scenario, "engineer", s, 30, task=t)
    engineer = scenario.client("engineer")
    foreign = h.session(scenario, other, "mix")
    r = engineer.patch(f"/api/time-entries/{entry.pk}/", {"session": foreign.pk}, format="json")
    assert r.status_code == 400 and "another song" in r.json()["detail"]
    song_archive(actor=scenario.users["producer"], song=s)
    r = engineer.post(
        "/api/time-entries/", {"song": s.pk, "task": t.pk, "minutes": 10}, format="json"
    )
    assert r.status_code == 409 and "archived" in r.json()["detail"]
    r = engineer.patch(f"/api/time-entries/{entry.pk}/", {"minutes": 10}, format="json")
    assert r.status_code == 409
    assert scenario.client("viewer").get(f"/api/time-entries/{entry.pk}/").status_code == 200
