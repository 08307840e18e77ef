"""The live layer's REST API by role: clear 4xx for bad input, never a 500."""

from __future__ import annotations

import pytest

from tests.live.conftest import make_mix, make_take

pytestmark = pytest.mark.django_db


def test_comment_api_roles_and_errors(scenario, song):
    mix, other = make_mix(song), make_mix(song)
    url = "/api/comments/"
    artist = scenario.client("artist")
    r = artist.post(url, {"mix": mix.pk, "body": "@engineer hi", "start_s": 12.5}, format="json")
    assert r.status_code == 201, r.content
    root = r.json()
    assert root["start_s"] == 12.5 and root["mentions"] == [scenario.users["engineer"].pk]
    r = scenario.client("viewer").post(url, {"mix": mix.pk, "body": "x"}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = scenario.client("outsider").post(url, {"mix": mix.pk, "body": "x"}, format="json")
    assert r.status_code == 400 and "mix" in r.json()["fields"]  # not visible: never linked
    r = artist.post(url, {"mix": mix.pk, "body": "late", "start_s": 999}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "time_out_of_range"
    assert "past the end" in r.json()["detail"]
    r = artist.post(url, {"mix": other.pk, "body": "x", "parent": root["id"]}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "reply_other_version"
    r = artist.post(url, {"body": "x"}, format="json")
    assert r.status_code == 400
    r = scenario.client("viewer").get(f"{url}?mix={mix.pk}")
    assert r.status_code == 200 and [c["id"] for c in r.json()["results"]] == [root["id"]]
    assert scenario.client("outsider").get(f"{url}{root['id']}/").status_code == 404
    cid = root["id"]
    r = scenario.client("producer").patch(f"{url}{cid}/", {"body": "mine"}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "not_author"
    r = artist.patch(f"{url}{cid}/", {"body": "edited"}, format="json")
    assert r.status_code == 200 and r.json()["edited_at"]
    r = scenario.client("engineer").post(f"{url}{cid}/resolve/")
    assert r.status_code == 200 and r.json()["resolved_by"]["username"] == "engineer"
    assert scenario.client("engineer").post(f"{url}{cid}/resolve/").status_code == 409
    assert scenario.client("viewer").post(f"{url}{cid}/reopen/").status_code == 403
    assert artist.post(f"{url}{cid}/reopen/").status_code == 200
    assert artist.delete(f"{url}{cid}/").status_code == 204
    assert artist.get(f"{url}{cid}/").json()["deleted"] is True


def test_approval_api(scenario, song):
    mix = make_mix(song)
    url = "/api/approvals/"
    r = scenario.client("viewer").post(url, {"mix": mix.pk, "verdict": "approved"}, format="json")
    assert r.status_code == 403
    r = scenario.client("artist").post(
        url, {"mix": mix.pk, "verdict": "changes_requested"}, format="json"
    )
    assert r.status_code == 400 and r.json()["code"] == "note_required"
    r = scenario.client("artist").post(url, {"mix": mix.pk, "verdict": "approved"}, format="json")
    assert r.status_code == 201
    r = scenario.client("viewer").get(f"{url}state/?mix={mix.pk}")
    assert r.status_code == 200 and r.json()["approved"] is False
    assert r.json()["reasons"] == ["a producer has not approved yet"]
    r = scenario.client("producer").post(url, {"mix": mix.pk, "verdict": "approved"}, format="json")
    assert r.status_code == 201
    assert scenario.client("viewer").get(f"{url}state/?mix={mix.pk}").json()["approved"] is True
    assert scenario.client("outsider").get(f"{url}state/?mix={mix.pk}").status_code == 404
    assert scenario.client("viewer").get(f"{url}state/").status_code == 400
    r = scenario.client("producer").post(f"/api/songs/{song.pk}/move/", {"to": "mixing"})
    assert r.status_code == 200
    r = scenario.client("producer").post(f"/api/songs/{song.pk}/move/", {"to": "mastering"})
    assert r.status_code == 200, r.content


def test_working_session_and_keeper_api(scenario, song):
    url = "/api/working-sessions/"
    body = {
        "song": song.pk,
        "kind": "overdub",
        "starts_at": "2030-01-01T10:00:00Z",
        "ends_at": "2030-01-01T12:00:00Z",
        "participants": [scenario.users["artist"].pk],
    }
    assert scenario.client("artist").post(url, body, format="json").status_code == 403
    bad = body | {"ends_at": "2030-01-01T09:00:00Z"}
    assert scenario.client("engineer").post(url, bad, format="json").status_code == 400
    r = scenario.client("engineer").post(url, body, format="json")
    assert r.status_code == 201, r.content
    sid = r.json()["id"]
    take = make_take(song)
    r = scenario.client("engineer").post(f"{url}{sid}/add-take/", {"take": take.pk}, format="json")
    assert r.status_code == 200 and r.json()["takes"] == [take.pk]
    r = scenario.client("producer").patch(f"{url}{sid}/", {"notes": "bring picks"}, format="json")
    assert r.status_code == 200 and r.json()["notes"] == "bring picks"
    r = scenario.client("viewer").get(f"{url}?song={song.pk}")
    assert [s["id"] for s in r.json()["results"]] == [sid]
    r = scenario.client("engineer").post("/api/keepers/", {"take": take.pk}, format="json")
    assert r.status_code == 200 and r.json()["is_keeper"] is True
    r = scenario.client("artist").post("/api/keepers/", {"take": take.pk}, format="json")
    assert r.status_code == 403
    r = scenario.client("engineer").post(
        f"{url}{sid}/remove-take/", {"take": take.pk}, format="json"
    )
    assert r.status_code == 200 and r.json()["takes"] == []
    assert scenario.client("outsider").delete(f"{url}{sid}/").status_code == 404
    assert scenario.client("producer").delete(f"{url}{sid}/").status_code == 204


def test_the_keeper_flag_has_one_door(scenario, song):
    """POST /api/keepers/ is the only way in: the takes API refuses `is_keeper` (on attach and
    on PATCH) with a 400 that names the keepers route, and changes nothing; the keeper door
    clears the part's other keeper and records one take.keeper_changed listing both takes."""
    from audio.models import Take
    from eventlog.models import Event
    from tests.live.conftest import make_asset

    engineer = scenario.client("engineer")
    first, second = make_take(song, part="vox"), make_take(song, part="vox")
    r = engineer.post("/api/keepers/", {"take": first.pk}, format="json")
    assert r.status_code == 200, r.content
    r = engineer.patch(f"/api/takes/{second.pk}/", {"is_keeper": True}, format="json")
    assert r.status_code == 400 and "/api/keepers/" in r.json()["fields"]["is_keeper"][0]
    asset = make_asset(scenario.project)
    body = {"song": song.pk, "asset": asset.pk, "part": "vox", "is_keeper": True}
    r = engineer.post("/api/takes/", body, format="json")
    assert r.status_code == 400 and "/api/keepers/" in r.json()["fields"]["is_keeper"][0]
    assert Take.objects.filter(song=song).count() == 2
    keepers = Take.objects.filter(song=song, part="vox", is_keeper=True)
    assert list(keepers.values_list("pk", flat=True)) == [first.pk]

    seq = Event.objects.filter(project=scenario.project).order_by("seq").last().seq
    r = engineer.post("/api/keepers/", {"take": second.pk}, format="json")
    assert r.status_code == 200 and r.json()["is_keeper"] is True
    events = list(Event.objects.filter(project=scenario.project, seq__gt=seq))
    assert [e.type for e in events] == ["take.keeper_changed"]
    assert sorted(events[0].payload["takes"], key=lambda t: t["id"]) == [
        {"id": first.pk, "song": song.pk, "part": "vox", "is_keeper": False},
        {"id": second.pk, "song": song.pk, "part": "vox", "is_keeper": True},
    ]
    # the same request again changes nothing and records nothing
    r = engineer.post("/api/keepers/", {"take": second.pk}, format="json")
    assert r.status_code == 200
    assert Event.objects.filter(project=scenario.project, seq__gt=seq).count() == 1
