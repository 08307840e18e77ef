"""Releases through the API: identifiers checked by the engine's codes, tracks added, moved and
edited, ISRCs kept with the master, artwork checked, missing pieces, and the deliver door."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.models import Isrc, ReleaseTrack
from eventlog.models import Event
from tests.delivery.helpers import mastered_song, png_bytes

pytestmark = pytest.mark.django_db

GOOD_UPC = "036000291452"


def _release(scenario: Any, songs: list[Any], **extra: Any) -> dict[str, Any]:
    body = {
        "project": scenario.project.pk,
        "title": "Night Drive EP",
        "artist": "Ava",
        "songs": [s.pk for s in songs],
        **extra,
    }
    r = scenario.client("producer").post("/api/releases/", body, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def _tracks(scenario: Any, release_id: int) -> list[dict[str, Any]]:
    r = scenario.client("artist").get(f"/api/release-tracks/?release={release_id}")
    assert r.status_code == 200
    return r.json()["results"]


def test_a_release_from_mastered_songs_takes_their_approved_masters(scenario):
    """Each song comes in with its approved master, in the order given, the first with the
    2 s pregap a CD needs; an event tells the others."""
    a = mastered_song(scenario, "Intro", seed=1)
    b = mastered_song(scenario, "Night Drive", seed=2)
    release = _release(scenario, [b, a], upc=GOOD_UPC)
    tracks = _tracks(scenario, release["id"])
    assert [t["title"] for t in tracks] == ["Night Drive", "Intro"]
    assert [t["position"] for t in tracks] == [1, 2]
    assert tracks[0]["master"] == b.masters.get().pk
    assert tracks[0]["pregap_s"] == 2.0 and tracks[1]["pregap_s"] == 0.0
    types = list(Event.objects.filter(project=scenario.project).values_list("type", flat=True))
    assert "release.created" in types and "release.tracks_changed" in types


def test_a_bad_upc_is_refused_naming_the_field(scenario):
    r = scenario.client("producer").post(
        "/api/releases/",
        {"project": scenario.project.pk, "title": "T", "artist": "A", "upc": "036000291453"},
        format="json",
    )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert "check digit" in r.json()["fields"]["upc"][0]


def test_isrc_is_normalised_kept_with_the_master_and_unique(scenario):
    """An ISRC given in any spelling is stored in its 12-character form, with the master: the
    same master on another release shows it; another master may not take it (409)."""
    a = mastered_song(scenario, "Intro", seed=1)
    b = mastered_song(scenario, "Outro", seed=2)
    one = _release(scenario, [a, b])
    t1, t2 = _tracks(scenario, one["id"])
    c = scenario.client("producer")
    r = c.patch(f"/api/release-tracks/{t1['id']}/", {"isrc": "us-rc1-76-07839"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["isrc"] == "USRC17607839"
    assert Isrc.objects.get(master=a.masters.get()).code == "USRC17607839"
    r = c.patch(f"/api/release-tracks/{t2['id']}/", {"isrc": "USRC17607839"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "isrc_taken"
    r = c.patch(f"/api/release-tracks/{t2['id']}/", {"isrc": "nope"}, format="json")
    assert r.status_code == 400 and "isrc" in r.json()["fields"]
    two = _release(scenario, [a], title="Single")
    assert _tracks(scenario, two["id"])[0]["isrc"] == "USRC17607839"


def test_move_to_a_position_closes_up_the_others(scenario):
    songs = [mastered_song(scenario, f"Song {i}", seed=i) for i in range(1, 4)]
    release = _release(scenario, songs)
    tracks = _tracks(scenario, release["id"])
    r = scenario.client("producer").post(
        f"/api/release-tracks/{tracks[2]['id']}/move/", {"position": 1}, format="json"
    )
    assert r.status_code == 200
    moved = _tracks(scenario, release["id"])
    assert [t["title"] for t in moved] == ["Song 3", "Song 1", "Song 2"]
    # the new first track gets the 2 s a CD needs before track 1; the old one gives its back
    assert [t["pregap_s"] for t in moved] == [2.0, 0.0, 0.0]
    r = scenario.client("producer").post(
        f"/api/release-tracks/{tracks[2]['id']}/move/", {"position": 9}, format="json"
    )
    assert r.status_code == 400 and "position" in r.json()["fields"]
    r = scenario.client("producer").delete(f"/api/release-tracks/{tracks[0]['id']}/")
    assert r.status_code == 204
    assert [t["position"] for t in _tracks(scenario, release["id"])] == [1, 2]


def test_gaps_and_trims_are_numbers_in_range(scenario):
    release = _release(scenario, [mastered_song(scenario, "Intro")])
    track = _tracks(scenario, release["id"])[0]
    c = scenario.client("producer")
    r = c.patch(f"/api/release-tracks/{track['id']}/", {"pregap_s": 61}, format="json")
    assert r.status_code == 400 and "pregap_s" in r.json()["fields"]
    r = c.patch(
        f"/api/release-tracks/{track['id']}/",
        {"pregap_s": 3, "trim_start_s": 0.25, "fade_out_s": 1.5},
        format="json",
    )
    assert r.status_code == 200
    assert (r.json()["pregap_s"], r.json()["trim_start_s"], r.json()["fade_out_s"]) == (
        3,
        0.25,
        1.5,
    )


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (png_bytes(1400, 1400), None),
        (png_bytes(1400, 1500), "square"),
        (png_bytes(1000, 1000), "under the 1400 px"),
        (png_bytes(6100, 6100), "over the 6000 px"),
        (b"GIF89a" + b"\x00" * 100, "JPEG or PNG"),
    ],
)
def test_artwork_is_a_square_jpeg_or_png_of_1400_to_6000_px(scenario, image, reason):
    from django.core.files.uploadedfile import SimpleUploadedFile

    release = _release(scenario, [])
    r = scenario.client("producer").post(
        f"/api/releases/{release['id']}/artwork/",
        {"file": SimpleUploadedFile("cover.png", image)},
        format="multipart",
    )
    if reason is None:
        assert r.status_code == 200, r.content
        assert r.json()["artwork_url"].startswith("/api/assets/")
    else:
        assert r.status_code == 400
        assert reason in r.json()["fields"]["artwork"][0]


def test_missing_pieces_point_at_what_fixes_them(scenario):
    """No approved master blocks (the engine needs audio), as does a track under 4 s; a missing
    ISRC, UPC or cover is listed but does not block (QC says it)."""
    ok = mastered_song(scenario, "Intro", seed=1)
    unapproved = mastered_song(scenario, "Demo", seed=2, approved=False)
    release = _release(scenario, [ok, unapproved])
    c = scenario.client("viewer")
    data = c.get(f"/api/releases/{release['id']}/missing/").json()
    assert data["deliverable"] is False
    first = data["missing"][0]
    assert first["code"] == "no_master" and first["field"] == "master" and first["position"] == 2
    codes = {p["code"] for p in data["missing"]}
    assert {"no_isrc", "no_upc", "no_artwork"} <= codes
    r = scenario.client("producer").post(f"/api/releases/{release['id']}/deliver/")
    assert r.status_code == 409 and r.json()["code"] == "release_not_deliverable"
    ReleaseTrack.objects.filter(song=unapproved).delete()
    short = mastered_song(scenario, "Jingle", seconds=2.0, seed=3)
    scenario.client("producer").post(
        "/api/release-tracks/", {"release": release["id"], "song": short.pk}, format="json"
    )
    data = c.get(f"/api/releases/{release['id']}/missing/").json()
    engine = [p for p in data["missing"] if p["code"] == "engine"]
    assert engine and "4 s" in engine[0]["message"] and engine[0]["blocking"]


def test_deliver_queues_the_job_with_the_release_spec(scenario):
    a = mastered_song(scenario, "Intro", seed=1)
    release = _release(scenario, [a], upc=GOOD_UPC)
    r = scenario.client("engineer").post(f"/api/releases/{release['id']}/deliver/")
    assert r.status_code == 202, r.content
    job = r.json()["job"]
    assert job["kind"] == "deliver" and job["state"] == "queued"
    from audio.models import Job

    params = Job.objects.get(pk=job["id"]).params
    assert params["spec"]["upc"] == GOOD_UPC
    assert params["spec"]["tracks"][0]["source"] == f"asset:{a.masters.get().asset_id}.wav"
    assert (
        scenario.client("artist").post(f"/api/releases/{release['id']}/deliver/").status_code == 403
    )


def test_export_lists_credits_with_ipi_and_splits_per_right(scenario):
    from studio.services.credits import credit_add

    a = mastered_song(scenario, "Intro", seed=1)
    credit_add(
        actor=scenario.users["producer"],
        song=a,
        role="composer",
        contributor_name="Ava",
        ipi="00052210040",
    )
    release = _release(scenario, [a], upc=GOOD_UPC)
    data = scenario.client("viewer").get(f"/api/releases/{release['id']}/export/?as=json").json()
    track = data["tracks"][0]
    assert track["credits"][0]["role"] == "composer" and track["credits"][0]["ipi"] == "00052210040"
    r = scenario.client("viewer").get(f"/api/releases/{release['id']}/export/?as=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    lines = r.content.decode().splitlines()
    assert lines[0].startswith("release_title,release_artist,upc")
    assert any(",credit,composer,Ava," in line for line in lines)


def test_the_demo_release_holds_the_songs_with_a_master_once(scenario):
    from delivery.demo import seed_demo_release

    a = mastered_song(scenario, "Harbour Lights", seed=1, approved=False)
    users = {"mia": scenario.users["producer"]}
    release = seed_demo_release(project=scenario.project, users=users)
    assert list(release.tracks.values_list("song_id", "master_id")) == [(a.pk, None)]
    assert seed_demo_release(project=scenario.project, users=users) == release


def test_a_deleted_song_leaves_the_release_and_comes_back_restored(scenario):
    from studio.services.songs import song_delete, song_restore

    a = mastered_song(scenario, "Intro", seed=1)
    b = mastered_song(scenario, "Outro", seed=2)
    release = _release(scenario, [a, b])
    song_delete(actor=scenario.users["producer"], song=b)
    assert [t["title"] for t in _tracks(scenario, release["id"])] == ["Intro"]
    spec = scenario.client("producer").get(f"/api/releases/{release['id']}/export/").json()
    assert [t["title"] for t in spec["tracks"]] == ["Intro"]
    song_restore(actor=scenario.users["producer"], song=b)
    assert [t["title"] for t in _tracks(scenario, release["id"])] == ["Intro", "Outro"]


def test_a_master_that_loses_its_approval_blocks_delivery_until_fixed(scenario):
    from audio.models import Master

    a = mastered_song(scenario, "Intro", seed=1)
    release = _release(scenario, [a])
    Master.objects.filter(song=a).update(is_approved=False)
    data = scenario.client("viewer").get(f"/api/releases/{release['id']}/missing/").json()
    assert data["deliverable"] is False
    assert data["missing"][0]["code"] == "master_unapproved"
    r = scenario.client("producer").post(f"/api/releases/{release['id']}/deliver/")
    assert r.status_code == 409


def test_a_song_is_added_at_a_position(scenario):
    a, b, c = (mastered_song(scenario, t, seed=i) for i, t in enumerate("ABC", start=1))
    release = _release(scenario, [a, b])
    r = scenario.client("producer").post(
        "/api/release-tracks/",
        {"release": release["id"], "song": c.pk, "position": 1},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert [t["title"] for t in _tracks(scenario, release["id"])] == ["C", "A", "B"]
    again = scenario.client("producer").post(
        "/api/release-tracks/", {"release": release["id"], "song": c.pk}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "track_exists"
