"""scripts/lint-rules.sh catches each call it guards outside its one allowed module: a scratch
tree with one offending file per rule must fail, and the same lines in the allowed module pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (file, line): each line breaks a rule when it sits in that file.
OFFENCES = [
    ("audio/services/mixes.py", "current_app.send_task('audio.run_job', args=[1])"),
    ("sessions/services.py", "run_job.apply_async(args=[1])"),
    ("studio/services/songs.py", "run_job.delay(1)"),
    ("sessions/api/views.py", "Event.objects.create(project_id=1, seq=1)"),
    ("pages/views.py", "Event.objects.bulk_create([])"),
    ("audio/tasks.py", "from channels.layers import get_channel_layer"),
    ("audio/tasks.py", "app.send_task('audio.jobs.sweep')"),
    ("sessions/events.py", "Event.objects.create(project_id=1, seq=1)"),
    ("sessions/broadcast.py", "from channels.layers import get_channel_layer"),
    ("audio/engine/io.py", "from django.conf import settings"),
    ("audio/engine/io.py", "import eventlog.services"),
]
# The same kinds of line where they belong.
ALLOWED = [
    ("audio/services/jobs.py", "current_app.send_task('audio.jobs.run_job', args=[1])"),
    ("audio/jobs/worker.py", "current_app.send_task('audio.jobs.sweep')"),
    ("eventlog/services.py", "Event.objects.create(project_id=1, seq=1)"),
    ("eventlog/broadcast.py", "from channels.layers import get_channel_layer"),
]


def _scratch(tmp_path: Path, files: list[tuple[str, str]]) -> Path:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts/lint-rules.sh", root / "scripts/lint-rules.sh")
    for relative, line in files:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{line}\n")
    return root


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/lint-rules.sh"], cwd=root, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("relative", "line"), OFFENCES, ids=[f"{f}: {t}" for f, t in OFFENCES])
def test_each_rule_fails_on_an_offending_line(tmp_path: Path, relative: str, line: str) -> None:
    result = _run(_scratch(tmp_path, [(relative, line)]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{relative}:1:" in result.stdout


def test_the_allowed_modules_pass(tmp_path: Path) -> None:
    result = _run(_scratch(tmp_path, ALLOWED))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
