"""Browser journeys against a real stack: Daphne (HTTP + websockets) and a Celery worker in
subprocesses, both on the pytest-django test database (PostgreSQL) and our Redis db index,
driven by Playwright with Debian's Chromium (never a downloaded browser).

Data is created through the services in committed transactions (session scope, no `db`
fixture), so the servers see it. Every page is watched: a console error or a page error fails
the test at teardown (`@pytest.mark.allow_console("pattern")` lets an expected one through).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.launch import daphne_command, free_port

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results" / "e2e"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "e2e-pass-2468"
ROLES = ("producer", "engineer", "artist", "viewer")
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open in {timeout}s")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)
    worker: subprocess.Popen | None = None

    @contextlib.contextmanager
    def worker_paused(self) -> Iterator[None]:
        """Hold the Celery worker (SIGSTOP to its process group, SIGCONT on leaving): jobs
        queued meanwhile wait in the broker, so a page can be opened while they are pending."""
        assert self.worker is not None and self.worker.poll() is None, "the worker is not running"
        os.killpg(self.worker.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self.worker.pid, signal.SIGCONT)


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="session")
def stack(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Stack]:
    if not Path(CHROMIUM).exists():
        subprocess.run(["bash", str(ROOT / "scripts/e2e-deps.sh")], check=True)
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the browser journeys need PostgreSQL (set DATABASE_URL)")
    var = ROOT / (os.environ.get("STUDIO_VAR_DIR") or "var/test") / "e2e"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    env = os.environ | {
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": _redis_url(),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "e2e-only-not-secret",
        "STUDIO_VAR_DIR": str(var),
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        "STUDIO_FAST_PASSWORD_HASHER": "1",
        "DEBUG": "false",
        "SERVE_STATIC": "true",
        "PYTHONUNBUFFERED": "1",
    }
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    with django_db_blocker.unblock():
        data = _seed()
    port = free_port()
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    daphne = worker = None
    try:
        with open(logs / "daphne.log", "wb") as out:
            daphne = subprocess.Popen(
                daphne_command(port),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with open(logs / "worker.log", "wb") as out:
            worker = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/celery"),
                    "-A",
                    "studio",
                    "worker",
                    "-c",
                    "1",
                    "-P",
                    "prefork",
                    "-l",
                    "info",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_port(port, daphne)
        assert settings.ROOT_URLCONF
        yield Stack(base_url=f"http://127.0.0.1:{port}", env=env, data=data, worker=worker)
    finally:
        _stop(worker)
        _stop(daphne)
        from django.db import connection as conn
        from django.db import connections

        with django_db_blocker.unblock(), conn.cursor() as cursor:
            # Anything the servers left behind would stop pytest-django dropping the database.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [db["NAME"]],
            )
        connections.close_all()


def _seed() -> dict[str, Any]:
    """One project with a member per role and a song for the review journey, through the
    services (committed: the servers read it)."""
    from django.contrib.auth import get_user_model

    from studio.services.projects import member_add, project_create
    from studio.services.songs import song_create

    users = {}
    for role in ROLES:
        user = get_user_model().objects.create_user(
            username=f"e2e-{role}", password=PASSWORD, first_name=role.capitalize()
        )
        users[role] = user
    get_user_model().objects.create_user(username="e2e-guest", password=PASSWORD, first_name="Gus")
    project = project_create(actor=users["producer"], name="Night Drive EP")
    for role in ROLES[1:]:
        member_add(actor=users["producer"], project=project, username=f"e2e-{role}", role=role)
    review_song = song_create(actor=users["producer"], project=project, title="Midnight Run")
    from studio.services.songs import song_move_stage

    for stage in ("recording", "editing", "mixing"):
        song_move_stage(actor=users["producer"], song=review_song, to=stage)
    return {
        "project": project.pk,
        "review_song": review_song.pk,
        "users": {r: u.pk for r, u in users.items()},
    }


# --- browser ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser(stack: Stack) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def auth_states(browser: Any, stack: Stack, tmp_path_factory: Any) -> dict[str, str]:
    """Log in once per role through the login page; later contexts reuse the storage state."""
    folder = tmp_path_factory.mktemp("auth")
    states = {}
    for role in ROLES:
        context = browser.new_context(viewport=WIDE, base_url=stack.base_url)
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", f"e2e-{role}")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{stack.base_url}/")
        path = folder / f"{role}.json"
        context.storage_state(path=str(path))
        states[role] = str(path)
        context.close()
    return states


class Watch:
    """Console errors and page errors of every page opened in a test."""

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = [re.compile(p) for p in allowed]
        self.errors: list[str] = []

    def attach(self, page: Any, who: str) -> None:
        def on_console(msg: Any) -> None:
            if msg.type == "error":
                self._add(f"[{who}] console error: {msg.text} ({page.url})")

        page.on("console", on_console)
        page.on("pageerror", lambda err: self._add(f"[{who}] page error: {err} ({page.url})"))

    def _add(self, text: str) -> None:
        if "console error: htmx:sendAbort" in text:
            # A request a live region's `hx-sync="this:replace"` aborted for a newer one: htmx
            # logs it as an error (with an afterRequest error just before it), by design.
            paired = text.replace("htmx:sendAbort", "htmx:afterRequest")
            if self.errors and self.errors[-1] == paired:
                self.errors.pop()
            return
        if not any(p.search(text) for p in self.allowed):
            self.errors.append(text)


@pytest.fixture(autouse=True)
def console_watch(request: Any) -> Iterator[Watch]:
    allowed: list[str] = []
    for marker in request.node.iter_markers("allow_console"):
        allowed.extend(marker.args)
    watch = Watch(allowed)
    yield watch
    assert not watch.errors, "JavaScript console errors:\n" + "\n".join(watch.errors)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "allow_console(*patterns): expected console errors")


@pytest.fixture
def open_as(
    browser: Any, auth_states: dict[str, str], stack: Stack, console_watch: Watch
) -> Iterator[Any]:
    """open_as("artist") -> a page in a fresh context signed in as that role."""
    contexts: list[Any] = []

    def _open(role: str, viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            storage_state=auth_states.get(role),
            viewport=viewport or WIDE,
            base_url=stack.base_url,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        console_watch.attach(page, role)
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request: Any) -> Any:
    """shot(page, "board") saves full-page screenshots at 1280x800 and 390x844."""
    folder = RESULTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    count = [0]

    def _shot(page: Any, name: str) -> None:
        count[0] += 1
        original = page.viewport_size or WIDE
        for size, tag in ((WIDE, "wide"), (PHONE, "phone")):
            page.set_viewport_size(size)
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(150)
            page.screenshot(path=str(folder / f"{count[0]:02d}-{name}-{tag}.png"), full_page=True)
        page.set_viewport_size(original)

    return _shot
