"""Browser journey (issue 13): a producer invites a new engineer by e-mail; the message (printed
by the console e-mail backend into the server's log) carries the link; the engineer follows it,
creates an account, and lands in the project, which now lists them as an engineer."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
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


def test_invited_engineer_joins_from_the_email(open_as: Any, stack: Any, shot: Any) -> None:
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

    again = open_as("stranger")
    again.goto(link)
    expect(again.locator(".notice-danger")).to_have_count(0)
    expect(again.locator("body")).to_contain_text(
        "Ask a producer of the project for a new invitation"
    )
