"""The three journeys of the browser issue, in real Chromium against Daphne + a Celery worker.

Live checks set `window.__mark` on the watching page, act in another context, `expect` the
change, then check the mark survived (no reload). No sleeps: expect() on text, visibility and
data-state attributes.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

# django_db: makes pytest-django create the test database the servers use (data is seeded
# and committed by the session `stack` fixture; the tests themselves write only via the browser).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def mark(page: Any) -> None:
    page.evaluate("window.__mark = 'still-here'")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__mark") == "still-here", "the page reloaded"


def wait_live(page: Any) -> None:
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=20_000)


# --- Journey 1 ------------------------------------------------------------------------------
def test_journey1_producer_song_and_task_reach_artist_board_live(
    open_as: Any, stack: Any, shot: Any
) -> None:
    """A producer creates a song and assigns a task; the artist's open board shows it live."""
    pid = stack.data["project"]
    artist = open_as("artist")
    artist.goto(f"/p/{pid}/board/")
    wait_live(artist)
    mark(artist)
    shot(artist, "artist-board-before")

    producer = open_as("producer")
    producer.goto("/")
    shot(producer, "project-list")
    producer.get_by_role("link", name=re.compile("Night Drive EP")).click()
    expect(producer.get_by_role("heading", name="Night Drive EP")).to_be_visible()
    wait_live(producer)
    shot(producer, "dashboard")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Neon Lights")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Neon Lights")).to_be_visible()
    shot(producer, "song-page")

    producer.get_by_role("link", name="Board").first.click()
    expect(producer.get_by_role("heading", name="Board")).to_be_visible()
    producer.locator("summary", has_text="New task").click()
    producer.fill("#task-title", "Write the bridge lyric")
    producer.select_option("#task-song", label="Neon Lights")
    producer.select_option("#task-assignee", label="Artist (artist)")
    yesterday = datetime.datetime.now(tz=datetime.UTC).date() - datetime.timedelta(days=2)
    producer.fill("#task-due", yesterday.isoformat())
    producer.get_by_role("button", name="Add task").click()
    card = producer.locator("#board .task", has_text="Write the bridge lyric")
    expect(card).to_be_visible()
    expect(card.locator(".badge-danger")).to_contain_text("Late")
    shot(producer, "board-with-task")

    live_card = artist.locator("#board .task", has_text="Write the bridge lyric")
    expect(live_card).to_be_visible()
    expect(live_card).to_contain_text("Neon Lights")
    expect(live_card).to_contain_text("Artist")
    assert_not_reloaded(artist)

    # The artist moves it (drag and drop); the producer's board follows, live.
    mark(producer)
    target = artist.locator('.column[data-status="doing"]')
    live_card.drag_to(target)
    expect(
        artist.locator('.column[data-status="doing"] .task', has_text="Write the bridge lyric")
    ).to_be_visible()
    expect(
        producer.locator('.column[data-status="doing"] .task', has_text="Write the bridge lyric")
    ).to_be_visible()
    assert_not_reloaded(producer)
    # The filter narrows the board to one assignee.
    artist.select_option("#filter-assignee", label="Engineer")
    expect(artist.locator("#board .task", has_text="Write the bridge lyric")).to_have_count(0)
    shot(artist, "artist-board-after")


# --- Journey 2 ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mix_wav(tmp_path_factory: Any) -> Path:
    """70 s of stereo 44.1 kHz 16-bit (about 12 MB): several upload chunks, 0:42 inside."""
    rate, seconds = 44100, 70
    t = np.arange(rate * seconds) / rate
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 0.25 * t) ** 2
    left = 0.3 * env * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * 3520 * t)
    right = 0.3 * env * np.sin(2 * np.pi * 330 * t + 0.3)
    path = tmp_path_factory.mktemp("audio") / "midnight-run-mix.wav"
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


