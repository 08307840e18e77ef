"""Shared set-up for the audio benches: Django, a throwaway bench project, subprocess servers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_project(name: str) -> tuple[Any, Any, str]:
    """A fresh project with an engineer-capable producer and an API token."""
    from rest_framework.authtoken.models import Token

    from studio.services.projects import project_create
    from tests.factories import UserFactory

    user = UserFactory(username=f"bench-{name}-{os.getpid()}")
    project = project_create(actor=user, name=f"bench {name}")
    token, _ = Token.objects.get_or_create(user=user)
    return user, project, token.key


def cleanup(project: Any, user: Any) -> None:
    from audio import storage
    from audio.models import Asset, Job, Mix, Stem, Take, Upload

    names = list(Asset.objects.filter(project=project).values_list("storage_name", flat=True))
    for model in (Upload, Job, Stem, Take, Mix):
        model.objects.filter(project=project).delete()
    Asset.objects.filter(project=project).delete()
    for name in names:
        storage.delete_file(name)
    project.delete()
    user.delete()


def start(cmd: list[str], ready: Any, log: Path, env: dict[str, str] | None = None) -> Any:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text()[-2000:])
        time.sleep(0.1)
    return proc


def stop(proc: Any) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
