"""The engine imports no framework: checked in a fresh interpreter (import-linter's backstop)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]


def test_engine_imports_no_framework() -> None:
    """Importing every engine module pulls in no django, celery, channels or DRF module."""
    code = (
        "import sys\n"
        "import audio.engine.analysis, audio.engine.cli, audio.engine.errors, audio.engine.io\n"
        "import audio.engine.loudness, audio.engine.types\n"
        "import audio.engine.render, audio.engine.render.cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('django', 'celery', 'channels', 'rest_framework', 'studio', 'sessions')]\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == ""
