"""Time in a browser: the producer plans a task's time on the board and logs time on the Time
page; the engineer's open Time page and dashboard follow live, the song over budget on top."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_planned_and_logged_time_reach_the_team_live(open_as: Any, stack: Any, shot: Any) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Clock Tower")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Clock Tower", exact=True)).to_be_visible()

    producer.goto(f"/p/{pid}/board/")
    wait_live(producer)
    producer.locator("summary", has_text="New task").click()
    producer.fill("#task-title", "Track the clock chimes")
    producer.select_option("#task-song", label="Clock Tower")
    producer.fill("#task-estimate", "60")
    producer.get_by_role("button", name="Add task").click()
    card = producer.locator("#board .task", has_text="Track the clock chimes")
    expect(card).to_contain_text("60 min planned")

    engineer = open_as("engineer")
    engineer.goto(f"/p/{pid}/time/")
    wait_live(engineer)
    mark(engineer)
    dashboard = open_as("viewer")
    dashboard.goto(f"/p/{pid}/")
    wait_live(dashboard)
    mark(dashboard)

    producer.goto(f"/p/{pid}/time/")
    wait_live(producer)
    producer.select_option(
        "#time-against", label="Clock Tower · Track the clock chimes (pre-production)"
    )
    producer.fill("#time-minutes", "0")
    producer.get_by_role("button", name="Log time").click()
    expect(producer.locator("#time-form-error")).to_contain_text("at least one minute")
    producer.fill("#time-minutes", "1:30")
    producer.fill("#time-note", "Chimes at noon, three mics")
    producer.get_by_role("button", name="Log time").click()
    expect(producer.locator("#my-time")).to_contain_text("1 h 30 min")
    shot(producer, "time-page")

    song_table = engineer.locator("#time-summary table", has_text="Clock Tower")
    expect(song_table).to_contain_text("30 min over")
    expect(engineer.locator("#team-time")).to_contain_text("1 h 30 min")
    assert_not_reloaded(engineer)
    over = dashboard.locator("#over-budget")
    expect(over).to_contain_text("Clock Tower")
    expect(over).to_contain_text("30 min over")
    assert_not_reloaded(dashboard)
    shot(dashboard, "dashboard-over-budget")
