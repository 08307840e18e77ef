"""On a 390 px phone the pages fit the screen (issue 13): no page scrolls sideways; the board
scrolls inside itself, one column at a time with snap, and the stage strip inside its own row."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


def _page_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the screen (0 when it fits)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_pages_fit_a_phone(open_as: Any, stack: Any, shot: Any) -> None:
    pid, song = stack.data["project"], stack.data["review_song"]
    producer = open_as("producer", viewport=PHONE)
    for path in (
        f"/p/{pid}/",
        f"/p/{pid}/board/",
        f"/songs/{song}/",
        f"/p/{pid}/members/",
        "/",
    ):
        producer.goto(path)
        producer.wait_for_load_state("networkidle")
        assert _page_overflow(producer) <= 0, path
    producer.goto(f"/p/{pid}/board/")
    snap = producer.evaluate("getComputedStyle(document.querySelector('#board')).scrollSnapType")
    assert snap.startswith("x"), snap
    producer.goto(f"/songs/{song}/")
    strip = producer.locator(".stages")
    assert strip.evaluate(
        "el => el.scrollWidth <= el.clientWidth || getComputedStyle(el).overflowX === 'auto'"
    )
    shot(producer, "song-phone")
