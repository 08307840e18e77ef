"""List endpoints: the same number of queries for 2 rows and for 20 (no N+1), and the event log
read in order after a seq."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.services import credits, rights, songs, tasks

pytestmark = pytest.mark.django_db


def fill(scenario, n: int) -> None:
    producer = scenario.users["producer"]
    for i in range(n):
        song = songs.song_create(actor=producer, project=scenario.project, title=f"s{i}")
        tasks.task_create(
            actor=producer, song=song, title=f"t{i}", assignee=scenario.users["artist"]
        )
        credits.credit_add(
            actor=producer,
            song=song,
            role="composer",
            contributor_name="A",
            user=scenario.users["artist"],
        )
        rights.sample_use_add(actor=producer, song=song, source_work="W", kind="sample")


LISTS = [
    "/api/projects/",
    "/api/songs/?project={p}",
    "/api/tasks/?project={p}",
    "/api/credits/?project={p}",
    "/api/sample-uses/?project={p}",
    "/api/members/?project={p}",
    "/api/projects/{p}/events/",
]


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", LISTS)
def test_list_queries_do_not_grow_with_rows(scenario, url):
    client = scenario.client("viewer")
    url = url.format(p=scenario.project.pk)
    fill(scenario, 2)
    small = count_queries(client, url)
    fill(scenario, 18)
    assert count_queries(client, url) == small


def test_events_after_a_seq_come_in_order(scenario):
    client = scenario.client("artist")
    fill(scenario, 3)
    page = client.get(f"/api/projects/{scenario.project.pk}/events/?after=4&limit=5").json()
    seqs = [e["seq"] for e in page["events"]]
    assert seqs == [5, 6, 7, 8, 9]
    assert page["more"] is True
    assert page["epoch"] == scenario.project.event_epoch
    assert page["last_seq"] >= 9
    rest = client.get(f"/api/projects/{scenario.project.pk}/events/?after=9&limit=1000").json()
    assert [e["seq"] for e in rest["events"]] == list(range(10, page["last_seq"] + 1))
    assert rest["more"] is False


def test_gates_endpoint_lists_every_stage_with_reasons(scenario, song):
    response = scenario.client("viewer").get(f"/api/songs/{song.pk}/gates/")
    rows = {row["stage"]: row for row in response.json()}
    assert rows["pre_production"]["direction"] == "current"
    assert rows["recording"]["allowed"] is True
    assert rows["mastering"]["reasons"] == ["no approved mix yet"]
    assert "no approved master yet" in rows["delivered"]["reasons"]
