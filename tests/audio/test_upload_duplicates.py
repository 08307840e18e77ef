"""A second upload of identical content (issue 13): the same bytes as a mix version of the song,
uploaded as a mix, are held instead of becoming a new version silently; the uploader is told
"identical to Mix 1" and confirms (the version is made, with its event) or cancels (nothing is
added). The same holds for a stem or take identical to one of the song. Through the tus API, the
decision endpoints and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from audio.models import Asset, Mix, Stem, Take, Upload, UploadState
from eventlog.models import Event
from tests.audio.audiofiles import wav_bytes
from tests.audio.conftest import TUS, upload_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audio.urls")]


def _send(client: APIClient, data: bytes, song: Any, kind: str, name: str, **extra: str) -> Any:
    response = upload_bytes(
        client, data, filename=name, project=song.project_id, song=song.pk, kind=kind, **extra
    )
    assert response.status_code == 204, response.content
    return response


def _upload_id(response: Any) -> str:
    return response.request["PATH_INFO"].rstrip("/").rsplit("/", 1)[-1]


def _types(project: Any) -> list[str]:
    return list(
        Event.objects.filter(project=project).order_by("seq").values_list("type", flat=True)
    )


def test_the_same_mix_twice_is_held_and_says_identical_to_mix_1(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    data = wav_bytes(seconds=0.2, seed=41)
    first = _send(tus_client, data, song, "mix", "mix.wav")
    mix = Mix.objects.get()
    assert first["Studio-Upload-State"] == "done" and first["Studio-Mix-Id"] == str(mix.pk)
    before = _types(scenario.project)

    second = _send(tus_client, data, song, "mix", "mix again.wav", note="louder")
    assert second["Studio-Upload-State"] == "held"
    assert second["Studio-Identical-To"] == f"mix:{mix.pk}"
    assert second["Studio-Asset-Id"] == str(mix.asset_id)
    assert "Studio-Mix-Id" not in second
    assert Mix.objects.count() == 1 and Asset.objects.count() == 1
    assert _types(scenario.project) == before  # nothing happened the others should hear of
    upload_id = _upload_id(second)
    assert Upload.objects.get(pk=upload_id).state == UploadState.HELD
    head = tus_client.head(f"/api/uploads/{upload_id}/", **TUS)
    assert head["Studio-Upload-State"] == "held" and head["Studio-Identical-To"] == f"mix:{mix.pk}"

    told = tus_client.get(f"/api/uploads/{upload_id}/duplicate/")
    assert told.status_code == 200
    assert told.json() == {
        "id": upload_id,
        "state": "held",
        "filename": "mix again.wav",
        "kind": "mix",
        "asset": mix.asset_id,
        "identical_to": {"type": "mix", "id": mix.pk, "name": "Mix 1"},
        "detail": "mix again.wav is identical to Mix 1.",
    }

    confirmed = tus_client.post(f"/api/uploads/{upload_id}/confirm/")
    assert confirmed.status_code == 200, confirmed.content
    mix2 = Mix.objects.get(number=2)
    assert (mix2.asset_id, mix2.note) == (mix.asset_id, "louder")
    assert confirmed.json()["attached"] == {"type": "mix", "id": mix2.pk}
    assert confirmed.json()["state"] == "done"
    assert _types(scenario.project)[len(before) :] == ["mix.created"]
    # a second confirm (a double click) is the same answer, not a third version
    again = tus_client.post(f"/api/uploads/{upload_id}/confirm/")
    assert again.status_code == 200 and again.json()["attached"] == {"type": "mix", "id": mix2.pk}
    assert Mix.objects.count() == 2
    # confirmed: nothing to cancel any more
    late = tus_client.post(f"/api/uploads/{upload_id}/cancel/")
    assert late.status_code == 409 and late.json()["code"] == "upload_not_held"


def test_cancel_adds_nothing_and_removes_the_upload(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    data = wav_bytes(seconds=0.2, seed=42)
    _send(tus_client, data, song, "mix", "a.wav")
    before = _types(scenario.project)
    held = _send(tus_client, data, song, "mix", "b.wav")
    upload_id = _upload_id(held)
    response = tus_client.post(f"/api/uploads/{upload_id}/cancel/")
    assert response.status_code == 204
    assert Mix.objects.count() == 1 and Asset.objects.count() == 1
    assert not Upload.objects.filter(pk=upload_id).exists()
    assert _types(scenario.project) == before
    assert tus_client.post(f"/api/uploads/{upload_id}/confirm/").status_code == 404


def test_a_stem_or_take_identical_to_one_of_the_song_is_held_too(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    data = wav_bytes(seconds=0.2, seed=43)
    _send(tus_client, data, song, "stem", "bass.wav", instrument="Bass")
    stem = Stem.objects.get()
    as_take = _send(tus_client, data, song, "take", "bass take.wav", part="Bass")
    assert as_take["Studio-Upload-State"] == "held"
    assert as_take["Studio-Identical-To"] == f"stem:{stem.pk}"
    told = tus_client.get(f"/api/uploads/{_upload_id(as_take)}/duplicate/").json()
    assert told["detail"] == "bass take.wav is identical to the stem Bass."
    assert Take.objects.count() == 0
    confirmed = tus_client.post(f"/api/uploads/{_upload_id(as_take)}/confirm/").json()
    take = Take.objects.get()
    assert confirmed["attached"] == {"type": "take", "id": take.pk} and take.part == "Bass"

    other = wav_bytes(seconds=0.2, seed=44)
    _send(tus_client, other, song, "take", "vox.wav", part="Lead vocal")
    vox = Take.objects.get(part="Lead vocal")
    held = _send(tus_client, other, song, "take", "vox.wav", part="Lead vocal")
    assert held["Studio-Identical-To"] == f"take:{vox.pk}"
    told = tus_client.get(f"/api/uploads/{_upload_id(held)}/duplicate/").json()
    assert told["identical_to"]["name"] == "Lead vocal take 1"


def test_only_the_same_role_on_the_same_song_holds(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    """A file that is a mix of the song may become a stem, and a mix of another song, at once:
    they are not 'a second upload' of that version."""
    from studio.services.songs import song_create

    data = wav_bytes(seconds=0.2, seed=45)
    _send(tus_client, data, song, "mix", "m.wav")
    as_stem = _send(tus_client, data, song, "stem", "m.wav")
    assert as_stem["Studio-Upload-State"] == "done" and Stem.objects.count() == 1
    other = song_create(actor=scenario.users["producer"], project=scenario.project, title="B")
    elsewhere = _send(tus_client, data, other, "mix", "m.wav")
    assert elsewhere["Studio-Upload-State"] == "done"
    assert Mix.objects.filter(song=other).count() == 1


def test_decisions_belong_to_the_uploader_and_need_a_held_upload(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    data = wav_bytes(seconds=0.2, seed=46)
    _send(tus_client, data, song, "mix", "a.wav")
    held = _send(tus_client, data, song, "mix", "a.wav")
    upload_id = _upload_id(held)
    for who in ("producer", "artist", "viewer", "outsider"):  # not their upload: it is not there
        client = scenario.client(who)
        assert client.get(f"/api/uploads/{upload_id}/duplicate/").status_code == 404, who
        assert client.post(f"/api/uploads/{upload_id}/confirm/").status_code == 404, who
        assert client.post(f"/api/uploads/{upload_id}/cancel/").status_code == 404, who
    assert scenario.client(None).post(f"/api/uploads/{upload_id}/confirm/").status_code == 401
    assert tus_client.post("/api/uploads/not-a-uuid/confirm/").status_code == 404
    assert Mix.objects.count() == 1 and Upload.objects.get(pk=upload_id).state == "held"
    # an upload that is done (the first one) has no decision to take
    first = Upload.objects.exclude(pk=upload_id).get()
    for action in ("duplicate", "cancel"):
        refused = tus_client.generic(
            "GET" if action == "duplicate" else "POST", f"/api/uploads/{first.pk}/{action}/"
        )
        assert refused.status_code == 409 and refused.json()["code"] == "upload_not_held"


def test_terminating_a_held_upload_adds_nothing(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    """tus DELETE on a held upload drops it like cancel."""
    data = wav_bytes(seconds=0.2, seed=47)
    _send(tus_client, data, song, "mix", "a.wav")
    held = _send(tus_client, data, song, "mix", "a.wav")
    assert tus_client.delete(f"/api/uploads/{_upload_id(held)}/", **TUS).status_code == 204
    assert Mix.objects.count() == 1 and Upload.objects.count() == 1


def test_the_schema_documents_the_decision_endpoints(scenario: Any) -> None:
    schema = scenario.client("viewer").get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "get" in paths["/api/uploads/{upload_id}/duplicate/"]
    assert "post" in paths["/api/uploads/{upload_id}/confirm/"]
    assert "post" in paths["/api/uploads/{upload_id}/cancel/"]
    held = schema["components"]["schemas"]["UploadHeld"]
    assert {"identical_to", "detail"} <= set(held["properties"])
    assert "Studio-Identical-To" in paths["/api/uploads/{upload_id}/"]["patch"]["description"]


def test_a_held_upload_expires_like_an_open_one(
    tus_client: APIClient, scenario: Any, song: Any
) -> None:
    """Nobody decided in time: the decision endpoints answer 410 and the sweep removes it."""
    from datetime import timedelta

    from django.utils import timezone

    from audio.services.uploads import upload_sweep_expired

    data = wav_bytes(seconds=0.2, seed=48)
    _send(tus_client, data, song, "mix", "a.wav")
    held = _send(tus_client, data, song, "mix", "a.wav")
    upload_id = _upload_id(held)
    Upload.objects.filter(pk=upload_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = tus_client.post(f"/api/uploads/{upload_id}/confirm/")
    assert gone.status_code == 410 and gone.json()["code"] == "upload_expired"
    assert Mix.objects.count() == 1
    upload_sweep_expired()
    assert not Upload.objects.filter(pk=upload_id).exists()
