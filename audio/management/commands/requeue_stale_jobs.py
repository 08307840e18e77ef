"""The sweep, by hand: the same service the periodic task and the worker's start-up run."""

from typing import Any

from django.core.management.base import BaseCommand

from audio.jobs.sweep import sweep


class Command(BaseCommand):
    help = "Re-send stale and lost jobs; remove job leftovers and expired uploads."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--queued-after",
            type=float,
            default=None,
            help="re-send queued jobs whose message is older than this many seconds",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = sweep(queued_after_s=options["queued_after"])
        self.stdout.write(
            f"re-sent {counts['queued']} queued and {counts['running']} running jobs; "
            f"failed {counts['failed']}; removed {counts['uploads_removed']} expired uploads"
            f" and {counts['temp_removed']} job temp files"
        )
