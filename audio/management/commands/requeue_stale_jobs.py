"""Re-send queued jobs whose message was lost and recover running jobs whose lease lapsed."""

from typing import Any

from django.core.management.base import BaseCommand

from audio.services.jobs import requeue_stale_jobs
from audio.services.uploads import upload_sweep_expired


class Command(BaseCommand):
    help = "Re-enqueue stale queued jobs and running jobs whose lease lapsed; sweep old uploads."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--queued-after",
            type=float,
            default=None,
            help="re-send queued jobs whose message is older than this many seconds",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = requeue_stale_jobs(queued_after_s=options["queued_after"])
        removed = upload_sweep_expired()
        self.stdout.write(
            f"re-sent {counts['queued']} queued and {counts['running']} running jobs; "
            f"failed {counts['failed']}; removed {removed} expired uploads"
            f" and {counts.get('temp_removed', 0)} job temp files"
        )
