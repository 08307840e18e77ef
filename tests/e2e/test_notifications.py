"""Notifications in real Chromium against Daphne + Celery: the engineer uploads a mix and
mentions the artist in a comment; the artist's open page counts it and shows it live, without a
reload; a mention of no member is refused with its sentence; the inbox opens what it is about.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live
from tests.e2e.test_sessions import _upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


@pytest.fixture(scope="session")
def rough_mix(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("notify-audio") / "told-rough.wav"
    t = np.arange(44100 * 3) / 44100
    sf.write(path, (0.4 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32), 44100)
    return path


def _count(page: Any) -> int:
    return int(page.locator("#inbox-count").get_attribute("data-unread") or 0)


# The 400 of the refused mention is logged by the browser as a failed resource load.
@pytest.mark.allow_console(r"status of 400")
def test_a_mention_reaches_the_artist_live(open_as: Any, stack: Any, shot: Any, rough_mix: Path):
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Told")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Told", exact=True)).to_be_visible()
    song_url = producer.url

    engineer = open_as("engineer")
    engineer.goto(song_url)
    wait_live(engineer)
    row = _upload(engineer, "mix", "Rough", rough_mix)
    mix_url = row.get_by_role("link", name=re.compile(r"Open Mix 1")).get_attribute("href")

    artist = open_as("artist")
    artist.goto(f"/p/{pid}/board/")
    wait_live(artist)
    mark(artist)
    before = _count(artist)  # Mix 1 already waits for her approval, among others

    engineer.goto(mix_url)
    wait_live(engineer)
    engineer.fill("#comment-body", "@zed is this too loud?")
    engineer.get_by_role("button", name="Comment", exact=True).click()
    expect(engineer.locator("#comment-form-error")).to_contain_text(
        "No one called @zed is a member of this project"
    )
    engineer.fill("#comment-body", "@Artist does the lift work for you?")
    engineer.get_by_role("button", name="Comment", exact=True).click()
    expect(engineer.locator("#comment-list .comment", has_text="lift work")).to_be_visible()

    expect(artist.locator("#inbox-count")).to_have_attribute("data-unread", str(before + 1))
    toast = artist.locator("#notification-toast")
    expect(toast).to_contain_text("Engineer mentioned you on Mix 1 of 'Told'")
    assert_not_reloaded(artist)
    shot(artist, "notification-toast")

    artist.locator("#inbox-link").click()
    item = artist.locator(".inbox-item.unread", has_text="mentioned you on Mix 1 of 'Told'")
    expect(item).to_be_visible()
    shot(artist, "inbox")
    item.locator("button.inbox-open").click()
    expect(artist).to_have_url(re.compile(re.escape(mix_url) + "$"))
    expect(artist.locator("#inbox-count")).to_have_attribute("data-unread", str(before))
