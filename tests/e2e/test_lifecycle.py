"""A producer deletes a song: it vanishes from the artist's open pages live (and on reload), the
artist's song page says it was deleted, and the producer's Undo brings it back for both."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_producer_deletes_a_song_artist_sees_it_go_producer_restores_it(
    open_as: Any, stack: Any, shot: Any
) -> None:
    project = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{project}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Paper Boats")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Paper Boats", exact=True)).to_be_visible()
    song_url = producer.url

    artist_board = open_as("artist")
    artist_board.goto(f"/p/{project}/")
    chip = artist_board.locator("#pipeline .song-chip", has_text="Paper Boats")
    expect(chip).to_be_visible()
    artist_song = open_as("artist")
    artist_song.goto(song_url)
    expect(artist_song.locator("#song-head")).to_have_attribute("data-state", "active")
    # the artist is offered no lifecycle controls
    expect(artist_song.get_by_role("button", name="Delete song")).to_have_count(0)
    for page in (artist_board, artist_song, producer):
        wait_live(page)
        mark(page)

    producer.once("dialog", lambda dialog: dialog.accept())
    producer.get_by_role("button", name="Delete song").click()
    head = producer.locator("#song-head")
    expect(head).to_have_attribute("data-state", "deleted")
    expect(head).to_contain_text("This song was deleted")
    shot(producer, "lifecycle-song-deleted-producer")

    # live, without a reload: gone from the pipeline, and the open song page says why
    expect(chip).to_have_count(0)
    expect(artist_song.locator("#song-head")).to_contain_text("This song was deleted")
    expect(artist_song.get_by_role("button", name="Undo")).to_have_count(0)
    assert_not_reloaded(artist_board)
    assert_not_reloaded(artist_song)
    shot(artist_song, "lifecycle-song-deleted-artist")

    # and on reload
    artist_board.reload()
    expect(artist_board.locator("#pipeline")).to_be_visible()
    expect(artist_board.locator("#pipeline .song-chip", has_text="Paper Boats")).to_have_count(0)
    expect(artist_board.locator("#deleted-songs")).to_have_count(0)
    wait_live(artist_board)
    mark(artist_board)

    # the producer's dashboard lists it under "Recently deleted" with its days left
    producer_board = open_as("producer")
    producer_board.goto(f"/p/{project}/")
    deleted = producer_board.locator("#deleted-songs li", has_text="Paper Boats")
    expect(deleted).to_contain_text("30 days left")
    shot(producer_board, "lifecycle-recently-deleted")

    producer.get_by_role("button", name="Undo").click()
    expect(head).to_have_attribute("data-state", "active")
    expect(artist_board.locator("#pipeline .song-chip", has_text="Paper Boats")).to_be_visible()
    expect(artist_song.locator("#song-head")).to_have_attribute("data-state", "active")
    expect(deleted).to_have_count(0)
    assert_not_reloaded(artist_board)
