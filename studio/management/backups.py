"""Backup and restore of a whole Studio: the database and every stored file, consistently.

Consistency comes from one database snapshot. On PostgreSQL the backup opens a REPEATABLE READ
transaction, exports its snapshot to `pg_dump --snapshot` and reads the list of stored files
in that same transaction; on SQLite it copies the database with SQLite's online backup and reads
the list from the copy. Stored files are written before the row that names them commits and are
never changed afterwards, so every file the snapshot names exists when it is copied; each copy
is checked against the SHA-256 its row holds. A file purged between the snapshot and its copy
fails the backup with a sentence (run it again) rather than leave a hole.

A backup is a folder: `database.dump` (pg_dump's custom format) or `database.sqlite3`,
`files/<storage name>`, and `manifest.json` (engine, time, row counts per table, each file's
size and SHA-256). Restore checks every file against the manifest before it writes anything,
refuses a database that holds data, loads the database, puts the files into storage, checks
the row counts, and gives every project a new event-log epoch: browsers that hold seqs of the
old log resync instead of trusting them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction

from studio.models import Project
from studio.models.project import new_epoch

MANIFEST = "manifest.json"
FORMAT = 1
BLOCK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, as a sentence."""


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str


def _pg_env() -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump / pg_restore from Django's settings (the password in
    the environment, never on a command line)."""
    db = settings.DATABASES["default"]
    args = ["-h", str(db.get("HOST") or "127.0.0.1"), "-p", str(db.get("PORT") or 5432)]
    args += ["-U", str(db.get("USER") or "postgres"), "-d", str(db["NAME"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} is not installed (apt-get install postgresql-client)"
        ) from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:500]}")


def _count(cursor: Any, table: str) -> int:
    # The table names come from Django's own introspection, never from input.
    cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
    return int(cursor.fetchone()[0])


def _table_counts(cursor: Any) -> dict[str, int]:
    """Rows per table of Studio's models (through `cursor`: the snapshot's or the copy's)."""
    tables = sorted(connection.introspection.django_table_names(only_existing=True))
    return {table: _count(cursor, table) for table in tables}


def _stored_files(cursor: Any) -> list[StoredFile]:
    # An asset's bytes, and its waveform peaks file once analysed (each with its SHA-256).
    cursor.execute(
        "SELECT storage_name, sha256 FROM audio_asset UNION "
        "SELECT peaks_name, peaks_sha256 FROM audio_asset WHERE peaks_name <> '' ORDER BY 1"
    )
    return [StoredFile(name, sha) for name, sha in cursor.fetchall()]


