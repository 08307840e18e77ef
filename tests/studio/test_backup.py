"""Backup and restore (studio/management/backups.py) on the real PostgreSQL: a backup restored
onto an empty database and storage gives back every row and every file, byte for byte, with a
new event-log epoch per project; bad folders and a non-empty target are refused with a
sentence and change nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audio.services.assets import stored_file_create
from studio.models import Project
from studio.services.songs import song_create
from tests.audio.conftest import ROOT, service_env

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _server_url(name: str) -> str:
    s = connection.settings_dict
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{host}:{port}/{name}"


def _table_digests(url: str) -> dict[str, str]:
    """Per table of the public schema: an md5 of every row as JSON, in a fixed order (the
    projects' epochs left out: a restore changes them on purpose)."""
    out = {}
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        for table in tables:
            drop = " - 'event_epoch'" if table == "studio_project" else ""
            query = (
                f"SELECT md5(coalesce(string_agg((to_jsonb(t){drop})::text, '|' "  # noqa: S608
                f"ORDER BY (to_jsonb(t){drop})::text), '')), count(*) FROM \"{table}\" t"
            )
            digest, rows = conn.execute(query).fetchone()
            out[table] = f"{rows}:{digest}"
    return out


@pytest.fixture
def empty_database() -> Any:
    name = f"restore_{secrets.token_hex(4)}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _server_url(name)
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _restore(folder: Path, url: str, var: Path) -> subprocess.CompletedProcess[str]:
    env = service_env(
        DATABASE_URL=url,
        STUDIO_VAR_DIR=str(var),
        MEDIA_ROOT=str(var / "media"),
        UPLOAD_DIR=str(var / "uploads"),
    )
    return subprocess.run(
        [sys.executable, "manage.py", "restore", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_backup_restored_onto_an_empty_system_gives_back_every_row_and_file(
    scenario, tmp_path, empty_database
):
    producer = scenario.users["producer"]
    song_create(actor=producer, project=scenario.project, title="Kept")
    artwork, _ = stored_file_create(
        project=scenario.project, kind="artwork", media_type="image/png", path_or_bytes=PNG
    )
    report, _ = stored_file_create(
        project=scenario.project,
        kind="report",
        media_type="application/json",
        path_or_bytes=json.dumps({"qc": "pass"}).encode(),
    )
    epochs = dict(Project.objects.values_list("pk", "event_epoch"))

    folder = tmp_path / "backup"
    call_command("backup", str(folder))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {f["sha256"] for f in manifest["files"]} == {artwork.sha256, report.sha256}
    assert manifest["tables"]["studio_project"] == Project.objects.count()

    var = tmp_path / "restored"
    done = _restore(folder, empty_database, var)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "every project's event log has a new epoch" in done.stdout

    assert _table_digests(empty_database) == _table_digests(
        _server_url(connection.settings_dict["NAME"])
    )
    for asset in (artwork, report):
        restored = var / "media" / asset.storage_name
        assert hashlib.sha256(restored.read_bytes()).hexdigest() == asset.sha256
    with psycopg.connect(empty_database) as conn:
        after = dict(conn.execute("SELECT id, event_epoch FROM studio_project").fetchall())
    assert after.keys() == epochs.keys()
    assert all(after[pk] != epochs[pk] for pk in epochs)  # browsers on the old log resync

    # A second restore onto the now full system is refused, and changes nothing.
    again = _restore(folder, empty_database, var)
    assert again.returncode != 0 and "already holds projects or users" in again.stderr
    with psycopg.connect(empty_database) as conn:
        assert dict(conn.execute("SELECT id, event_epoch FROM studio_project").fetchall()) == after


def test_bad_backup_folders_are_refused_with_a_sentence(scenario, tmp_path, empty_database):
    stored_file_create(
        project=scenario.project, kind="artwork", media_type="image/png", path_or_bytes=PNG
    )
    folder = tmp_path / "backup"
    call_command("backup", str(folder))
    with pytest.raises(CommandError, match="is not empty"):
        call_command("backup", str(folder))

    var = tmp_path / "restored"
    nothing = _restore(tmp_path / "nowhere", empty_database, var)
    assert nothing.returncode != 0 and "not a Studio backup" in nothing.stderr
    assert "Traceback" not in nothing.stderr

    damaged = next((folder / "files").rglob("*.*"))
    damaged.write_bytes(damaged.read_bytes() + b"!")
    refused = _restore(folder, empty_database, var)
    assert refused.returncode != 0 and "is damaged: nothing was restored" in refused.stderr
    with psycopg.connect(empty_database) as conn:  # nothing was loaded
        assert (
            conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
            == 0
        )
    assert not (var / "media").exists() or not any((var / "media").rglob("*.*"))


def test_embedded_mode_backs_up_and_restores_its_sqlite_database(tmp_path):
    """`make run`'s SQLite: the online backup of the file, restored into a fresh folder."""

    def manage(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            k: v
            for k, v in service_env().items()
            if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "UPLOAD_DIR")
        }
        env.update(
            STUDIO_VAR_DIR=str(var),
            DJANGO_SUPERUSER_USERNAME="ada",
            DJANGO_SUPERUSER_EMAIL="ada@example.com",
            DJANGO_SUPERUSER_PASSWORD="a long enough password",
        )
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first, second = tmp_path / "first", tmp_path / "second"
    for args in (("migrate", "-v0"), ("createsuperuser", "--noinput")):
        assert manage(first, *args).returncode == 0
    made = manage(first, "backup", str(tmp_path / "backup"))
    assert made.returncode == 0, made.stderr[-2000:]
    restored = manage(second, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert manage(second, "restore", str(tmp_path / "backup")).returncode != 0  # not empty now
    users = manage(
        second,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "print(list(User.objects.values_list('username', flat=True)))",
    )
    assert users.stdout.strip().splitlines()[-1] == "['ada']", users.stderr[-2000:]
