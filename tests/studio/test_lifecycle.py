"""Rename, archive, delete (soft, undoable for 30 days) and purge of projects and songs: the
services and their events, the reads that hide what is deleted, the API, the pages, the purge
in the periodic sweep and the live event an open page hears."""

from __future__ import annotations

import datetime
from typing import Any

import jsonschema
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from audio.jobs.sweep import sweep
from audio.models import Mix
from eventlog.models import Event
from eventlog.schemas import EVENT_SCHEMAS
from sessions.models import Comment
from sessions.services import comment_add
from studio.errors import Conflict, Forbidden, NotFound
from studio.models import Credit, Project, Song, StageChange, Task
from studio.selectors import (
    days_left,
    project_lists_for_member,
    require_capability,
    song_lists_for_project,
)
from studio.services.credits import credit_add
from studio.services.projects import (
    project_archive,
    project_delete,
    project_purge_expired,
    project_restore,
    project_unarchive,
    project_update,
)
from studio.services.songs import (
    song_archive,
    song_create,
    song_delete,
    song_move_stage,
    song_purge_expired,
    song_restore,
    song_unarchive,
    song_update,
)
from studio.services.tasks import task_create
from tests.live.conftest import make_mix

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _last_events(project: Any, n: int) -> list[Event]:
    return list(Event.objects.filter(project_id=project.pk).order_by("-seq")[:n])[::-1]


def _valid(event: Event) -> None:
    jsonschema.validate(event.payload, EVENT_SCHEMAS[event.type])


def _age(obj: Any, days: float) -> None:
    """Pretend `obj` was deleted `days` ago."""
    type(obj).objects.filter(pk=obj.pk).update(deleted_at=timezone.now() - days * DAY)
    obj.refresh_from_db()


@pytest.fixture
def producer(scenario: Any) -> Any:
    return scenario.users["producer"]


# --- services ------------------------------------------------------------------------------
def test_project_rename_and_archive_make_it_read_only_until_unarchived(scenario, producer, song):
    project = project_update(actor=producer, project=scenario.project, name="Renamed EP")
    assert project.name == "Renamed EP"
    project = project_archive(actor=producer, project=project)
    assert project.archived_at is not None
    event = _last_events(project, 1)[0]
    assert event.type == "project.archived" and event.payload["project"]["archived_at"]
    _valid(event)
    for write in (
        lambda: project_update(actor=producer, project=project, name="Again"),
        lambda: song_create(actor=producer, project=project, title="New"),
        lambda: song_update(actor=producer, song=song, title="Other"),
        lambda: task_create(actor=producer, song=song, title="Mix it"),
    ):
        with pytest.raises(Conflict) as refused:
            write()
        assert refused.value.detail == "This project is archived: unarchive it to change it"
        assert refused.value.code == "archived"
    with pytest.raises(Conflict):
        project_archive(actor=producer, project=project)
    # still readable by every member
    assert Project.objects.for_member(scenario.users["viewer"]).filter(pk=project.pk).exists()
    project = project_unarchive(actor=producer, project=project)
    assert project.archived_at is None
    assert _last_events(project, 1)[0].type == "project.unarchived"
    song_update(actor=producer, song=song, title="Works again")


@pytest.mark.parametrize("role", ["engineer", "artist", "viewer"])
def test_only_producers_archive_delete_and_restore(scenario, song, role):
    user = scenario.users[role]
    for action in (
        lambda: project_archive(actor=user, project=scenario.project),
        lambda: project_delete(actor=user, project=scenario.project),
        lambda: song_archive(actor=user, song=song),
        lambda: song_delete(actor=user, song=song),
    ):
        with pytest.raises(Forbidden):
            action()
    song_delete(actor=scenario.users["producer"], song=song)
    with pytest.raises(Forbidden):
        song_restore(actor=user, song=song)
    with pytest.raises(NotFound):
        song_archive(actor=scenario.users["outsider"], song=song)


def test_archived_song_refuses_every_write_with_a_sentence(scenario, producer, song):
    song = song_archive(actor=producer, song=song)
    _valid(_last_events(scenario.project, 1)[0])
    engineer = scenario.users["engineer"]
    for write in (
        lambda: song_update(actor=producer, song=song, title="Other"),
        lambda: song_move_stage(actor=producer, song=song, to="recording"),
        lambda: task_create(actor=producer, song=song, title="Mix it"),
        lambda: credit_add(actor=engineer, song=song, role="composer", contributor_name="A"),
    ):
        with pytest.raises(Conflict) as refused:
            write()
        assert refused.value.detail == "This song is archived: unarchive it to change it"
    lists = song_lists_for_project(project=scenario.project)
    assert lists["archived"] == [song] and lists["active"] == []
    song = song_unarchive(actor=producer, song=song)
    assert _last_events(scenario.project, 1)[0].type == "song.unarchived"
    song_move_stage(actor=producer, song=song, to="recording")


