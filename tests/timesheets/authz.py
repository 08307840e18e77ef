"""Builders of time objects for the authorization matrix (tests/studio/test_authz_matrix.py)."""

from __future__ import annotations

from typing import Any

from studio.roles import Capability, role_can
from studio.selectors import member_role


def _task(s: Any) -> Any:
    from studio.models import Song
    from studio.services.songs import song_create
    from studio.services.tasks import task_create

    n = Song.objects.filter(project=s.project).count()
    song = song_create(actor=s.users["producer"], project=s.project, title=f"Matrix time {n}")
    return task_create(
        actor=s.users["producer"], song=song, title="Matrix time task", estimate_minutes=60
    )


def _owner(s: Any, actor: Any) -> Any:
    """The principal when they may log time (one edits and deletes one's own), else the artist.
    (Asked of the capability table only to pick an owner; the matrix's own table judges.)"""
    if actor is not None:
        role = member_role(user=actor, project_id=s.project.pk)
        if role_can(role, Capability.TIME_LOG):
            return actor
    return s.users["artist"]


def _entry(s: Any, actor: Any = None) -> Any:
    from timesheets.services import time_log

    task = _task(s)
    return time_log(actor=_owner(s, actor), song=task.song, task=task, minutes=30)


def _project_with_task(s: Any, actor: Any = None) -> Any:
    """The project, with a task to log against (`log_task`, its pk)."""
    s.project.log_task = _task(s).pk
    return s.project
