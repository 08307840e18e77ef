"""A task's estimate (issue 16, Time): set on the board's forms and through the task API, carried
by the task's events; a negative or absurd estimate is a 400 with a sentence."""

from __future__ import annotations

import pytest

from eventlog.models import Event
from studio.errors import Invalid
from studio.models import Task
from studio.services.tasks import task_create, task_update

pytestmark = pytest.mark.django_db


def test_service_refuses_negative_and_absurd_estimates(scenario, song):
    producer = scenario.users["producer"]
    with pytest.raises(Invalid, match="cannot be negative"):
        task_create(actor=producer, song=song, title="Comp", estimate_minutes=-5)
    with pytest.raises(Invalid, match="not a plan"):
        task_create(actor=producer, song=song, title="Comp", estimate_minutes=10**9)
    task = task_create(actor=producer, song=song, title="Comp", estimate_minutes=90)
    assert task.estimate_minutes == 90
    event = Event.objects.filter(type="task.created").latest("seq")
    assert event.payload["task"]["estimate_minutes"] == 90
    task_update(actor=producer, task=task, estimate_minutes=None)
    task.refresh_from_db()
    assert task.estimate_minutes is None
    assert (
        Event.objects.filter(type="task.updated").latest("seq").payload["task"]["estimate_minutes"]
        is None
    )


def test_board_forms_set_and_refuse_the_estimate(scenario, song):
    client = scenario.browser("producer")
    pid = scenario.project.pk
    page = client.get(f"/p/{pid}/board/").content.decode()
    assert 'name="estimate_minutes"' in page
    r = client.post(
        f"/p/{pid}/tasks/new/",
        {"title": "Track drums", "song": song.pk, "estimate_minutes": "120"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    task = Task.objects.get(title="Track drums")
    assert task.estimate_minutes == 120
    assert "120 min planned" in client.get(f"/p/{pid}/board/").content.decode()
    r = client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "Track drums", "estimate_minutes": "-3"},
        HTTP_HX_REQUEST="true",
    )
    assert "cannot be negative" in r.content.decode()
    r = client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "Track drums", "estimate_minutes": "two hours"},
        HTTP_HX_REQUEST="true",
    )
    assert "whole number of minutes" in r.content.decode()
    task.refresh_from_db()
    assert task.estimate_minutes == 120
    client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "Track drums", "estimate_minutes": "45"},
        HTTP_HX_REQUEST="true",
    )
    task.refresh_from_db()
    assert task.estimate_minutes == 45
    # A form without the field (an older page) keeps the estimate.
    client.post(f"/tasks/{task.pk}/edit/", {"title": "Drums"}, HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert task.estimate_minutes == 45


def test_task_api_sets_the_estimate_and_answers_400_with_a_sentence(scenario, song):
    client = scenario.client("producer")
    r = client.post(
        "/api/tasks/", {"song": song.pk, "title": "Mix", "estimate_minutes": 240}, format="json"
    )
    assert r.status_code == 201, r.content
    assert r.json()["estimate_minutes"] == 240
    tid = r.json()["id"]
    for bad, words in ((-1, "negative"), (999_999_999, "not a plan"), ("lots", "")):
        r = client.patch(f"/api/tasks/{tid}/", {"estimate_minutes": bad}, format="json")
        assert r.status_code == 400, (bad, r.content)
        assert "estimate_minutes" in r.json()["fields"]
        assert words in r.json()["detail"]
    r = client.patch(f"/api/tasks/{tid}/", {"estimate_minutes": 30}, format="json")
    assert r.json()["estimate_minutes"] == 30
