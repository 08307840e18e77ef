"""`make run`'s embedded mode end to end: no DATABASE_URL, no REDIS_URL. SQLite under var/, the
filesystem broker, the in-memory layer; the demo loads, the worker that `make run` starts
analyses its audio, and Daphne serves the login page, the API docs and the demo data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.launch import daphne_command, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    # As `make run` sets it: DEBUG is off unless asked for (DEBUG=true make run).
    env.update({"STUDIO_VAR_DIR": str(var_dir), "DEBUG": "false"})
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


JOB_STATES = (
    "import json; from audio.models import Job; "
    "print(json.dumps(list(Job.objects.values_list('state', flat=True))))"
)


@pytest.mark.timeout(420)
def test_make_run_embedded_mode(tmp_path: Path) -> None:
    env = embedded_env(tmp_path / "var")
    manage(env, "migrate", "--noinput")
    out = manage(env, "seed_demo")
    assert "mia" in out and "producer" in out
    assert "Demo audio" in out
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "studio",
            "worker",
            "-Q",
            "default,audio",
            "-c",
            "1",
            "-P",
            "prefork",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    port = free_port()
    web = subprocess.Popen(
        daphne_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        states: list[str] = []
        deadline = time.monotonic() + 300  # the demo renders, masters and analyses
        while time.monotonic() < deadline:
            states = json.loads(manage(env, "shell", "-c", JOB_STATES).strip().splitlines()[-1])
            if states and all(s in ("done", "failed") for s in states):
                break
            time.sleep(2)
        assert states and set(states) == {"done"}, states
        base = f"http://127.0.0.1:{port}"
        for path in ("/login/", "/api/docs/", "/api/schema/", "/static/js/player.js"):
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200, path
        # An error page shows neither a traceback nor the URL list (DEBUG was on by default).
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base + "/no-such-page/", timeout=10)
        assert missing.value.code == 404
        assert b"URLconf" not in missing.value.read()
        request = urllib.request.Request(
            base + "/api/auth/token/",
            data=json.dumps({"username": "mia", "password": "studio-demo"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        token = json.load(urllib.request.urlopen(request, timeout=10))["token"]
        request = urllib.request.Request(
            base + "/api/songs/", headers={"Authorization": f"Token {token}"}
        )
        songs = json.load(urllib.request.urlopen(request, timeout=10))["results"]
        assert {s["title"] for s in songs} == {"Night Drive", "Glass Harbour", "Low Tide"}
    finally:
        for process in (web, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
