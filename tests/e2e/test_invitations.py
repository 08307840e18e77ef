"""Browser journey (issue 13): a producer invites a new engineer by e-mail; the message (printed
by the console e-mail backend into the server's log) carries the link; the engineer follows it,
creates an account, and lands in the project, which now lists them as an engineer. Then the
engineer brings a stem in, auditions it in the song page's compact player (it plays: its
position moves) and downloads it under the name it was uploaded with; the same file again is
held as identical to that stem until the engineer adds it anyway."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.e2e.conftest import RESULTS

pytestmark = pytest.mark.e2e


def _invitation_link(address: str, timeout: float = 15.0) -> str:
    """The link of the newest e-mail to `address` in the server's log."""
    log = RESULTS / "logs" / "daphne.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        start = text.rfind(f"To: {address}")
        if start >= 0:
            match = re.search(r"(http://\S+/invite/[^/\s]+/)", text[start:])
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no invitation e-mail to {address} in the server's log")


@pytest.fixture(scope="session")
def stem_wav(tmp_path_factory: Any) -> Path:
    """5 s of a mono bass line, under a name with a space and a non-ASCII letter (the download
    must keep it: RFC 6266 filename*)."""
    rate = 44100
    t = np.arange(rate * 5) / rate
    path = tmp_path_factory.mktemp("stem") / "Basse à Nia.wav"
    sf.write(path, (0.4 * np.sin(2 * np.pi * 55 * t)).astype(np.float32), rate, subtype="PCM_16")
    return path


def _new_song(producer: Any, stack: Any, title: str) -> str:
    """A song of this journey's own (other journeys count the stems of theirs)."""
    producer.goto(f"/p/{stack.data['project']}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", title)
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name=title, exact=True)).to_be_visible()
    return producer.url


def _audition_and_download(page: Any, song_url: str, shot: Any, stem_wav: Path) -> None:
    """On the song page: upload the stem, play it in the compact player, download it."""
    page.goto(song_url)
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=15_000)
    page.select_option("#upload-kind", "stem")
    page.fill("#upload-label", "Nia bass")
    page.set_input_files("#upload-input", str(stem_wav))
    row = page.locator("#upload-rows .upload-row", has_text=stem_wav.name)
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    stem = page.locator("#stem-list li", has_text="Nia bass").first
    player = stem.locator("[data-compact]")
    expect(player).to_have_attribute("data-state", "paused")
    key = player.get_attribute("data-compact")
    stem.get_by_role("button", name="Play Nia bass").click()
    expect(player).to_have_attribute("data-state", "playing")
    page.wait_for_function(
        "key => (window.studioStems.players.get(key) || {}).currentTime > 0.6", arg=key
    )
    expect(player.locator("[data-compact-time]")).not_to_contain_text("0:00 /")
    shot(page, "stem-audition")
    stem.get_by_role("button", name="Pause Nia bass").click()
    expect(player).to_have_attribute("data-state", "paused")

    with page.expect_download() as download_info:
        stem.get_by_role("link", name=f"Download {stem_wav.name}").click()
    download = download_info.value
    assert download.suggested_filename == stem_wav.name
    assert Path(download.path()).read_bytes() == stem_wav.read_bytes()

    # The same file again: held as identical to that stem, added only when asked.
    page.set_input_files("#upload-input", str(stem_wav))
    again = page.locator("#upload-rows .upload-row").first
    expect(again).to_have_attribute("data-state", "held", timeout=60_000)
    expect(again.locator(".status")).to_contain_text("is identical to the stem Nia bass")
    before = page.locator("#stem-list li", has_text="Nia bass").count()
    again.get_by_role("button", name="Add as a new stem").click()
    expect(again).to_have_attribute("data-state", "done", timeout=30_000)
    rows = page.locator("#stem-list li", has_text="Nia bass")
    expect(rows).to_have_count(before + 1)

    # Solo: playing one row stops the one playing before, so a take is heard alone.
    first, second = (rows.nth(i).locator("[data-compact]") for i in (0, 1))
    first.get_by_role("button", name="Play Nia bass").click()
    expect(first).to_have_attribute("data-state", "playing")
    second.get_by_role("button", name="Play Nia bass").click()
    expect(second).to_have_attribute("data-state", "playing")
    expect(first).to_have_attribute("data-state", "paused")
    second.get_by_role("button", name="Pause Nia bass").click()
    expect(second).to_have_attribute("data-state", "paused")


def test_invited_engineer_joins_from_the_email(
    open_as: Any, stack: Any, shot: Any, stem_wav: Path
) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/members/")
    producer.fill("#invite-email", "someone@nowhere")  # the browser accepts it; Studio does not
    producer.get_by_role("button", name="Send invitation").click()
    expect(producer.locator("#invite-error")).to_contain_text("not an e-mail address")
    producer.fill("#invite-email", "nia.new@example.test")
    producer.select_option("#invite-email-role", "engineer")
    producer.get_by_role("button", name="Send invitation").click()
    expect(producer.locator("#pending-invitations")).to_contain_text("nia.new@example.test")
    shot(producer, "invitation-sent")

    link = _invitation_link("nia.new@example.test")
    newcomer = open_as("newcomer")  # no account, not signed in
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="Join Night Drive EP")).to_be_visible()
    newcomer.fill("#id_display_name", "Nia")
    newcomer.fill("#id_username", "nia")
    newcomer.fill("#id_password", "nia pass phrase 11")
    newcomer.fill("#id_password_again", "nia pass phrase 11")
    shot(newcomer, "invitation-open")
    newcomer.get_by_role("button", name="Create account and join").click()
    newcomer.wait_for_url(f"{stack.base_url}/p/{pid}/")
    newcomer.goto(f"/p/{pid}/members/")
    expect(newcomer.locator("#members tr", has_text="nia")).to_contain_text("Engineer")
    # The producer's page follows live: the invitation is answered, the team has Nia.
    expect(producer.locator("#members tr", has_text="@nia")).to_be_visible()
    expect(producer.locator("#pending-invitations")).to_have_count(0)

    song_url = _new_song(producer, stack, "Nia's Groove")
    _audition_and_download(newcomer, song_url, shot, stem_wav)

    again = open_as("stranger")
    again.goto(link)
    expect(again.locator(".notice-danger")).to_have_count(0)
    expect(again.locator("body")).to_contain_text(
        "Ask a producer of the project for a new invitation"
    )
