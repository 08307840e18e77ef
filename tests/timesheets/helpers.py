"""Builders for the timesheets tests, through the real services."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from sessions.services.working_sessions import session_schedule
from songsheet.services import section_add
from studio.services.songs import song_create
from studio.services.tasks import task_create
from timesheets.services import time_log

TODAY = datetime.date(2026, 11, 30)


def song(scenario: Any, title: str = "Night Drive") -> Any:
    return song_create(actor=scenario.users["producer"], project=scenario.project, title=title)


def task(scenario: Any, song: Any, stage: str, minutes: int | None, title: str = "Work") -> Any:
    return task_create(
        actor=scenario.users["producer"],
        song=song,
        title=title,
        stage=stage,
        estimate_minutes=minutes,
    )


def session(scenario: Any, song: Any, kind: str = "recording") -> Any:
    start = timezone.now() + datetime.timedelta(days=1)
    return session_schedule(
        actor=scenario.users["producer"],
        song=song,
        kind=kind,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )


def section(scenario: Any, song: Any, name: str, minutes: int | None) -> Any:
    return section_add(
        actor=scenario.users["producer"],
        song=song,
        data={"name": name, "bars": 8, "estimate_minutes": minutes},
    )


def log(scenario: Any, who: str, song: Any, minutes: int, **kw: Any) -> Any:
    kw.setdefault("spent_on", TODAY)
    return time_log(actor=scenario.users[who], song=song, minutes=minutes, **kw)