def _copy_out(name: str, dest: Path) -> tuple[int, str]:
    """Copy one stored file into the backup, returning its size and SHA-256."""
    digest, size = hashlib.sha256(), 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with default_storage.open(name, "rb") as src, open(dest, "wb") as out:
            while block := src.read(BLOCK):
                digest.update(block)
                size += len(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError:
        raise BackupError(
            f"{name} vanished during the backup (a purge ran?): run it again"
        ) from None
    return size, digest.hexdigest()


def _safe_part(name: str) -> Path:
    """A storage name as a relative path inside the backup; anything climbing out is refused."""
    path = Path(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"refusing the stored name {name!r}: not a plain relative path")
    return path


def _snapshot_postgresql(out: Path) -> tuple[list[StoredFile], dict[str, int]]:
    """pg_dump of an exported snapshot, and the files and counts read in that same snapshot."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        args, env = _pg_env()
        dump = ["pg_dump", *args, "-Fc", "--no-owner", f"--snapshot={snapshot}"]
        _run([*dump, "-f", str(out / "database.dump")], env)
        return _stored_files(cursor), _table_counts(cursor)


def _snapshot_sqlite(out: Path) -> tuple[list[StoredFile], dict[str, int]]:
    """SQLite's online backup (consistent by itself; outside a transaction of ours, which would
    make it wait on itself), then the files and counts read from the copy."""
    connection.ensure_connection()
    target = sqlite3.connect(out / "database.sqlite3")
    try:
        connection.connection.backup(target)
        copy = target.cursor()
        return _stored_files(copy), _table_counts(copy)
    finally:
        target.close()


def backup(out: Path) -> dict[str, Any]:
    """Write a backup folder at `out` (new or empty); returns the manifest."""
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: back up into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    engine = connection.vendor
    if engine == "postgresql":
        files, counts = _snapshot_postgresql(out)
    elif engine == "sqlite":
        files, counts = _snapshot_sqlite(out)
    else:
        raise BackupError(f"no backup for a {engine} database")
    listed = []
    for stored in files:
        size, sha = _copy_out(stored.name, out / "files" / _safe_part(stored.name))
        if sha != stored.sha256:
            raise BackupError(f"{stored.name} does not match its checksum: the stored file changed")
        listed.append({"name": stored.name, "bytes": size, "sha256": sha})
    manifest = {
        "format": FORMAT,
        "engine": engine,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": counts,
        "files": listed,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} holds no {MANIFEST}: not a Studio backup") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src / MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{src / MANIFEST} is not a backup of format {FORMAT}")
    return manifest


def _check_files(src: Path, manifest: dict[str, Any]) -> None:
    """Every file of the backup is there with its size and SHA-256, before anything is written."""
    for entry in manifest["files"]:
        path = src / "files" / _safe_part(entry["name"])
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                while block := fh.read(BLOCK):
                    digest.update(block)
        except FileNotFoundError:
            raise BackupError(f"the backup lacks {entry['name']}: nothing was restored") from None
        if digest.hexdigest() != entry["sha256"]:
            raise BackupError(f"{entry['name']} in the backup is damaged: nothing was restored")


def _database_holds_data() -> bool:
    tables = connection.introspection.django_table_names(only_existing=True)
    if "studio_project" not in tables and "auth_user" not in tables:
        return False
    with connection.cursor() as cursor:
        return any(_count(cursor, t) for t in ("studio_project", "auth_user") if t in tables)


def _put_file(src: Path, name: str, sha256: str) -> None:
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as fh:
            if hashlib.file_digest(fh, "sha256").hexdigest() == sha256:
                return  # a restore run again after a failure: the file is already in place
        raise BackupError(f"the storage already holds another {name}: restore onto an empty one")
    with open(src, "rb") as fh:
        saved = default_storage.save(name, File(fh, name=name))
    if saved != name:
        raise BackupError(f"the storage renamed {name} to {saved}")


def restore(src: Path) -> dict[str, Any]:
    """Restore the backup folder `src` onto this empty system; returns the manifest."""
    manifest = _read_manifest(src)
    engine = connection.vendor
    if manifest.get("engine") != engine:
        raise BackupError(f"this backup is of a {manifest.get('engine')} database, not {engine}")
    _check_files(src, manifest)
    if _database_holds_data():
        raise BackupError(
            "this database already holds projects or users: restore onto an empty one"
        )
    if engine == "postgresql":
        args, env = _pg_env()
        _run(
            [
                "pg_restore",
                *args,
                "--no-owner",
                "--clean",
                "--if-exists",
                str(src / "database.dump"),
            ],
            env,
        )
    else:
        connection.close()
        shutil.copyfile(src / "database.sqlite3", settings.DATABASES["default"]["NAME"])
    connection.close()  # the restored schema and rows, seen afresh
    for entry in manifest["files"]:
        _put_file(src / "files" / _safe_part(entry["name"]), entry["name"], entry["sha256"])
    with connection.cursor() as cursor:
        counts = _table_counts(cursor)
    differ = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if differ:
        raise BackupError(f"the restored tables do not match the backup: {differ}")
    with transaction.atomic():
        for project in Project.objects.select_for_update().only("pk"):
            Project.objects.filter(pk=project.pk).update(event_epoch=new_epoch())
    return manifest
