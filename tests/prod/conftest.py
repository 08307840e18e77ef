"""The production topology for `make prod-smoke` (scripts/prod/stack.py), started once for the
journey, and its figures printed at the end of the run."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from scripts.prod.stack import ROOT, VENV_BIN, Stack

SMOKE_DIR = ROOT / "var" / "prod-smoke"
USERNAME, PASSWORD = "smoke-producer", "a long smoke passphrase"
MIB = 1024 * 1024
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


def manage(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="session")
def user(stack: Stack) -> str:
    manage(
        stack,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r})",
    )
    return USERNAME


@pytest.fixture(scope="session")
def browser(stack: Stack, user: str) -> Iterator[httpx.Client]:
    """An https client that trusts only the smoke's certificate, signed in through the login
    page as a browser is (CSRF cookie, Referer, session cookie)."""
    with httpx.Client(base_url=stack.https_url, verify=stack.ssl_context(), timeout=60) as client:
        began = time.monotonic()
        page = client.get("/login/")
        assert page.status_code == 200
        signed_in = client.post(
            "/login/",
            data={
                "username": user,
                "password": PASSWORD,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
            headers={"Referer": f"{stack.https_url}/login/"},
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        assert "sessionid" in client.cookies
        FIGURES["journey: sign in through the login page"] = round(time.monotonic() - began, 3)
        client.headers.update(
            {"X-CSRFToken": client.cookies["csrftoken"], "Referer": f"{stack.https_url}/"}
        )
        yield client


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def tus_upload(
    client: httpx.Client, project_id: int, body: bytes, **metadata: str
) -> httpx.Response:
    """tus 1.0 through nginx: create, a chunk too big for nginx (refused, nothing stored),
    then 1 MiB chunks; returns the completing PATCH's response."""
    tus = {"Tus-Resumable": "1.0.0"}
    fields = {"filename": "smoke.wav", "project": str(project_id), **metadata}
    created = client.post(
        "/api/uploads/",
        headers={
            **tus,
            "Upload-Length": str(len(body)),
            "Upload-Metadata": ",".join(f"{k} {b64(v)}" for k, v in fields.items()),
        },
    )
    assert created.status_code == 201, created.text
    location = urljoin(str(client.base_url), created.headers["Location"])
    assert location.startswith("https://"), location  # the app knows it is behind TLS
    patch = {**tus, "Content-Type": "application/offset+octet-stream"}

    too_big = client.patch(
        location, content=b"\0" * (10 * MIB), headers={**patch, "Upload-Offset": "0"}
    )
    assert too_big.status_code == 413  # nginx's client_max_body_size, before Daphne
    assert client.head(location, headers=tus).headers["Upload-Offset"] == "0"

    offset, response = 0, None
    while offset < len(body):
        chunk = body[offset : offset + MIB]
        response = client.patch(
            location, content=chunk, headers={**patch, "Upload-Offset": str(offset)}
        )
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])
    assert response is not None
    return response


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("prod-smoke figures (seconds, unless the name says ms or a ratio)")
    for step, seconds in FIGURES.items():
        terminalreporter.write_line(f"{step:<78} {seconds:7.2f}")
    Path(SMOKE_DIR).mkdir(parents=True, exist_ok=True)
    (SMOKE_DIR / "figures.json").write_text(json.dumps(FIGURES, indent=2))
