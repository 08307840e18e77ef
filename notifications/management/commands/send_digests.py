"""`manage.py send_digests`: every person's e-mail digest now (what the beat task does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.digest import send_digests


class Command(BaseCommand):
    help = "Send each person the digest of their unread notifications not mailed yet."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_digests()
        self.stdout.write(f"{sent} digest{'s' if sent != 1 else ''} sent")