@pytest.mark.allow_console(
    r"ERR_INTERNET_DISCONNECTED", r"WebSocket connection to .* failed", r"ERR_NETWORK_CHANGED"
)
def test_journey2_upload_review_approve_and_move(
    open_as: Any, stack: Any, shot: Any, mix_wav: Path
) -> None:
    """Engineer uploads a mix (interrupted, resumed), watches the analysis, sees the waveform;
    the artist comments at 0:42; the engineer sees it live and resolves it; the producer sees
    'no approved mix yet' on the mastering move until the mix is approved, then moves it."""
    song = stack.data["review_song"]
    engineer = open_as("engineer")
    engineer.goto(f"/songs/{song}/")
    wait_live(engineer)
    expect(engineer.get_by_role("heading", name="Upload audio")).to_be_visible()
    # Smaller chunks than the 8 MiB cap (the server takes any size up to it): 6 chunks.
    engineer.evaluate(
        "document.querySelector('[data-upload]').dataset.chunkSize = String(2 * 1024 * 1024)"
    )
    engineer.select_option("#upload-kind", "mix")
    engineer.fill("#upload-label", "First full mix")

    # The connection drops after the first chunk: the second PATCH is held until the browser
    # is offline, then fails as a lost connection would, however fast the chunks go.
    held: list[Any] = []
    offline = [False]
    patches = [0]

    def cut_after_first(route: Any) -> None:
        if route.request.method == "PATCH":
            patches[0] += 1
            if patches[0] > 1:
                if offline[0]:
                    route.abort("internetdisconnected")
                else:
                    held.append(route)
                return
        route.continue_()

    engineer.route("**/api/uploads/**", cut_after_first)
    with engineer.expect_response(
        lambda r: r.request.method == "PATCH" and "/api/uploads/" in r.url and r.status == 204
    ):
        engineer.set_input_files("#upload-input", str(mix_wav))
    engineer.context.set_offline(True)
    offline[0] = True
    for route in held:
        route.abort("internetdisconnected")
    row = engineer.locator("#upload-rows .upload-row").first
    expect(row).to_have_attribute("data-state", "offline", timeout=20_000)
    engineer.unroute("**/api/uploads/**")
    offset_at_drop = int(row.get_attribute("data-offset") or "0")
    assert offset_at_drop == 2 * 1024 * 1024, offset_at_drop
    shot(engineer, "upload-interrupted")
    engineer.context.set_offline(False)  # back online: it resumes from the server's offset
    expect(row).to_have_attribute("data-state", re.compile("analysing|done"), timeout=30_000)
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    history = row.get_attribute("data-history") or ""
    assert "offline" in history and "analysing" in history, history
    expect(row.locator("svg.mini-wave")).to_be_visible()
    # The song's mix list follows the same events: figures once the analysis is in.
    expect(engineer.locator("#mix-list li", has_text="Mix 1")).to_contain_text("LUFS")
    shot(engineer, "upload-done-waveform")
    mix_link = row.get_by_role("link", name=re.compile(r"Open Mix 1"))
    mix_url = mix_link.get_attribute("href")
    assert mix_url

    # The engineer opens the player: drawn from peaks at once.
    engineer.goto(mix_url)
    player = engineer.locator("#player")
    expect(player).to_have_attribute("data-state", re.compile("ready|paused|playing"))
    wait_live(engineer)
    mark(engineer)

    # The producer looks at the song: the mastering move is blocked, and says why.
    producer = open_as("producer")
    producer.goto(f"/songs/{song}/")
    wait_live(producer)
    expect(producer.locator("#gate-unmet")).to_contain_text("no approved mix yet")
    expect(producer.locator("#move-forward")).to_be_disabled()
    mark(producer)
    shot(producer, "song-gate-blocked")

    # The artist listens and comments at 0:42 (seek, then C: comment at playhead).
    artist = open_as("artist")
    artist.goto(mix_url)
    expect(artist.locator("#player")).to_have_attribute("data-state", re.compile("ready|paused"))
    wait_live(artist)
    expect(engineer.locator('[data-presence-mix] [data-user="e2e-artist"]')).to_be_visible()
    artist.get_by_role("button", name="Play", exact=True).click()
    expect(artist.locator("#player")).to_have_attribute("data-state", "playing")
    artist.get_by_role("button", name="Pause", exact=True).click()
    artist.evaluate("document.getElementById('audio-a').currentTime = 42.3")
    expect(artist.locator("#time")).to_contain_text("0:42")
    artist.locator("#waveform").focus()
    artist.keyboard.press("c")
    expect(artist.locator("#comment-start")).to_have_value("0:42")
    expect(artist.locator("#comment-body")).to_be_focused()
    artist.keyboard.type("The snare is too loud here.")
    artist.get_by_role("button", name="Comment", exact=True).click()
    expect(
        artist.locator("#comment-list .comment", has_text="The snare is too loud")
    ).to_be_visible()
    expect(artist.locator("#player")).to_have_attribute("data-regions", "1")
    shot(artist, "player-commented")

    # The engineer sees it live, with its marker, and resolves it.
    comment = engineer.locator("#comment-list .comment", has_text="The snare is too loud here.")
    expect(comment).to_be_visible()
    expect(comment).to_contain_text("0:42")
    expect(engineer.locator("#player")).to_have_attribute("data-regions", "1")
    assert_not_reloaded(engineer)
    comment.get_by_role("button", name="Resolve").click()
    expect(engineer.locator("#comment-list .comment.resolved")).to_contain_text("Resolved")
    expect(artist.locator("#comment-list .comment.resolved")).to_contain_text("Resolved")
    shot(engineer, "player-resolved")

    # Approvals: the producer's approval alone is not enough (the artist has not approved).
    producer_player = open_as("producer")
    producer_player.goto(mix_url)
    producer_player.get_by_role("button", name="Approve").click()
    expect(producer_player.locator("#review")).to_contain_text("1 artist has not approved yet")
    shot(producer_player, "player-producer-approved")
    expect(producer.locator("#move-forward")).to_be_disabled()
    artist.get_by_role("button", name="Approve").click()
    expect(artist.locator("#approval-state")).to_have_attribute("data-approved", "true")
    shot(artist, "player-approved")

    # The producer's song page follows live; the move now passes.
    expect(producer.locator("#move-forward")).to_be_enabled()
    assert_not_reloaded(producer)
    producer.locator("#move-forward").click()
    expect(producer.locator(".stages li.current")).to_have_text("Mastering")
    shot(producer, "song-in-mastering")


