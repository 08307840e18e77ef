"""The demo's time (called by `manage.py seed_demo`): estimates on the demo's tasks, and a few
days logged, so the Time page has a plan and 'Glass Harbour' runs over it."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from studio.models import Project, Task
from studio.services.tasks import task_update
from timesheets.services import time_log

ESTIMATES = {
    "Print mix 3 with the vocal up 1 dB": 120,
    "Approve the chorus balance": 30,
    "Track the lead vocal": 180,
    "Comp the drum takes": 90,
    "Finish the second verse lyric": 120,
}
LOGGED = [  # task title, who, minutes, days ago, note
    ("Print mix 3 with the vocal up 1 dB", "leo", 75, 1, "Vocal rides, first pass"),
    ("Track the lead vocal", "ava", 150, 3, "Verses and the first chorus"),
    ("Track the lead vocal", "leo", 120, 2, "Second chorus and ad-libs"),
    ("Comp the drum takes", "leo", 100, 1, "Takes 2 and 5 against the click"),
]


def seed_demo_time(*, project: Project, users: dict[str, Any]) -> None:
    mia = users["mia"]
    by_title = {t.title: t for t in Task.objects.filter(project=project)}
    for title, minutes in ESTIMATES.items():
        if title in by_title:
            by_title[title] = task_update(actor=mia, task=by_title[title], estimate_minutes=minutes)
    today = timezone.localdate()
    for title, who, minutes, ago, note in LOGGED:
        task = by_title.get(title)
        if task is None:
            continue
        time_log(
            actor=users[who],
            song=task.song,
            task=task,
            minutes=minutes,
            spent_on=today - datetime.timedelta(days=ago),
            note=note,
        )
