"""The inbox page, the header's count on every page, mark read, preferences, and an unknown
mention refused with 400 on the comment form."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from studio.services.songs import song_move_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(scenario, song):
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    return song


def test_the_header_counts_unread_on_every_page(scenario, moved):
    engineer = scenario.browser("engineer")
    for url in ("/", f"/p/{scenario.project.pk}/", f"/songs/{moved.pk}/", "/account/", "/inbox/"):
        page = engineer.get(url).content.decode()
        assert 'id="inbox-count" class="badge badge-accent" data-unread="1"' in page, url
        assert "js/inbox.js" in page, url
    page = scenario.browser("producer").get("/").content.decode()
    assert 'data-unread="0" hidden' in page


def test_the_inbox_lists_marks_read_and_opens(scenario, moved):
    engineer = scenario.browser("engineer")
    page = engineer.get("/inbox/").content.decode()
    assert "producer moved &#x27;Night Drive&#x27; to Recording" in page
    assert "1 unread" in page
    row = Notification.objects.get(recipient=scenario.users["engineer"])
    r = engineer.post(f"/inbox/{row.pk}/read/", {"open": "1"})
    assert r.status_code == 302 and r["Location"] == f"/songs/{moved.pk}/"
    row.refresh_from_db()
    assert row.read_at is not None
    assert "Nothing unread." in engineer.get("/inbox/?unread=1").content.decode()


def test_mark_all_read_and_htmx_fragments(scenario, moved):
    song_move_stage(actor=scenario.users["producer"], song=moved, to="editing")
    artist = scenario.browser("artist")
    fragment = artist.post("/inbox/read-all/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert 'id="inbox-list"' in fragment.content.decode()
    assert "0 unread" in fragment.content.decode()
    assert artist.get("/inbox/count/").content.decode().count('data-unread="0"') == 1


def test_another_persons_notification_is_a_404(scenario, moved):
    theirs = Notification.objects.get(recipient=scenario.users["artist"])
    assert scenario.browser("engineer").post(f"/inbox/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert scenario.browser(None).get("/inbox/").status_code == 302


def test_preferences_form(scenario, song):
    viewer = scenario.browser("viewer")
    form = {"mention-inbox": "on", "mention-email": "on", "stage-email": "on"}
    r = viewer.post("/inbox/preferences/", form)
    assert r.status_code == 302 and r["Location"] == "/inbox/?saved=1"
    page = viewer.get("/inbox/?saved=1").content.decode()
    assert 'name="stage-inbox" aria-label="A song moving to another stage in the inbox">' in page
    assert 'name="stage-email" aria-label="A song moving to another stage by e-mail" checked>' in (
        page
    )
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    assert not Notification.objects.for_user(scenario.users["viewer"]).exists()


def test_an_unknown_mention_is_a_400_on_the_comment_form(scenario, song):
    from tests.live.conftest import make_mix

    mix = make_mix(song)
    artist = scenario.browser("artist")
    r = artist.post(
        f"/mixes/{mix.pk}/comments/",
        {"body": "@zed listen", "start": "0:01"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 400
    assert "No one called @zed is a member of this project" in r.content.decode()
    assert r["HX-Retarget"] == "#comment-form-error"
