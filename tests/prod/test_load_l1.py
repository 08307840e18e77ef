"""L1: locust, headless, through the smoke's nginx over TLS: team members browse the board,
list songs, read waveform peaks, Range-read the audio and post comments. 0 failed requests;
each read endpoint's p95 against the trivial view's (/healthz) in the same run; the mix's
requests per second against a run of the trivial view alone (the peer).

Smoke size (make prod-smoke): 10 users, 20 s per run, the ratios reported. Full size
(`L1_USERS=50 L1_SECONDS=300`, make reliability): the 3x bound on every read p95 asserted."""

from __future__ import annotations

import csv
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from scripts.prod.stack import ROOT, VENV_BIN, Stack
from tests.audio.audiofiles import wav_bytes
from tests.prod.conftest import FIGURES, PASSWORD, SMOKE_DIR, USERNAME, tus_upload

pytestmark = [pytest.mark.prod, pytest.mark.timeout(1200)]

USERS = int(os.environ.get("L1_USERS", "10"))
SECONDS = int(os.environ.get("L1_SECONDS", "20"))
FULL = USERS >= 50 and SECONDS >= 300
READS = ("board page", "song list", "peaks", "audio Range")
TRIVIAL = "trivial /healthz"


def _locust(stack: Stack, env: dict[str, str], tag: str) -> dict[str, dict[str, str]]:
    """One headless run; its stats rows by request name (plus "Aggregated")."""
    prefix = SMOKE_DIR / f"l1-{tag}"
    argv = [str(VENV_BIN / "locust"), "-f", str(ROOT / "tests/bench/locust_l1.py"), "--headless",
            "-u", str(USERS), "-r", str(max(1, USERS // 2)), "--run-time", f"{SECONDS}s",
            "--host", stack.https_url, "--tags", tag, "--csv", str(prefix), "--only-summary",
            "--stop-timeout", "10", "--exit-code-on-error", "0"]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=SECONDS + 120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with Path(f"{prefix}_stats.csv").open() as fh:
        return {row["Name"]: row for row in csv.DictReader(fh)}


def _wait_for_peaks(client: httpx.Client, headers: dict[str, str], asset: int) -> None:
    deadline = time.monotonic() + 90
    while client.get(f"/api/assets/{asset}/peaks/?width=800", headers=headers).status_code != 200:
        assert time.monotonic() < deadline, "the mix was not analysed within 90 s"
        time.sleep(0.5)


def test_l1_team_members_through_nginx(stack: Stack, browser: httpx.Client) -> None:
    token = browser.post("/api/auth/token/", json={"username": USERNAME, "password": PASSWORD})
    key = token.json()["token"]
    api = {"Authorization": f"Token {key}"}
    project = browser.post("/api/projects/", json={"name": "Load"}).json()["id"]
    song = browser.post("/api/songs/", json={"project": project, "title": "Loaded"}).json()["id"]
    done = tus_upload(browser, project, wav_bytes(seconds=20, seed=33), song=str(song), kind="mix")
    asset, mix = int(done.headers["Studio-Asset-Id"]), int(done.headers["Studio-Mix-Id"])
    _wait_for_peaks(browser, api, asset)

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "L1_TOKEN": key,
        "L1_PROJECT": str(project),
        "L1_ASSET": str(asset),
        "L1_MIX": str(mix),
        "L1_SESSION": browser.cookies["sessionid"],
        "L1_CERT": str(stack.cert_path),
    }
    peer = _locust(stack, env, "peer")
    mixed = _locust(stack, env, "studio")

    label = f"L1 ({USERS} users, {SECONDS} s)"
    failures = {
        name: row["Failure Count"] for name, row in mixed.items() if row["Failure Count"] != "0"
    }
    assert peer["Aggregated"]["Failure Count"] == "0"
    assert not failures, failures
    trivial_p95 = float(mixed[TRIVIAL]["95%"])
    FIGURES[f"{label}: trivial /healthz p95 ms, in the mix"] = trivial_p95
    ratios = {}
    for name in READS:
        p95 = float(mixed[name]["95%"])
        ratios[name] = p95 / trivial_p95
        FIGURES[f"{label}: {name} p95 ms"] = p95
        FIGURES[f"{label}: {name} p95 / trivial p95"] = round(ratios[name], 2)
    FIGURES[f"{label}: post comment p95 ms"] = float(mixed["post comment"]["95%"])
    rps, peer_rps = (
        float(mixed["Aggregated"]["Requests/s"]),
        float(peer["Aggregated"]["Requests/s"]),
    )
    FIGURES[f"{label}: requests/s, the mix"] = rps
    FIGURES[f"{label}: requests/s, the mix / trivial alone"] = round(rps / peer_rps, 2)
    if FULL:
        assert all(ratio <= 3 for ratio in ratios.values()), ratios
