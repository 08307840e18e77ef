"""Working sessions, keeper takes and comment edits, in real Chromium against Daphne + Celery.

An engineer uploads a take and a mix to a fresh song, schedules an overdub session, attaches
the take and marks it the keeper; the producer's open song page follows live. The artist then
edits and deletes their own comment on the mix while the engineer, who sees no edit controls on
it (and is refused when posting anyway), watches the change arrive.
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

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


@pytest.fixture(scope="session")
def short_wavs(tmp_path_factory: Any) -> dict[str, Path]:
    """Two 3 s mono files (one upload chunk each): a vocal take and a rough mix."""
    folder = tmp_path_factory.mktemp("sessions-audio")
    rate = 44100
    t = np.arange(rate * 3) / rate
    out = {}
    for name, freq in (("night-drive-vocal.wav", 262.0), ("night-drive-rough.wav", 196.0)):
        path = folder / name
        sf.write(path, (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
        out[name] = path
    return out


def _upload(page: Any, kind: str, label: str, path: Path) -> Any:
    page.select_option("#upload-kind", kind)
    page.fill("#upload-label", label)
    page.set_input_files("#upload-input", str(path))
    row = page.locator("#upload-rows .upload-row", has_text=path.name)
    expect(row).to_have_attribute("data-state", "done", timeout=30_000)
    return row


def test_session_take_keeper_and_comment_edit_delete(
    open_as: Any, stack: Any, shot: Any, short_wavs: dict[str, Path]
) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Night Drive")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Night Drive", exact=True)).to_be_visible()
    song_url = producer.url
    wait_live(producer)
    mark(producer)

    # The engineer brings a take and a rough mix.
    engineer = open_as("engineer")
    engineer.goto(song_url)
    wait_live(engineer)
    _upload(engineer, "take", "lead vocal", short_wavs["night-drive-vocal.wav"])
    keeper = engineer.locator("#keeper-list li", has_text="lead vocal")
    expect(keeper.get_by_role("button", name=re.compile("Take 1"))).to_be_visible()
    mix_row = _upload(engineer, "mix", "Rough mix", short_wavs["night-drive-rough.wav"])
    mix_url = mix_row.get_by_role("link", name=re.compile(r"Open Mix 1")).get_attribute("href")

    # The producer sets the key and tempo in place; the engineer's header follows, live.
    mark(engineer)
    producer.locator("#song-edit summary").click()
    producer.fill("#song-edit-key", "D minor")
    producer.fill("#song-edit-tempo", "92")
    producer.get_by_role("button", name="Save song").click()
    expect(producer.locator("#song-facts")).to_contain_text("92 BPM")
    expect(engineer.locator("#song-facts")).to_contain_text("92 BPM")
    expect(engineer.locator("#song-facts")).to_contain_text("Key D minor")
    expect(engineer.locator("#song-edit")).to_have_count(0)  # SONG_EDIT is the producer's
    assert_not_reloaded(engineer)

    # Schedule an overdub session with the artist.
    engineer.locator("#session-new summary").click()
    engineer.select_option("#s-new-kind", "overdub")
    engineer.locator("#session-new label.check", has_text="Artist").locator("input").check()
    engineer.fill("#s-new-notes", "Room B, bring the SM7B")
    shot(engineer, "song-session-form")
    engineer.get_by_role("button", name="Schedule").click()
    session = engineer.locator("#session-list .session", has_text="Overdub")
    expect(session).to_contain_text("Artist")
    expect(session).to_contain_text("No takes attached")
    expect(producer.locator("#session-list .session", has_text="Overdub")).to_contain_text("Room B")

    # Attach the take, then mark it the keeper of its part.
    session.get_by_role("button", name="Attach take").click()
    expect(session.locator(".session-takes")).to_contain_text("lead vocal · take 1")
    engineer.locator("#keeper-list").get_by_role("button", name=re.compile("Take 1")).click()
    expect(
        engineer.locator("#keeper-list").get_by_role("button", name=re.compile("Take 1"))
    ).to_have_attribute("aria-pressed", "true")
    expect(engineer.locator("#session-list .session-takes")).to_contain_text("★ keeper")
    # The producer's page follows, live; the audio panel shows the keeper too. The keeper event
    # arrives while the card's refetch for the attach is in flight: static/js/live.js fetches
    # the card once more after the swap (htmx alone dropped it, and the card kept no star).
    expect(producer.locator("#session-list .session-takes")).to_contain_text("★ keeper")
    expect(producer.locator("#song-audio")).to_contain_text("★ Keeper")
    assert_not_reloaded(producer)
    shot(engineer, "song-session-keeper")

    # The artist may not edit sessions: no controls, and the server refuses anyway.
    artist = open_as("artist")
    artist.goto(song_url)
    expect(artist.locator("#session-list .session", has_text="Overdub")).to_be_visible()
    expect(artist.locator("#session-new")).to_have_count(0)
    expect(artist.locator("#song-sessions [hx-post]")).to_have_count(0)
    expect(artist.locator("#keeper-list .badge", has_text="keeper")).to_be_visible()
    session_id = session.get_attribute("data-session")
    token = artist.locator("body").get_attribute("data-csrf")
    headers = {"X-CSRFToken": token, "HX-Request": "true"}
    refused = artist.request.post(f"/sessions/{session_id}/cancel/", headers=headers)
    assert refused.status == 403, refused.status
    shot(artist, "song-sessions-artist")

    # Comments: the artist writes one, edits it, the engineer sees it live without controls.
    engineer.goto(mix_url)
    wait_live(engineer)
    mark(engineer)
    artist.goto(mix_url)
    wait_live(artist)
    artist.fill("#comment-body", "The kick feels late in the intro.")
    artist.get_by_role("button", name="Comment", exact=True).click()
    mine = artist.locator("#comment-list .comment", has_text="kick feels late")
    expect(mine).to_be_visible()
    mine.locator("summary", has_text="Edit").click()
    mine.locator("textarea[name=body]").fill("The kick is early, not late, in the intro.")
    mine.get_by_role("button", name="Save").click()
    edited = artist.locator("#comment-list .comment", has_text="kick is early")
    expect(edited).to_contain_text("edited")
    theirs = engineer.locator("#comment-list .comment", has_text="kick is early")
    expect(theirs).to_be_visible()
    expect(theirs.locator("summary", has_text="Edit")).to_have_count(0)
    expect(theirs.get_by_role("button", name="Delete")).to_have_count(0)
    comment_id = theirs.get_attribute("data-comment")
    token = engineer.locator("body").get_attribute("data-csrf")
    headers = {"X-CSRFToken": token, "HX-Request": "true"}
    refused = engineer.request.post(f"/comments/{comment_id}/delete/", headers=headers)
    assert refused.status == 403 and "only the author" in refused.text()
    shot(artist, "player-comment-edited")

    artist.once("dialog", lambda dialog: dialog.accept())
    edited.get_by_role("button", name="Delete").click()
    gone = f"#comment-{comment_id}"
    expect(artist.locator(gone)).to_contain_text("deleted")
    expect(artist.locator(gone)).not_to_contain_text("kick is early")
    expect(engineer.locator(gone)).to_contain_text("deleted")
    assert_not_reloaded(engineer)
    shot(engineer, "player-comment-deleted")

    # The dashboard tells what happened, by name.
    producer.goto(f"/p/{pid}/")
    feed = producer.locator("#activity")
    expect(feed).to_contain_text("Analysis of 'night-drive-vocal.wav' finished")
    expect(feed).to_contain_text("chose lead vocal take 1 as the keeper of 'Night Drive'")
    expect(feed).to_contain_text("just now")
    shot(producer, "dashboard-activity")
