"""Tasks on the board (issue 13): a task has the stage it was made for (default: the song's), a
description, can be edited and deleted with an event, the board filters by its stage, and a
viewer is never offered or accepted as an assignee."""

from __future__ import annotations

import pytest

from eventlog.models import Event
from studio.models import Task
from studio.services.songs import song_move_stage
from studio.services.tasks import task_create

pytestmark = pytest.mark.django_db


def _post(client, path, data):
    return client.post(path, data, HTTP_HX_REQUEST="true")


def test_task_keeps_its_stage_when_the_song_moves_and_the_board_filters_by_it(scenario, song):
    client = scenario.browser("producer")
    pid = scenario.project.pk
    r = _post(
        client,
        f"/p/{pid}/tasks/new/",
        {"title": "Print the mix", "song": song.pk, "stage": "mixing", "description": "Stems"},
    )
    assert r.status_code == 200
    _post(client, f"/p/{pid}/tasks/new/", {"title": "Write lyrics", "song": song.pk})
    made = {t.title: t for t in Task.objects.all()}
    assert made["Print the mix"].stage == "mixing"
    assert made["Print the mix"].description == "Stems"
    assert made["Write lyrics"].stage == song.stage  # the default: the song's stage
    for stage in ("recording", "editing", "mixing"):
        song_move_stage(
            actor=scenario.users["producer"], song=song, to=stage, override_reason="planning"
        )
    board = client.get(f"/p/{pid}/board/?stage=mixing").content.decode()
    assert "Print the mix" in board and "Write lyrics" not in board
    board = client.get(f"/p/{pid}/board/?stage=pre_production").content.decode()
    assert "Write lyrics" in board and "Print the mix" not in board


def test_edit_stage_and_description_then_delete(scenario, song):
    producer = scenario.users["producer"]
    task = task_create(actor=producer, song=song, title="Comp vocals")
    client = scenario.browser("producer")
    r = _post(
        client,
        f"/tasks/{task.pk}/edit/",
        {"title": "Comp lead vocals", "stage": "editing", "description": "Take 3 is the keeper"},
    )
    assert r.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.stage, task.description) == (
        "Comp lead vocals",
        "editing",
        "Take 3 is the keeper",
    )
    assert "Take 3 is the keeper" in r.content.decode()
    r = _post(client, f"/tasks/{task.pk}/edit/", {"title": "x", "stage": "karaoke"})
    assert "unknown stage" in r.content.decode()
    r = _post(client, f"/tasks/{task.pk}/delete/", {})
    assert r.status_code == 200
    assert not Task.objects.filter(pk=task.pk).exists()
    assert Event.objects.filter(type="task.deleted", payload__task__id=task.pk).exists()
    assert _post(client, f"/tasks/{task.pk}/delete/", {}).status_code == 404


def test_only_producers_delete_tasks(scenario, song):
    task = task_create(actor=scenario.users["producer"], song=song, title="Keep me")
    for who, status in (("engineer", 403), ("artist", 403), ("viewer", 403), ("outsider", 404)):
        assert _post(scenario.browser(who), f"/tasks/{task.pk}/delete/", {}).status_code == status
    assert Task.objects.filter(pk=task.pk).exists()


def test_viewers_are_not_assignees(scenario, song):
    viewer = scenario.users["viewer"]
    client = scenario.browser("producer")
    board = client.get(f"/p/{scenario.project.pk}/board/").content.decode()
    new_task_form = board[board.index('id="task-assignee"') :][:2000]
    assert f'value="{viewer.pk}"' not in new_task_form.split("</select>")[0]
    r = _post(
        client,
        f"/p/{scenario.project.pk}/tasks/new/",
        {"title": "Listen", "song": song.pk, "assignee": viewer.pk},
    )
    assert "viewer cannot be given tasks" in r.content.decode()
    assert not Task.objects.exists()
    engineer = scenario.users["engineer"]
    _post(
        client,
        f"/p/{scenario.project.pk}/tasks/new/",
        {"title": "Mix", "song": song.pk, "assignee": engineer.pk},
    )
    assert Task.objects.get().assignee == engineer


def test_approval_reasons_count_artists_in_words(scenario, song):
    """ "1 artist(s) have not approved yet" read like a form; the count is spelled out."""
    from sessions.services.approvals import approval_state
    from tests.live.conftest import make_mix

    mix = make_mix(song)
    assert "1 artist has not approved yet" in approval_state(mix).reasons


def test_open_tasks_hold_the_move_until_a_producer_overrides_with_a_reason(scenario, song):
    from studio.models import StageChange
    from studio.services.tasks import task_move

    producer = scenario.users["producer"]
    task = task_create(actor=producer, song=song, title="Demo vocal")
    client = scenario.browser("producer")
    page = client.get(f"/songs/{song.pk}/?part=stage").content.decode()
    assert "1 open pre-production task" in page and "Move on anyway" in page
    r = client.post(
        f"/api/songs/{song.pk}/move/", {"to": "recording"}, content_type="application/json"
    )
    assert r.status_code == 409
    body = r.json()
    assert body["fields"]["reasons"] == ["1 open pre-production task"]
    assert body["fields"]["checks"][0]["overridable"] is True
    r = _post(client, f"/songs/{song.pk}/move/", {"to": "recording", "override_reason": " "})
    assert "say why" in r.content.decode()
    song.refresh_from_db()
    assert song.stage == "pre_production"
    r = _post(
        client,
        f"/songs/{song.pk}/move/",
        {"to": "recording", "override_reason": "the demo vocal waits for the artist"},
    )
    assert r.status_code == 200
    song.refresh_from_db()
    assert song.stage == "recording"
    change = StageChange.objects.get(song=song, to_stage="recording")
    assert change.reason.startswith("Override (pre-production tasks done): the demo vocal")
    assert "Override (pre-production tasks done)" in r.content.decode()
    # Done tasks do not hold a move; the next stage's checklist says nothing blocks it.
    task_move(actor=producer, task=task, status="done")
    assert (
        "Nothing blocks this move" in client.get(f"/songs/{song.pk}/?part=stage").content.decode()
    )


def test_a_project_adds_its_own_gate_checks(scenario, song):
    client = scenario.browser("producer")
    pid = scenario.project.pk
    assert "Stage gates" in client.get(f"/p/{pid}/").content.decode()
    r = _post(client, f"/p/{pid}/gates/", {"gate_checks": ["", "stems_uploaded"]})
    assert r.status_code == 200
    scenario.project.refresh_from_db()
    assert scenario.project.gate_checks == ["stems_uploaded"]
    assert Event.objects.filter(type="project.updated").exists()
    from studio.services.songs import song_move_stage as move

    move(actor=scenario.users["producer"], song=song, to="recording")
    r = client.post(
        f"/api/songs/{song.pk}/move/", {"to": "editing"}, content_type="application/json"
    )
    assert r.status_code == 409
    assert r.json()["fields"]["reasons"] == ["no stems or takes uploaded yet"]
    r = client.post(
        f"/api/songs/{song.pk}/move/",
        {"to": "editing", "override_reason": "no"},
        content_type="application/json",
    )
    assert r.status_code == 409  # a project's own checks are not overridden
    r = client.patch(
        f"/api/projects/{pid}/", {"gate_checks": ["nope"]}, content_type="application/json"
    )
    assert r.status_code == 400
    assert _post(scenario.browser("engineer"), f"/p/{pid}/gates/", {}).status_code == 403
