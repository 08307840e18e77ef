"""The review link as its holder and the team see it: the link opens from its fragment into an
HttpOnly cookie, the player streams only the recipient's watermarked copy (Range), plays,
listening and comments are recorded and told to the team live, a revoked, expired, unknown or
guessed token gets one and the same 404, every other route a link holder might try is refused,
the token never reaches a log, the pages are rate-limited, and a leaked copy uploaded on the
team's page is traced back to its recipient."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from audio import storage
from audio.jobs import runner
from eventlog.models import Event
from reviewlinks import public
from reviewlinks.models import ReviewAccess, ReviewLink, ReviewSettings
from studio.models import Membership
from tests.delivery.helpers import mastered_song

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(autouse=True)
def _fresh_limits() -> Any:
    cache.clear()
    yield
    cache.clear()


def _member(s: Any, who: str) -> Client:
    client = Client()
    client.force_login(s.users[who])
    return client


def _send(s: Any, *, who: str = "producer", **form: str) -> tuple[ReviewLink, str]:
    master = mastered_song(s, "Night Drive", seconds=12.0, seed=5).masters.get()
    data = {
        "version": f"master:{master.pk}",
        "recipient_name": "Ana (A&R)",
        "recipient_email": "ana@label.test",
        "note": "For the label",
        "expires_in_days": "30",
        **form,
    }
    r = _member(s, who).post(f"/p/{s.project.pk}/review-links/send/", data)
    assert r.status_code == 200, r.content
    url = re.search(rb'id="sent-url" readonly value="([^"]+)"', r.content)
    assert url is not None, r.content.decode()[:2000]
    token = url.group(1).decode().split("#", 1)[1]
    return ReviewLink.objects.filter(project=s.project).order_by("-id").first(), token


def _page(content: bytes) -> bytes:
    """The page without its CSRF token and CSP nonce (new for every response)."""
    return re.sub(rb"[A-Za-z0-9]{32,}", b"", re.sub(rb'nonce="[^"]*"', b"", content))


def _holder(token: str) -> Client:
    client = Client(enforce_csrf_checks=False)
    r = client.post("/r/open/", {"token": token})
    assert r.status_code == 204
    cookie = r.cookies[public.COOKIE]
    assert cookie["httponly"] and cookie["path"] == "/r/"
    return client


@pytest.mark.django_db
def test_the_holder_hears_only_their_watermarked_copy_and_comments_reach_the_team(
    scenario: Any,
) -> None:
    link, token = _send(scenario)
    holder = _holder(token)
    page = holder.get("/r/")
    assert page.status_code == 200 and b"Preparing your copy" in page.content
    assert holder.get("/r/audio/").status_code == 404  # nothing to hear until it is marked
    assert runner.run_job(link.job_id) == "done"
    link.refresh_from_db()
    page = holder.get("/r/")
    assert page.status_code == 200 and b'id="review-audio"' in page.content
    assert b"ana@label.test" not in page.content  # the team's data stays with the team
    r = holder.get("/r/audio/", HTTP_RANGE="bytes=0-99")
    assert r.status_code == 206 and r["Content-Type"] == "audio/wav"
    assert r["Content-Range"].startswith("bytes 0-99/")
    whole = b"".join(holder.get("/r/audio/").streaming_content)
    assert hashlib.sha256(whole).hexdigest() == link.marked_asset.sha256
    assert hashlib.sha256(whole).hexdigest() != link.master.asset.sha256
    assert holder.get("/r/download/").status_code == 404  # download not allowed
    assert holder.post("/r/listen/", {"kind": "play", "position": "0"}).status_code == 204
    assert holder.post("/r/listen/", {"kind": "progress", "position": "9.5"}).status_code == 204
    assert holder.post("/r/listen/", {"kind": "progress", "position": "nan"}).status_code == 400
    assert holder.post("/r/listen/", {"kind": "rewind"}).status_code == 400
    r = holder.post("/r/comments/", {"body": "The bridge is great", "start": "4.2"})
    assert r.status_code == 200 and b"The bridge is great" in r.content
    assert holder.post("/r/comments/", {"body": " ", "start": "1"}).status_code == 400
    event = Event.objects.get(project=scenario.project, type="review_link.commented")
    assert event.payload["comment"]["from_outside"] is True
    team = _member(scenario, "engineer").get(f"/p/{scenario.project.pk}/review-links/")
    assert team.status_code == 200
    assert b"The bridge is great" in team.content and b"(outside)" in team.content
    assert re.search(rb'class="plays">1<', team.content)
    assert ReviewAccess.objects.filter(link=link, kind="stream").exists()


@pytest.mark.django_db
def test_a_play_limit_and_an_allowed_download(scenario: Any) -> None:
    link, token = _send(scenario, play_limit="1")
    ReviewLink.objects.filter(pk=link.pk).update(download_allowed=True)
    runner.run_job(link.job_id)
    holder = _holder(token)
    r = holder.get("/r/download/")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    assert holder.post("/r/listen/", {"kind": "play", "position": "0"}).status_code == 204
    assert b"reached its play limit" in holder.get("/r/").content
    assert holder.get("/r/audio/").status_code == 404
    assert holder.post("/r/listen/", {"kind": "play", "position": "0"}).status_code == 404


@pytest.mark.django_db
def test_revoked_expired_unknown_and_guessed_tokens_get_the_same_404(scenario: Any) -> None:
    link, token = _send(scenario)
    runner.run_job(link.job_id)
    holder = _holder(token)
    unknown = Client()
    baseline = unknown.get("/r/")
    assert baseline.status_code == 404
    for guess in ("", "A" * 43, token[:-2] + "xx", token + "x"):
        r = unknown.post("/r/open/", {"token": guess})
        assert r.status_code == 404 and _page(r.content) == _page(baseline.content)
    _member(scenario, "producer").post(f"/review-links/{link.pk}/revoke/")
    for method, path in (
        ("get", "/r/"),
        ("get", "/r/audio/"),
        ("get", "/r/download/"),
        ("post", "/r/comments/"),
        ("post", "/r/listen/"),
    ):
        r = getattr(holder, method)(path, {"body": "x", "kind": "play"} if method == "post" else {})
        assert r.status_code == 404 and _page(r.content) == _page(baseline.content), path
    assert _page(unknown.post("/r/open/", {"token": token}).content) == _page(baseline.content)
    other, other_token = _send(scenario, recipient_name="Press")
    ReviewLink.objects.filter(pk=other.pk).update(expires_at=timezone.now())
    r = Client().post("/r/open/", {"token": other_token})
    assert _page(r.content) == _page(baseline.content)


@pytest.mark.django_db
def test_a_link_holder_reaches_nothing_else(scenario: Any) -> None:
    """The cookie is not a sign-in: the clean file, the marked file by its asset id, the API,
    the team's pages and the websocket's HTTP route refuse it, as they refuse anyone."""
    link, token = _send(scenario)
    runner.run_job(link.job_id)
    link.refresh_from_db()
    holder = _holder(token)
    for path in (
        f"/api/assets/{link.master.asset_id}/file/",
        f"/api/assets/{link.marked_asset_id}/file/",
        f"/api/masters/{link.master_id}/",
        f"/api/projects/{scenario.project.pk}/",
        "/api/review-links/",
    ):
        assert holder.get(path).status_code in (401, 403, 404), path
    for path in (
        f"/p/{scenario.project.pk}/review-links/",
        f"/p/{scenario.project.pk}/",
        f"/masters/{link.master_id}/",
    ):
        r = holder.get(path)
        assert r.status_code in (302, 404), path
        if r.status_code == 302:
            assert "/login" in r["Location"] or "/accounts/" in r["Location"]


@pytest.mark.django_db
def test_tokens_never_reach_a_log(scenario: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    link, token = _send(scenario)
    runner.run_job(link.job_id)
    holder = _holder(token)
    holder.get("/r/")
    holder.get("/r/audio/", HTTP_RANGE="bytes=0-9")
    holder.post("/r/comments/", {"body": "hi", "start": "1"})
    _member(scenario, "producer").post(f"/review-links/{link.pk}/revoke/")
    holder.get("/r/")
    Client().post("/r/open/", {"token": token})
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert token not in text
    assert token not in "".join(str(e.payload) for e in Event.objects.all())
    # and the paths the access log prints carry none: the token lives in the fragment and cookie
    assert all(token not in p for p in ("/r/", "/r/open/", "/r/audio/", "/r/comments/"))


@pytest.mark.django_db
def test_link_pages_are_rate_limited(scenario: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(public.LIMITS, "page", 3)
    client = Client()
    codes = [client.get("/r/").status_code for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]


@pytest.mark.django_db
def test_a_leaked_copy_uploaded_on_the_page_names_its_recipient(scenario: Any) -> None:
    link, _ = _send(scenario)
    runner.run_job(link.job_id)
    link.refresh_from_db()
    engineer = _member(scenario, "engineer")
    with storage.asset_path(link.marked_asset) as path, path.open("rb") as fh:
        r = engineer.post(f"/p/{scenario.project.pk}/review-links/trace/", {"file": fh})
    assert r.status_code == 302
    trace_job = Event.objects.filter(type="leak_trace.started").get().payload["job"]
    assert runner.run_job(trace_job) == "done"
    page = engineer.get(f"/p/{scenario.project.pk}/review-links/")
    assert re.search(rb'data-found="yes"', page.content)
    assert b"confidence" in page.content and b"Ana (A&amp;R)" in page.content
    r = engineer.post(f"/p/{scenario.project.pk}/review-links/trace/", {})
    assert r.status_code == 200 and b"choose the file you found" in r.content
    artist = _member(scenario, "artist").get(f"/p/{scenario.project.pk}/review-links/")
    assert artist.status_code == 403
    outsider = _member(scenario, "outsider").get(f"/p/{scenario.project.pk}/review-links/")
    assert outsider.status_code == 404


@pytest.mark.django_db
def test_the_player_offers_a_review_copy_to_who_may_send_one(scenario: Any) -> None:
    master = mastered_song(scenario, "Intro", seconds=2.0).masters.get()
    url = f"/masters/{master.pk}/"
    assert b'id="send-review-copy"' in _member(scenario, "engineer").get(url).content
    assert b'id="send-review-copy"' not in _member(scenario, "artist").get(url).content
    form = _member(scenario, "producer").get(
        f"/p/{scenario.project.pk}/review-links/?version=master:{master.pk}"
    )
    assert f'value="master:{master.pk}" selected'.encode() in form.content


@pytest.mark.django_db
def test_the_producer_sets_whether_links_outlive_their_senders_role(scenario: Any) -> None:
    _link, token = _send(scenario, who="engineer")
    Membership.objects.filter(project=scenario.project, user=scenario.users["engineer"]).update(
        role="viewer"
    )
    assert Client().post("/r/open/", {"token": token}).status_code == 404
    url = f"/p/{scenario.project.pk}/review-links/settings/"
    assert _member(scenario, "producer").post(url, {}).status_code == 302  # box unticked
    assert ReviewSettings.objects.get(project=scenario.project).stop_on_role_loss is False
    assert Client().post("/r/open/", {"token": token}).status_code == 204
    assert Event.objects.filter(type="review_settings.changed").count() == 1
    assert _member(scenario, "engineer").post(url, {"stop_on_role_loss": "1"}).status_code == 403
    page = _member(scenario, "producer").get(f"/p/{scenario.project.pk}/review-links/")
    assert b'name="stop_on_role_loss" value="1"  ' in page.content  # shown unticked


@pytest.mark.django_db
def test_the_songs_audio_panel_lists_its_marked_copies_with_their_recipient(scenario: Any) -> None:
    """The producer sees each marked copy (preparing, then ready with its download) on the
    song's Audio panel; an artist, who cannot send links, sees no recipient."""
    link, _token = _send(scenario)
    url = f"/songs/{link.master.song_id}/audio/"
    body = _member(scenario, "producer").get(url).content.decode()
    assert "Review copies" in body and "Master 1 for Ana (A&amp;R)" in body
    assert "ana@label.test" in body and "Preparing" in body
    assert runner.run_job(link.job_id) == "done"
    link.refresh_from_db()
    body = _member(scenario, "producer").get(url).content.decode()
    assert "Ready" in body and f"/api/assets/{link.marked_asset_id}/file/" in body
    artist = _member(scenario, "artist").get(url)
    assert artist.status_code == 200
    assert "Review copies" not in artist.content.decode()
    assert "ana@label.test" not in artist.content.decode()
