"""`manage.py restore FOLDER`: a backup onto an empty system (see studio/management/backups.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.management.backups import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup folder onto an empty database and storage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="a folder written by `manage.py backup`")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = restore(options["folder"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Restored {sum(manifest['tables'].values())} rows and {len(manifest['files'])} "
            f"files from {options['folder']}; every project's event log has a new epoch"
        )
