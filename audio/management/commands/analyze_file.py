"""Analyse a local file with the engine and print the report as JSON (no database needed)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audio.engine.analysis import analyze_file
from audio.engine.errors import AudioError
from audio.engine.io import Limits
from audio.services.assets import engine_limits_kwargs


class Command(BaseCommand):
    help = "Analyse an audio file with the engine and print one JSON report."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--peaks", action="store_true", help="include the waveform peaks")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = analyze_file(
                options["path"],
                limits=Limits(**engine_limits_kwargs()),
                with_peaks=options["peaks"],
            )
        except AudioError as exc:
            raise CommandError(str(exc)) from None
        data = report.to_dict()
        if not options["peaks"]:
            data.pop("peaks", None)
        self.stdout.write(json.dumps(data, indent=2, sort_keys=True))
