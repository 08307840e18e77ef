"""The splits form's running total is the server's own reading, in real Chromium: a producer
types shares with a decimal comma and sees the total the server will store, then saves; a share
with three decimals shows the problem, by the row's label, before anything is saved."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def _new_song(page: Any, pid: int, title: str) -> None:
    page.goto(f"/p/{pid}/")
    page.locator("summary", has_text="New song").click()
    page.fill("#song-title", title)
    page.get_by_role("button", name="Create song").click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()


def test_splits_total_comes_from_the_server_parser(open_as: Any, stack: Any, shot: Any) -> None:
    producer = open_as("producer")
    _new_song(producer, stack.data["project"], "Comma Song")

    composition = producer.locator('.splits[data-right="composition"]')
    form = composition.locator("form.splits-editor")
    running = form.locator("output.running")
    rows = form.locator(".split-row")
    rows.nth(0).locator("input[name=party]").fill("Ava")
    rows.nth(0).locator("input[name=share]").fill("50,5")
    expect(running).to_have_text("50.50")
    form.get_by_role("button", name="+ Row").click()
    rows.nth(1).locator("input[name=party]").fill("Label")
    rows.nth(1).locator("input[name=share]").fill("49,5")
    expect(running).to_have_text("100.00")
    expect(running).to_have_attribute("data-ok", "true")
    expect(form.locator(".splits-problems")).to_have_count(0)
    shot(producer, "splits-comma-total")
    form.get_by_role("button", name="Save").click()
    expect(composition.locator(".card-head .splits-total")).to_have_text("100.00 / 100.00")
    expect(composition.locator("input[name=share]").first).to_have_value("50.50")

    master = producer.locator('.splits[data-right="master"]')
    form = master.locator("form.splits-editor")
    form.locator("input[name=party]").first.fill("Label")
    form.locator("input[name=share]").first.fill("33.333")
    problems = form.locator(".splits-problems")
    expect(problems).to_contain_text("the share in row 1 has more than 2 decimal places")
    expect(problems).not_to_contain_text("shares[0]")
    expect(form.locator("output.running")).to_have_attribute("data-ok", "false")
    expect(master.locator(".card-head .splits-total")).to_have_text("0.00 / 100.00")
    shot(producer, "splits-three-decimals")
