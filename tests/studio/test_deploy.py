"""Production settings pass Django's deploy checks and Studio's own (Z7 in docs/reliability.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://studio:secret@db.internal:5432/studio",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "SECRET_KEY": "x7Hq0-2vL9mR4tY8uI1oP3aS5dF6gH7jK8lZ9xC0vB1nM2qW3eR4tY5uI6oP7aS8d",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "studio.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://studio.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "BEHIND_TLS_PROXY": "true",
}


def run_check(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    test_only = {"DJANGO_ALLOW_ASYNC_UNSAFE", "STUDIO_FAST_PASSWORD_HASHER"}
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in test_only}
    env.update(extra)
    env["STUDIO_VAR_DIR"] = str(ROOT / "var" / "test-deploy")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = run_check(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_defaults_are_flagged_for_production():
    """The embedded defaults are for a laptop: check --deploy says so instead of passing."""
    result = run_check({"SECRET_KEY": PRODUCTION_ENV["SECRET_KEY"], "DEBUG": "false"})
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "studio.W001" in out  # in-memory channel layer
    assert "studio.W005" in out  # embedded broker
    assert "studio.W006" in out  # not PostgreSQL
