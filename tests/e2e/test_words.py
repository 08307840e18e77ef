"""Words and forms in real Chromium: the splits form's running total is the server's reading of
what is typed, so "50,5" + "49,5" shows 100.00 and saves, and "33.333" shows its problem, naming
the row's share, before anything is saved."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def _type_row(form: Any, index: int, party: str, share: str) -> None:
    rows = form.locator(".split-row")
    if rows.count() <= index:
        form.get_by_role("button", name="+ Row").click()
    row = form.locator(".split-row").nth(index)
    row.locator("input[name=party]").fill(party)
    # typed key by key, as a person does: each keystroke is an input event
    row.locator("input[name=share]").press_sequentially(share)


def test_splits_total_is_the_servers_reading(open_as: Any, stack: Any, shot: Any) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Words and Forms")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Words and Forms", exact=True)).to_be_visible()
    wait_live(producer)  # the page's scripts (htmx among them) have run

    composition = producer.locator('.splits[data-right="composition"]')
    form = composition.locator("form.splits-editor")
    total = form.locator("output.running")
    _type_row(form, 0, "Ava", "50,5")
    expect(total).to_have_text("50.50")
    _type_row(form, 1, "Label", "49,5")
    expect(total).to_have_text("100.00")
    expect(total).to_have_attribute("data-ok", "true")
    expect(form.locator(".splits-problems")).to_have_count(0)
    shot(producer, "splits-comma-total")
    form.get_by_role("button", name="Save").click()
    saved = producer.locator('.splits[data-right="composition"] .card-head .splits-total')
    expect(saved).to_have_text("100.00 / 100.00")
    expect(saved).to_have_attribute("data-ok", "true")
    saved_rows = producer.locator('.splits[data-right="composition"] input[name=share]')
    expect(saved_rows.nth(0)).to_have_value("50.50")
    expect(saved_rows.nth(1)).to_have_value("49.50")

    # Three thirds typed with three decimals: the form says so before anything is saved.
    master = producer.locator('.splits[data-right="master"]')
    form = master.locator("form.splits-editor")
    _type_row(form, 0, "Ava", "33.333")
    _type_row(form, 1, "Bo", "33.333")
    _type_row(form, 2, "Cy", "33.334")
    problems = form.locator(".splits-problems")
    expect(problems).to_contain_text("the share in row 1 has more than 2 decimal places")
    expect(problems).to_contain_text("the share in row 3 has more than 2 decimal places")
    expect(problems).not_to_contain_text("shares[0]")
    expect(form.locator("output.running")).to_have_attribute("data-ok", "false")
    expect(form.locator("output.running")).not_to_have_text("99.99")
    shot(producer, "splits-decimal-problem")
    form.get_by_role("button", name="Save").click()
    expect(master.locator(".field-error[role=alert]")).to_contain_text(
        "the share in row 1 has more than 2 decimal places"
    )
    expect(master.locator(".card-head .splits-total")).to_have_text("0.00 / 100.00")
