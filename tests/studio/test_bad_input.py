"""Bad input gets a 4xx with a clear message in the {"code", "detail", "fields"} shape, never a
500, and nothing stored changes."""

from __future__ import annotations

import pytest

from studio.models import Song, Split, Task

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, *needles: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    text = str(body)
    for needle in needles:
        assert needle in text, body
    return body


def test_unknown_stage(scenario, song):
    r = scenario.client("producer").post(
        f"/api/songs/{song.pk}/move/", {"to": "karaoke"}, format="json"
    )
    assert_error(r, 400, "to", "karaoke")


def test_refused_move_answers_409_with_reasons(scenario, song):
    client = scenario.client("producer")
    body = assert_error(
        client.post(f"/api/songs/{song.pk}/move/", {"to": "delivered"}, format="json"),
        409,
        "no approved mix yet",
    )
    assert body["code"] == "stage_gate"
    assert "no composer credited" in body["fields"]["reasons"]


@pytest.mark.parametrize(
    ("shares", "needle"),
    [
        ([{"party": "A", "share": "-10"}], "share"),
        ([{"party": "A", "share": "33.333"}], "decimal"),
        ([{"party": "A", "share": "60"}, {"party": "B", "share": "30"}], "90.00"),
        ([{"party": "A", "share": "abc"}], "number"),
        ("not a list", "shares"),
        ([{"party": "", "share": "100"}], "party"),
    ],
)
def test_bad_splits(scenario, song, shares, needle):
    r = scenario.client("producer").put(
        f"/api/songs/{song.pk}/splits/", {"right": "composition", "shares": shares}, format="json"
    )
    assert_error(r, 400, needle)
    assert not Split.objects.exists()


def test_split_total_names_the_total(scenario, song):
    r = scenario.client("producer").put(
        f"/api/songs/{song.pk}/splits/",
        {"right": "master", "shares": [{"party": "A", "share": "99.5"}]},
        format="json",
    )
    body = assert_error(r, 400, "99.50")
    assert body["code"] == "split_total"


def test_assignee_from_another_project(scenario, song, other_scenario):
    r = scenario.client("producer").post(
        "/api/tasks/",
        {"song": song.pk, "title": "t", "assignee": other_scenario.users["producer"].pk},
        format="json",
    )
    assert_error(r, 400, "assignee", "member")
    assert not Task.objects.exists()


def test_ids_of_another_projects_objects(scenario, other_scenario):
    from studio.services.songs import song_create

    foreign = song_create(
        actor=other_scenario.users["producer"], project=other_scenario.project, title="Theirs"
    )
    client = scenario.client("producer")
    assert_error(
        client.post("/api/tasks/", {"song": foreign.pk, "title": "t"}, format="json"), 400, "song"
    )
    assert_error(
        client.post(
            "/api/songs/", {"project": other_scenario.project.pk, "title": "x"}, format="json"
        ),
        400,
        "project",
    )
    assert_error(client.get(f"/api/songs/{foreign.pk}/"), 404)
    assert_error(client.patch(f"/api/songs/{foreign.pk}/", {"title": "mine"}, format="json"), 404)
    foreign.refresh_from_db()
    assert foreign.title == "Theirs"


def test_overlong_strings_and_wrong_types(scenario, song):
    client = scenario.client("producer")
    assert_error(
        client.post(
            "/api/songs/", {"project": scenario.project.pk, "title": "x" * 201}, format="json"
        ),
        400,
        "title",
    )
    assert_error(
        client.post("/api/songs/", {"project": "abc", "title": "x"}, format="json"), 400, "project"
    )
    assert_error(
        client.post("/api/songs/", {"project": scenario.project.pk, "title": ["x"]}, format="json"),
        400,
        "title",
    )
    assert_error(
        client.post(
            "/api/tasks/", {"song": song.pk, "title": "t", "due_date": "soon"}, format="json"
        ),
        400,
        "due_date",
    )
    assert_error(client.post(f"/api/tasks/{song.pk}/move/", {"status": 5}, format="json"), 404)
    assert_error(client.post("/api/songs/", [1, 2], format="json"), 400, "JSON object")
    assert Song.objects.count() == 1


def test_malformed_json(scenario):
    r = scenario.client("producer").generic(
        "POST", "/api/songs/", "{not json", content_type="application/json"
    )
    assert_error(r, 400, "JSON")


def test_wrong_content_type(scenario):
    r = scenario.client("producer").generic(
        "POST", "/api/songs/", "<x/>", content_type="application/xml"
    )
    assert_error(r, 415)


def test_bad_query_parameters(scenario):
    client = scenario.client("producer")
    assert_error(client.get("/api/songs/?project=abc"), 400, "project")
    assert_error(client.get("/api/tasks/?status=blocked"), 400, "status")
    assert_error(client.get(f"/api/projects/{scenario.project.pk}/events/?after=-1"), 400, "after")
    assert_error(client.get("/api/songs/99999999999999999999999/"), 404)


def test_token_login(scenario, client):
    user = scenario.users["engineer"]
    r = client.post(
        "/api/auth/token/",
        {"username": user.username, "password": "correct-horse-battery"},
        content_type="application/json",
    )
    assert r.status_code == 200
    token = r.json()["token"]
    r = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}")
    assert [p["name"] for p in r.json()["results"]] == ["Night Drive EP"]
    assert_error(
        client.post(
            "/api/auth/token/",
            {"username": user.username, "password": "x"},
            content_type="application/json",
        ),
        400,
        "wrong username",
    )


@pytest.mark.parametrize("value", ["²", "٣", "1e3", " 1", "99999999999999999999", "-1"])
def test_ids_in_query_strings_are_ascii_digits_that_fit(scenario, song, value):
    """str.isdigit() accepts '²', which int() refuses: every such id is a clear 4xx, never a 500."""
    client = scenario.client("producer")
    for url in (
        f"/api/songs/?project={value}",
        f"/api/tasks/?song={value}",
        f"/api/presence/?project={value}",
        f"/api/approvals/state/?mix={value}",
    ):
        assert_error(client.get(url), 400)
    assert_error(client.get(f"/api/projects/{scenario.project.pk}/events/?after={value}"), 400)
    assert client.get(f"/api/songs/{value}/").status_code == 404


@pytest.mark.parametrize("value", ["²", "99999999999999999999"])
def test_pages_take_odd_ids_without_a_500(scenario, song, client, value):
    client.force_login(scenario.users["producer"])
    response = client.get(f"/p/{scenario.project.pk}/board/?assignee={value}")
    assert response.status_code == 200
    response = client.post(
        f"/p/{scenario.project.pk}/tasks/new/", {"song": value, "title": "x", "assignee": value}
    )
    assert response.status_code < 500


@pytest.mark.parametrize(
    "query",
    [
        "limit=23017041305834132636488584177321371067",
        "offset=99999999999999999999",
        "limit=-5&offset=-17283",
        "limit=abc",
    ],
)
def test_pagination_bounds(scenario, query):
    """Huge or odd ?limit= / ?offset= never reach SQL as a bigint overflow (found by
    schemathesis): limits cap at 1000, offsets past the end give an empty page."""
    response = scenario.client("producer").get(
        f"/api/members/?project={scenario.project.pk}&" + query
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) <= 1000
