"""The defects an outside assessment found (issue 13), each reproduced: bad input answers 4xx,
never a 500, and nothing stored changes."""

from __future__ import annotations

import pytest
from django.test import Client

from studio.models import Project

pytestmark = pytest.mark.django_db


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_deeply_nested_json_is_refused_anonymously(depth):
    r = Client(raise_request_exception=False).post(
        "/api/auth/token/", _deep_json(depth), content_type="application/json"
    )
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "parse_error"


def test_deeply_nested_json_is_refused_for_members(scenario, song):
    client = scenario.client("producer")
    r = client.post(
        f"/api/songs/{song.pk}/move/",
        '{"to": ' + _deep_json(5000) + "}",
        content_type="application/json",
    )
    assert r.status_code == 400, r.content


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("post", "/api/songs/{song}/move/", "to"),
        ("put", "/api/songs/{song}/splits/", "right"),
        ("post", "/api/tasks/?x=1", "status"),
    ],
)
def test_lone_surrogate_in_a_choice_field_is_a_400(scenario, song, method, path, field):
    client = scenario.client("producer")
    body = '{"' + field + '": "\\ud800", "song": ' + str(song.pk) + ', "title": "t"}'
    r = getattr(client, method)(path.format(song=song.pk), body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert "\\ud800" not in r.content.decode()


def test_static_traversal_is_a_404():
    r = Client(raise_request_exception=False).get("/static/..%2fvar/secret_key")
    assert r.status_code == 404


@pytest.fixture
def counters():
    """Forget the sign-in counters a test makes (by key: clearing the cache would flush the
    Redis database the broker and the channel layer share)."""
    from django.core.cache import cache

    from studio.services.sign_in import _keys

    used: list[tuple[str, str]] = []
    yield used.append
    for username, address in used:
        cache.delete_many(list(_keys(username, address)))


def test_sign_in_page_refuses_after_repeated_failures(scenario, counters):
    """50 wrong passwords in a row were all answered; now the sixth from one address is a 429,
    the right password is refused too while blocked, and another address is not affected."""
    client = Client(REMOTE_ADDR="192.0.2.1")
    user = scenario.users["producer"]
    counters((user.username, "192.0.2.1"))
    counters((user.username, "192.0.2.9"))
    statuses = [
        client.post("/login/", {"username": user.username, "password": f"wrong{i}"}).status_code
        for i in range(8)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3
    r = client.post("/login/", {"username": user.username, "password": "correct-horse-battery"})
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.content.decode()
    other = Client(REMOTE_ADDR="192.0.2.9")
    r = other.post("/login/", {"username": user.username, "password": "correct-horse-battery"})
    assert r.status_code == 302


def test_token_endpoint_shares_the_counter_and_ignores_forged_forwarded_for(scenario, counters):
    client = Client(raise_request_exception=False, REMOTE_ADDR="192.0.2.2")
    user = scenario.users["engineer"]
    counters((user.username, "192.0.2.2"))
    codes = []
    for i in range(7):
        r = client.post(
            "/api/auth/token/",
            {"username": user.username, "password": "nope"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
        codes.append(r.status_code)
    assert codes[:5] == [400] * 5
    assert codes[5:] == [429, 429]
    assert r.json()["code"] == "throttled"


def test_forwarded_for_is_read_only_behind_a_configured_proxy(settings):
    from studio.services.sign_in import client_address

    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.5"}
    settings.NUM_PROXIES = 0
    assert client_address(meta) == "10.0.0.1"
    settings.NUM_PROXIES = 1
    assert client_address(meta) == "203.0.113.5"
    settings.NUM_PROXIES = 5
    assert client_address(meta) == "198.51.100.7"


def _htmx(client, path, data):
    return client.post(path, data, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize("tempo", ["nan", "NaN", "inf", "-Infinity", "1e999", "sNaN"])
def test_song_form_refuses_tempo_that_is_not_a_number(scenario, song, tempo):
    r = _htmx(
        scenario.browser("producer"), f"/songs/{song.pk}/edit/", {"title": "T", "tempo_bpm": tempo}
    )
    assert r.status_code == 200, r.content
    assert "tempo" in r.content.decode()
    song.refresh_from_db()
    assert song.title != "T"


@pytest.mark.parametrize("start", ["nan", "inf", "-1", "1e999", "nan:00", "1:nan"])
def test_comment_form_refuses_times_that_are_not_times(scenario, song, start):
    from sessions.models import Comment
    from tests.live.conftest import make_mix

    mix = make_mix(song)
    r = _htmx(
        scenario.browser("artist"), f"/mixes/{mix.pk}/comments/", {"body": "x", "start": start}
    )
    assert r.status_code in (200, 400), r.content
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        ("0001-01-01T00:00", "0001-01-01T03:00"),
        ("9999-12-31T22:00", "9999-12-31T23:59"),
        ("nan", "nan"),
    ],
)
def test_session_form_refuses_dates_out_of_range(scenario, song, starts, ends):
    from sessions.models import WorkingSession

    r = _htmx(
        scenario.browser("producer"),
        f"/songs/{song.pk}/sessions/",
        {"kind": "recording", "starts_at": starts, "ends_at": ends},
    )
    assert r.status_code == 200, r.content
    assert not WorkingSession.objects.exists()


@pytest.mark.parametrize("due", ["0001-01-01", "9999-12-31", "nan"])
def test_task_form_refuses_due_dates_out_of_range(scenario, song, due):
    from studio.models import Task

    r = _htmx(
        scenario.browser("producer"),
        f"/p/{scenario.project.pk}/tasks/new/",
        {"title": "Write", "song": song.pk, "due_date": due},
    )
    assert r.status_code == 200, r.content
    assert not Task.objects.exists()


def test_page_forms_keep_the_api_length_limits(scenario):
    client = scenario.browser("producer")
    r = _htmx(client, "/p/new/", {"name": "Big", "description": "x" * 2_000_000})
    assert r.status_code in (200, 400, 413), r.status_code
    assert not Project.objects.filter(name="Big").exists()


def test_every_page_carries_a_content_security_policy_and_its_inline_scripts_the_nonce(
    scenario, song
):
    import re

    client = scenario.browser("producer")
    anonymous = Client()
    for path in (f"/p/{scenario.project.pk}/", f"/songs/{song.pk}/", "/login/", "/api/docs/"):
        r = (anonymous if path == "/login/" else client).get(path)
        assert r.status_code == 200, path
        policy = r["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        html = r.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" in tag or "application/json" in tag:
                continue
            assert f'nonce="{nonce}"' in tag, (path, tag)
    assert (
        client.get(f"/p/{scenario.project.pk}/")["Content-Security-Policy"]
        != r["Content-Security-Policy"]
    )  # a fresh nonce per response


def test_no_template_uses_inline_handlers_the_policy_would_block():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    for template in root.rglob("*.html"):
        text = template.read_text()
        for needle in (" onclick=", " onchange=", " onsubmit=", " onload=", "hx-on"):
            assert needle not in text, (template, needle)


@pytest.mark.parametrize(
    ("detail", "page"),
    [
        ("shares[0].share has more than 2 decimal places", "the share in row 1 has more than 2"),
        ("start_s: 300 s is past the end of the audio", "the start: 300 s is past the end"),
        ("note: say what should change", "say what should change"),
        ("end_s: must be after start_s", "the end must be after the start"),
        ("give the song a title", "give the song a title"),
    ],
)
def test_pages_show_labels_not_api_field_names(detail, page):
    from pages.kit import readable

    assert readable(detail).startswith(page)


def test_a_split_form_error_names_the_row_not_the_path(scenario, song):
    client = scenario.browser("producer")
    r = _htmx(
        client,
        f"/songs/{song.pk}/splits/composition/",
        {"party": ["Ava", "Leo"], "share": ["50.005", "49.995"]},
    )
    text = r.content.decode()
    assert "shares[" not in text
    assert "row 1" in text
