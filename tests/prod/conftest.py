"""The production topology for `make prod-smoke` (scripts/prod/stack.py), started once for the
journey, and its figures printed at the end of the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.prod.stack import ROOT, Stack

SMOKE_DIR = ROOT / "var" / "prod-smoke"
# step -> seconds, filled by the journey; printed by pytest_terminal_summary.
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """Everything of docker/compose.yaml, running locally; stopped even when a test fails."""
    running = Stack(SMOKE_DIR).start()
    FIGURES.update({f"start: {step}": s for step, s in running.timings.items()})
    try:
        yield running
    finally:
        running.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("prod-smoke figures (seconds)")
    for step, seconds in FIGURES.items():
        terminalreporter.write_line(f"{step:<78} {seconds:7.2f}")
    Path(SMOKE_DIR).mkdir(parents=True, exist_ok=True)
    (SMOKE_DIR / "figures.json").write_text(json.dumps(FIGURES, indent=2))