# --- Journey 3 ------------------------------------------------------------------------------
def test_journey3_viewer_sees_no_edit_controls_and_posts_are_refused(
    open_as: Any, stack: Any, shot: Any
) -> None:
    """A viewer sees no edit controls on any page, and a direct POST is refused with 403."""
    pid, song = stack.data["project"], stack.data["review_song"]
    viewer = open_as("viewer")
    pages = {
        "dashboard": f"/p/{pid}/",
        "board": f"/p/{pid}/board/",
        "song": f"/songs/{song}/",
        "members": f"/p/{pid}/members/",
    }
    for name, url in pages.items():
        viewer.goto(url)
        wait_live(viewer)
        expect(viewer.locator("main [hx-post]")).to_have_count(0)
        expect(viewer.locator("main form[method=post]")).to_have_count(0)
        expect(viewer.locator("main [draggable=true]")).to_have_count(0)
        shot(viewer, name)
    expect(viewer.get_by_role("heading", name="Upload audio")).to_have_count(0)
    viewer.goto(f"/songs/{song}/")
    mix_link = viewer.locator("#mix-list a", has_text="Listen").first
    expect(mix_link).to_be_visible()
    mix_link.click()
    expect(viewer.locator("#player")).to_have_attribute("data-state", re.compile("ready|paused"))
    expect(viewer.locator("#comment-form")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Approve")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Resolve")).to_have_count(0)
    shot(viewer, "player")

    token = viewer.locator("body").get_attribute("data-csrf")
    headers = {"X-CSRFToken": token, "HX-Request": "true"}
    refusals = {
        f"/p/{pid}/tasks/new/": {"title": "sneaky", "song": str(song)},
        f"/songs/{song}/move/": {"to": "editing", "reason": "because"},
        f"/p/{pid}/songs/new/": {"title": "sneaky"},
        f"/p/{pid}/members/add/": {"username": "e2e-viewer", "role": "producer"},
        viewer.url.replace(stack.base_url, "").rstrip("/") + "/review/": {"verdict": "approved"},
        viewer.url.replace(stack.base_url, "").rstrip("/") + "/comments/": {"body": "hi"},
    }
    for url, form in refusals.items():
        response = viewer.request.post(url, form=form, headers=headers)
        assert response.status == 403, (url, response.status, response.text()[:200])
        assert "may not" in response.text()
    # An outsider's view of the same URLs: 404 for a project that is not theirs.
    response = viewer.request.get(f"/p/{pid + 999}/")
    assert response.status == 404


# --- Members ----------------------------------------------------------------------------------
def test_members_producer_invites_changes_role_and_removes(
    open_as: Any, stack: Any, shot: Any
) -> None:
    """A producer invites by username, changes the role, removes; another member's page follows."""
    pid = stack.data["project"]
    engineer = open_as("engineer")
    engineer.goto(f"/p/{pid}/members/")
    wait_live(engineer)
    mark(engineer)
    expect(engineer.locator("#invite-username")).to_have_count(0)
    producer = open_as("producer")
    producer.on("dialog", lambda dialog: dialog.accept())
    producer.goto(f"/p/{pid}/members/")
    producer.fill("#invite-username", "nobody-here")
    producer.get_by_role("button", name="Add to the project").click()
    expect(producer.locator("#member-form-error")).to_contain_text("no user named")
    producer.fill("#invite-username", "e2e-guest")
    producer.select_option("#invite-role", "viewer")
    producer.get_by_role("button", name="Add to the project").click()
    row = producer.locator("#members tr", has_text="e2e-guest")
    expect(row).to_be_visible()
    expect(engineer.locator("#members tr", has_text="e2e-guest")).to_contain_text("Viewer")
    shot(producer, "members-invited")
    row.locator("select").select_option("engineer")
    expect(engineer.locator("#members tr", has_text="e2e-guest")).to_contain_text("Engineer")
    producer.locator("#members tr", has_text="e2e-guest").get_by_role(
        "button", name="Remove"
    ).click()
    expect(producer.locator("#members tr", has_text="e2e-guest")).to_have_count(0)
    expect(engineer.locator("#members tr", has_text="e2e-guest")).to_have_count(0)
    assert_not_reloaded(engineer)
    shot(engineer, "members-engineer-view")