def test_deleted_song_and_everything_on_it_leaves_every_read(scenario, producer, song):
    artist = scenario.users["artist"]
    song_move_stage(actor=producer, song=song, to="recording")
    task = task_create(actor=producer, song=song, title="Comp vocals")
    credit = credit_add(actor=producer, song=song, role="composer", contributor_name="A")
    mix = make_mix(song)
    comment = comment_add(actor=artist, mix=mix, body="Lovely", start_s=1.0)
    other = song_create(actor=producer, project=scenario.project, title="Stays")
    other_task = task_create(actor=producer, song=other, title="Stays too")

    song = song_delete(actor=producer, song=song)
    event = _last_events(scenario.project, 1)[0]
    assert event.type == "song.deleted" and event.payload["song"]["deleted_at"]
    _valid(event)
    for model, obj in (
        (Song, song),
        (Task, task),
        (Credit, credit),
        (StageChange, StageChange.objects.get(song=song)),
        (Mix, mix),
        (Comment, comment),
    ):
        for who in ("producer", "artist", "viewer"):
            visible = model.objects.visible_to(scenario.users[who])
            assert not visible.filter(pk=obj.pk).exists(), f"{model.__name__} for {who}"
    assert list(Task.objects.visible_to(artist)) == [other_task]
    with pytest.raises(NotFound):
        task_create(actor=producer, song=song, title="Too late")
    lists = song_lists_for_project(project=scenario.project)
    assert lists["deleted"] == [song] and lists["active"] == [other]
    assert lists["deleted"][0].days_left == 30

    song = song_restore(actor=producer, song=song)
    assert song.deleted_at is None and song.deleted_by is None
    assert _last_events(scenario.project, 1)[0].type == "song.restored"
    assert Comment.objects.visible_to(artist).filter(pk=comment.pk).exists()
    assert Task.objects.visible_to(artist).filter(pk=task.pk).exists()


def test_restore_is_refused_after_30_days_with_a_sentence(scenario, producer, song):
    song_delete(actor=producer, song=song)
    _age(song, 30.01)
    with pytest.raises(Conflict) as refused:
        song_restore(actor=producer, song=song)
    assert "more than 30 days ago: it can no longer be restored" in refused.value.detail
    project_delete(actor=producer, project=scenario.project)
    _age(scenario.project, 31)
    with pytest.raises(Conflict) as refused:
        project_restore(actor=producer, project=scenario.project)
    assert refused.value.code == "restore_expired"


def test_deleted_project_is_gone_for_everyone_until_restored(scenario, producer, song):
    viewer = scenario.users["viewer"]
    task = task_create(actor=producer, song=song, title="Comp vocals")
    project = project_delete(actor=producer, project=scenario.project)
    event = _last_events(project, 1)[0]
    assert event.type == "project.deleted" and event.actor_id == producer.pk
    _valid(event)
    for who in ("producer", "viewer"):
        user = scenario.users[who]
        assert not Project.objects.for_member(user).exists()
        assert not Song.objects.visible_to(user).exists()
        assert not Task.objects.visible_to(user).filter(pk=task.pk).exists()
        assert not project.memberships.model.objects.visible_to(user).exists()
    with pytest.raises(NotFound):
        require_capability(user=viewer, project_id=project.pk, capability="view")
    with pytest.raises(NotFound):
        song_update(actor=producer, song=song, title="No")
    lists = project_lists_for_member(user=producer)
    assert lists["active"] == [] and [p.pk for p in lists["deleted"]] == [project.pk]
    assert project_lists_for_member(user=viewer)["deleted"] == []  # producers restore

    project = project_restore(actor=producer, project=project)
    assert _last_events(project, 1)[0].type == "project.restored"
    assert Task.objects.visible_to(viewer).filter(pk=task.pk).exists()


