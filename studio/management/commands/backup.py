"""`manage.py backup FOLDER`: the database and every stored file, consistently (see
studio/management/backups.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.management.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database and every stored file into a new folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="a new or empty folder")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = backup(options["folder"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(manifest["tables"].values())
        size = sum(f["bytes"] for f in manifest["files"])
        self.stdout.write(
            f"Backed up {rows} rows in {len(manifest['tables'])} tables and "
            f"{len(manifest['files'])} files ({size:,} bytes) into {options['folder']}"
        )