# --- Resume after reload, then A/B ------------------------------------------------------------
@pytest.fixture(scope="session")
def second_wav(tmp_path_factory: Any) -> Path:
    rate, seconds = 44100, 20
    t = np.arange(rate * seconds) / rate
    sig = 0.6 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path_factory.mktemp("audio2") / "midnight-run-mix2.wav"
    sf.write(path, np.stack([sig, sig], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def first_wav(tmp_path_factory: Any) -> Path:
    rate, seconds = 44100, 20
    t = np.arange(rate * seconds) / rate
    sig = 0.3 * np.sin(2 * np.pi * 330 * t)
    path = tmp_path_factory.mktemp("audio1") / "second-light-mix1.wav"
    sf.write(path, np.stack([sig, sig], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


@pytest.mark.allow_console(r"ERR_ABORTED", r"WebSocket connection to .* failed")
def test_upload_resumes_after_reload_then_ab_compare(
    open_as: Any, stack: Any, shot: Any, first_wav: Path, second_wav: Path
) -> None:
    """An upload cut by a page reload resumes from the server's offset when the same file is
    chosen again; the new version is then compared A/B at the same playhead."""
    # A song of its own, so this test does not lean on another test's Mix 1.
    producer = open_as("producer")
    producer.goto(f"/p/{stack.data['project']}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Second Light")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Second Light", exact=True)).to_be_visible()
    song = int(producer.url.rstrip("/").rsplit("/", 1)[-1])
    engineer = open_as("engineer")
    engineer.goto(f"/songs/{song}/")
    wait_live(engineer)
    engineer.select_option("#upload-kind", "mix")
    engineer.fill("#upload-label", "First pass")
    engineer.set_input_files("#upload-input", str(first_wav))
    first_row = engineer.locator("#upload-rows .upload-row").first
    expect(first_row).to_have_attribute("data-state", "done", timeout=60_000)
    expect(first_row.get_by_role("link", name=re.compile(r"Open Mix 1"))).to_be_visible()
    held: list[Any] = []
    patches = [0]

    def hold_after_first(route: Any) -> None:
        if route.request.method == "PATCH":
            patches[0] += 1
            if patches[0] > 1:
                held.append(route)  # never answered: the reload cuts it
                return
        route.continue_()

    # Every PATCH after the first is held until the reload cuts it, however fast the page is:
    # the server has exactly one chunk when the page goes.
    engineer.route("**/api/uploads/**", hold_after_first)
    engineer.goto(f"/songs/{song}/")
    engineer.evaluate("document.querySelector('[data-upload]').dataset.chunkSize = '1048576'")
    engineer.fill("#upload-label", "Louder vocal")
    with engineer.expect_response(lambda r: r.request.method == "PATCH" and r.status == 204):
        engineer.set_input_files("#upload-input", str(second_wav))
    engineer.reload()
    engineer.unroute("**/api/uploads/**")
    for route in held:
        with contextlib.suppress(Exception):  # the page that asked is gone
            route.abort()
    assert patches[0] <= 2, patches
    notice = engineer.locator("#upload-resume")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("midnight-run-mix2.wav")
    shot(engineer, "upload-resume-offered")
    engineer.evaluate("document.querySelector('[data-upload]').dataset.chunkSize = '1048576'")
    with engineer.expect_request(lambda r: r.method == "PATCH", timeout=30_000) as first_patch:
        engineer.set_input_files("#upload-input", str(second_wav))
    assert first_patch.value.headers.get("upload-offset") not in (None, "0")
    row = engineer.locator("#upload-rows .upload-row").first
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    mix_url = row.get_by_role("link", name=re.compile(r"Open Mix \d")).get_attribute("href")
    engineer.goto(mix_url)
    expect(engineer.locator("#player")).to_have_attribute("data-state", re.compile("ready|paused"))
    b = engineer.get_by_role("button", name=re.compile(r"B · Mix 1"))
    expect(b).to_have_attribute("aria-pressed", "false")
    engineer.evaluate("document.getElementById('audio-a').currentTime = 12")
    expect(engineer.locator("#time")).to_contain_text("0:12")
    engineer.locator("#waveform").focus()
    engineer.keyboard.press("x")
    expect(b).to_have_attribute("aria-pressed", "true")
    t_b = engineer.evaluate("document.getElementById('audio-b').currentTime")
    assert abs(t_b - 12) < 0.5, t_b
    engineer.check("#loudness-match")
    volume = engineer.evaluate("document.getElementById('audio-b').volume")
    assert 0 < volume <= 1
    shot(engineer, "player-ab")