def test_lists_split_active_archived_and_deleted(scenario, producer, other_scenario):
    second = other_scenario.project
    project_archive(actor=other_scenario.users["producer"], project=second)
    # a producer of both: one active, one archived
    from studio.services.projects import member_add

    member_add(
        actor=other_scenario.users["producer"],
        project=second,
        username=producer.username,
        role="producer",
    )
    a = song_create(actor=producer, project=scenario.project, title="A")
    song_create(actor=producer, project=scenario.project, title="B")
    song_delete(actor=producer, song=a)
    lists = project_lists_for_member(user=producer)
    assert [p.pk for p in lists["active"]] == [scenario.project.pk]
    assert lists["active"][0].songs_n == 1  # the deleted song is not counted
    assert [p.pk for p in lists["archived"]] == [second.pk]


def test_days_left_counts_whole_days_up():
    now = timezone.now()
    assert days_left(now, now) == 30
    assert days_left(now - 29.5 * DAY, now) == 1
    assert days_left(now - 30 * DAY, now) == 0


def test_delete_event_is_broadcast_on_commit(
    scenario, producer, song, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        song_delete(actor=producer, song=song)
    assert len(callbacks) == 1
    event = _last_events(scenario.project, 1)[0]
    assert callbacks[0].args == (event.pk,)


# --- purge -----------------------------------------------------------------------------------
def test_the_periodic_sweep_purges_what_was_deleted_30_days_ago(scenario, producer, song):
    mix = make_mix(song)
    task = task_create(actor=producer, song=song, title="Goes too")
    recent = song_create(actor=producer, project=scenario.project, title="Recent")
    song_delete(actor=producer, song=song)
    song_delete(actor=producer, song=recent)
    _age(song, 30.5)
    _age(recent, 29)
    counts = sweep()
    assert counts["songs_purged"] == 1 and counts["projects_purged"] == 0
    assert not Song.objects.filter(pk=song.pk).exists()
    assert not Mix.objects.filter(pk=mix.pk).exists()
    assert not Task.objects.filter(pk=task.pk).exists()
    assert Song.objects.filter(pk=recent.pk).exists()
    event = _last_events(scenario.project, 1)[0]
    assert event.type == "song.purged" and event.actor_id is None
    _valid(event)
    assert sweep()["songs_purged"] == 0


def test_purge_removes_a_project_with_all_it_holds(scenario, producer, song, other_scenario):
    make_mix(song)
    project_delete(actor=producer, project=scenario.project)
    project_delete(actor=other_scenario.users["producer"], project=other_scenario.project)
    _age(scenario.project, 31)
    assert project_purge_expired() == 1
    assert not Project.objects.filter(pk=scenario.project.pk).exists()
    assert not Song.objects.filter(pk=song.pk).exists()
    assert Project.objects.filter(pk=other_scenario.project.pk).exists()  # 30 days not up
    assert song_purge_expired() == 0


# --- API -------------------------------------------------------------------------------------
def test_api_song_delete_restore_archive(scenario, song):
    client = scenario.client("producer")
    artist = scenario.client("artist")
    task_create(actor=scenario.users["producer"], song=song, title="T")
    assert client.delete(f"/api/songs/{song.pk}/").status_code == 204
    assert artist.get(f"/api/songs/{song.pk}/").status_code == 404
    listed = artist.get(f"/api/songs/?project={scenario.project.pk}").json()["results"]
    assert listed == []
    assert artist.get(f"/api/tasks/?song={song.pk}").json()["results"] == []
    assert client.delete(f"/api/songs/{song.pk}/").status_code == 404
    refused = artist.post(f"/api/songs/{song.pk}/restore/")
    assert refused.status_code == 403
    restored = client.post(f"/api/songs/{song.pk}/restore/")
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert artist.get(f"/api/songs/{song.pk}/").status_code == 200

    archived = client.post(f"/api/songs/{song.pk}/archive/")
    assert archived.status_code == 200 and archived.json()["archived_at"]
    again = client.post(f"/api/songs/{song.pk}/archive/")
    assert again.status_code == 409
    patch = client.patch(f"/api/songs/{song.pk}/", {"title": "X"}, format="json")
    assert patch.status_code == 409
    assert patch.json()["code"] == "archived"
    assert patch.json()["detail"] == "This song is archived: unarchive it to change it"
    assert client.post(f"/api/songs/{song.pk}/unarchive/").status_code == 200
    assert client.patch(f"/api/songs/{song.pk}/", {"title": "X"}, format="json").status_code == 200


def test_api_restore_after_30_days_is_a_409(scenario, song):
    client = scenario.client("producer")
    client.delete(f"/api/songs/{song.pk}/")
    _age(song, 31)
    response = client.post(f"/api/songs/{song.pk}/restore/")
    assert response.status_code == 409
    assert response.json()["code"] == "restore_expired"


def test_api_project_lifecycle(scenario):
    client = scenario.client("producer")
    viewer = scenario.client("viewer")
    pid = scenario.project.pk
    renamed = client.patch(f"/api/projects/{pid}/", {"name": "New name"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "New name"
    assert client.post(f"/api/projects/{pid}/archive/").json()["archived_at"]
    refused = client.patch(f"/api/projects/{pid}/", {"name": "Again"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "archived"
    assert "unarchive it to change it" in refused.json()["detail"]
    assert client.post(f"/api/projects/{pid}/unarchive/").status_code == 200
    assert viewer.delete(f"/api/projects/{pid}/").status_code == 403
    assert client.delete(f"/api/projects/{pid}/").status_code == 204
    assert viewer.get(f"/api/projects/{pid}/").status_code == 404
    assert client.get("/api/projects/").json()["results"] == []
    assert client.post(f"/api/projects/{pid}/archive/").status_code == 404
    assert client.post(f"/api/projects/{pid}/restore/").status_code == 200
    assert viewer.get(f"/api/projects/{pid}/").status_code == 200
    # restore only finds deleted projects
    assert client.post(f"/api/projects/{pid}/restore/").status_code == 404


def test_api_schema_documents_the_lifecycle_routes(scenario):
    schema = scenario.client("producer").get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in (
        "/api/projects/{id}/archive/",
        "/api/projects/{id}/unarchive/",
        "/api/projects/{id}/restore/",
        "/api/songs/{id}/archive/",
        "/api/songs/{id}/unarchive/",
        "/api/songs/{id}/restore/",
    ):
        assert "post" in paths[path], path
    assert "delete" in paths["/api/projects/{id}/"]


# --- pages -----------------------------------------------------------------------------------
HX = {"HTTP_HX_REQUEST": "true"}


def test_song_head_delete_shows_the_notice_with_undo_for_producers(scenario, song):
    producer = scenario.browser("producer")
    response = producer.post(f"/songs/{song.pk}/delete/", **HX, HTTP_HX_TARGET="song-head")
    body = response.content.decode()
    assert response.status_code == 200
    assert "This song was deleted" in body and "Undo" in body and "30 more days" in body
    # the artist's open page refetches the head when it hears song.deleted
    head = scenario.browser("artist").get(f"/songs/{song.pk}/?part=head", **HX)
    assert head.status_code == 200
    assert "This song was deleted" in head.content.decode()
    assert "Undo" not in head.content.decode()
    assert scenario.browser("artist").get(f"/songs/{song.pk}/").status_code == 404
    undo = producer.post(f"/songs/{song.pk}/restore/", **HX, HTTP_HX_TARGET="song-head")
    assert undo.status_code == 200 and "This song was deleted" not in undo.content.decode()
    assert scenario.browser("artist").get(f"/songs/{song.pk}/").status_code == 200


def test_dashboard_lists_archived_and_recently_deleted_songs(scenario, song):
    producer_id = scenario.users["producer"]
    gone = song_create(actor=producer_id, project=scenario.project, title="Gone song")
    song_archive(actor=producer_id, song=song)
    song_delete(actor=producer_id, song=gone)
    page = scenario.browser("producer").get(f"/p/{scenario.project.pk}/").content.decode()
    assert "Archived" in page and "Recently deleted" in page
    assert "Gone song" in page and "30 days left" in page
    assert f"/songs/{gone.pk}/restore/" in page
    artist = scenario.browser("artist").get(f"/p/{scenario.project.pk}/").content.decode()
    assert 'id="deleted-songs"' not in artist and f"/songs/{gone.pk}/restore/" not in artist
    shelf = scenario.browser("producer").post(
        f"/songs/{gone.pk}/restore/", **HX, HTTP_HX_TARGET="song-shelf"
    )
    assert shelf.status_code == 200 and "Gone song" not in shelf.content.decode()
    pipeline = scenario.browser("artist").get(f"/p/{scenario.project.pk}/?part=songs", **HX)
    assert "Gone song" in pipeline.content.decode()
    assert song.title not in pipeline.content.decode()  # archived: not in the pipeline


def test_project_pages_rename_archive_delete_and_undo(scenario):
    pid = scenario.project.pk
    producer = scenario.browser("producer")
    empty = producer.post(f"/p/{pid}/edit/", {"name": " "}, **HX)
    assert empty.status_code == 200 and "name the project" in empty.content.decode()
    long = producer.post(f"/p/{pid}/edit/", {"name": "x" * 201}, **HX)
    assert "at most 200 characters" in long.content.decode()
    head = producer.post(
        f"/p/{pid}/edit/",
        {"name": "Second EP", "description": "d"},
        **HX,
        HTTP_HX_TARGET="project-head",
    )
    assert "Second EP" in head.content.decode()
    head = producer.post(f"/p/{pid}/archive/", **HX, HTTP_HX_TARGET="project-head")
    assert "read-only until a producer unarchives it" in head.content.decode()
    listing = producer.get("/").content.decode()
    assert "Archived" in listing and "Second EP" in listing
    refused = producer.post(f"/p/{pid}/edit/", {"name": "Third"}, **HX)
    assert refused.status_code == 409
    assert "This project is archived: unarchive it to change it" in refused.content.decode()
    producer.post(f"/p/{pid}/unarchive/", **HX, HTTP_HX_TARGET="project-head")
    head = producer.post(f"/p/{pid}/delete/", **HX, HTTP_HX_TARGET="project-head")
    assert "This project was deleted" in head.content.decode() and "Undo" in head.content.decode()
    viewer_head = scenario.browser("viewer").get(f"/p/{pid}/?part=head", **HX).content.decode()
    assert "This project was deleted" in viewer_head and "Undo" not in viewer_head
    assert scenario.browser("viewer").get(f"/p/{pid}/").status_code == 404
    assert scenario.browser("outsider").get(f"/p/{pid}/?part=head", **HX).status_code == 404
    listing = producer.get("/").content.decode()
    assert "Recently deleted" in listing and f"/p/{pid}/restore/" in listing
    assert "Recently deleted" not in scenario.browser("viewer").get("/").content.decode()
    restored = producer.post(f"/p/{pid}/restore/", **HX)
    assert restored.status_code == 204 and restored["HX-Refresh"] == "true"
    assert scenario.browser("viewer").get(f"/p/{pid}/").status_code == 200


# --- live --------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_an_open_page_hears_the_song_deleted_and_restored(scenario):
    from tests.live.test_consumer import _comm, _frames

    producer = scenario.users["producer"]
    song = song_create(actor=producer, project=scenario.project, title="Live one")
    comm = _comm(scenario.project.pk, scenario.users["artist"], "after=0")

    async def body() -> None:
        assert (await comm.connect())[0]
        await _frames(comm)
        await sync_to_async(song_delete)(actor=producer, song=song)
        await sync_to_async(song_restore)(actor=producer, song=song)
        live = await _frames(comm)
        assert [f["type"] for f in live] == ["song.deleted", "song.restored"]
        assert live[0]["payload"]["song"]["id"] == song.pk
        await comm.disconnect()

    async_to_sync(body)()


def test_an_archived_song_refuses_every_write_of_the_other_rooms(scenario: Any) -> None:
    """Comments, approvals, working sessions, keepers, mixes, renders and references all check
    the song's state: an archived song is read-only wherever the write comes from."""
    from audio.services.masters import reference_add
    from audio.services.mixes import mix_create
    from audio.services.renders import draft_create
    from sessions.services import approval_give, session_schedule, take_set_keeper
    from tests.audio import authz

    producer = scenario.users["producer"]
    mix = authz._mix(scenario)
    take = authz._take(scenario)
    asset = authz._fresh_asset(scenario)
    song = mix.song
    comment = comment_add(actor=scenario.users["artist"], mix=mix, body="Before", start_s=0.1)
    from sessions.services import comment_edit

    song_archive(actor=producer, song=song)
    start = timezone.now() + datetime.timedelta(days=1)
    writes = {
        "comment": lambda: comment_add(actor=producer, mix=mix, body="After", start_s=0.1),
        "approval": lambda: approval_give(
            actor=scenario.users["artist"], mix=mix, verdict="approved"
        ),
        "session": lambda: session_schedule(
            actor=producer,
            song=song,
            kind="recording",
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=1),
        ),
        "keeper": lambda: take_set_keeper(actor=producer, take=take),
        "comment edit": lambda: comment_edit(
            actor=scenario.users["artist"], comment=comment, body="Edited"
        ),
        "mix": lambda: mix_create(actor=producer, song=song, asset=asset),
        "draft": lambda: draft_create(actor=producer, song=song, from_keepers=True),
        "reference": lambda: reference_add(actor=producer, song=song, asset=asset, title="R"),
    }
    for write in writes.values():
        with pytest.raises(Conflict, match="This song is archived"):
            write()
    assert list(Comment.objects.filter(mix=mix)) == [comment]
