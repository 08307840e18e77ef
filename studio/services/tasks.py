"""Tasks on the board. A column is (project, status); ranks within it are dense 0..n-1, and
every service that changes them holds the project lock, so two people dragging at once never
leave gaps or duplicates."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from eventlog.services import event_record, project_lock
from studio.errors import Invalid
from studio.models import Membership, Song, Stage, Task, TaskStatus
from studio.models.task import ESTIMATE_MAX_MINUTES
from studio.payloads import task_payload
from studio.roles import Capability, Role
from studio.selectors import require_capability

EDIT_FIELDS = ("title", "description", "stage", "due_date", "assignee", "estimate_minutes")


def _check_estimate(minutes: Any) -> None:
    """An estimate is a whole number of minutes, none or up to 1,000 hours: a negative or absurd
    one would make every planned-against-spent total a lie."""
    if minutes is None:
        return
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise Invalid(
            "the estimate must be a whole number of minutes",
            code="estimate_invalid",
            fields={"estimate_minutes": ["a whole number of minutes"]},
        )
    if minutes < 0:
        raise Invalid(
            "the estimate cannot be negative",
            code="estimate_negative",
            fields={"estimate_minutes": ["0 or more minutes"]},
        )
    if minutes > ESTIMATE_MAX_MINUTES:
        raise Invalid(
            f"an estimate of more than {ESTIMATE_MAX_MINUTES // 60} hours is not a plan: "
            "split the task",
            code="estimate_too_large",
            fields={"estimate_minutes": [f"at most {ESTIMATE_MAX_MINUTES} minutes"]},
        )


def _check_assignee(project_id: int, assignee: Any) -> None:
    """An assignee is a member who works on the project: viewers only read."""
    if assignee is None:
        return
    role = (
        Membership.objects.filter(project_id=project_id, user=assignee)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise Invalid(
            "the assignee must be a member of the project",
            code="assignee_not_member",
            fields={"assignee": ["not a member of this project"]},
        )
    if role == Role.VIEWER:
        raise Invalid(
            "a viewer cannot be given tasks: choose a producer, engineer or artist",
            code="assignee_viewer",
            fields={"assignee": ["viewers only read"]},
        )


def _column_ids(project_id: int, status: str) -> list[int]:
    return list(
        Task.objects.filter(project_id=project_id, status=status)
        .order_by("rank", "id")
        .values_list("id", flat=True)
    )


def _write_ranks(ids: list[int]) -> None:
    for rank, task_id in enumerate(ids):
        Task.objects.filter(pk=task_id).exclude(rank=rank).update(rank=rank)


def task_create(
    *,
    actor: Any,
    song: Song,
    title: str,
    stage: str | None = None,
    description: str = "",
    assignee: Any = None,
    due_date: datetime.date | None = None,
    status: str = TaskStatus.TODO,
    estimate_minutes: int | None = None,
) -> Task:
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.TASK_EDIT, song_id=song.pk
    )
    stage = stage or song.stage
    if stage not in Stage.values:
        raise Invalid(f"unknown stage '{stage}'", fields={"stage": ["unknown stage"]})
    if status not in TaskStatus.values:
        raise Invalid(f"unknown status '{status}'", fields={"status": ["unknown status"]})
    _check_assignee(song.project_id, assignee)
    _check_estimate(estimate_minutes)
    with transaction.atomic():
        project_lock(song.project_id)
        rank = Task.objects.filter(project_id=song.project_id, status=status).count()
        task = Task.objects.create(
            project_id=song.project_id,
            song=song,
            stage=stage,
            title=title,
            description=description,
            assignee=assignee,
            due_date=due_date,
            status=status,
            rank=rank,
            estimate_minutes=estimate_minutes,
        )
        event_record(
            project=song.project_id,
            type="task.created",
            payload={"task": task_payload(task)},
            actor=actor,
        )
    return task


def task_update(*, actor: Any, task: Task, **fields: Any) -> Task:
    require_capability(
        user=actor,
        project_id=task.project_id,
        capability=Capability.TASK_EDIT,
        song_id=task.song_id,
    )
    changes = {k: v for k, v in fields.items() if k in EDIT_FIELDS}
    if "stage" in changes and changes["stage"] not in Stage.values:
        raise Invalid(f"unknown stage '{changes['stage']}'", fields={"stage": ["unknown stage"]})
    if "assignee" in changes:
        _check_assignee(task.project_id, changes["assignee"])
    if "estimate_minutes" in changes:
        _check_estimate(changes["estimate_minutes"])
    with transaction.atomic():
        project_lock(task.project_id)
        task = Task.objects.select_related("assignee").get(pk=task.pk)
        for name, value in changes.items():
            setattr(task, name, value)
        task.save()
        event_record(
            project=task.project_id,
            type="task.updated",
            payload={"task": task_payload(task)},
            actor=actor,
        )
    return task


def task_move(*, actor: Any, task: Task, status: str, rank: int | None = None) -> Task:
    """Put a task in column `status` at position `rank` (end when None); closes the gap it
    leaves and shifts the others. The event carries the full order of the touched columns."""
    require_capability(
        user=actor,
        project_id=task.project_id,
        capability=Capability.TASK_MOVE,
        song_id=task.song_id,
    )
    if status not in TaskStatus.values:
        raise Invalid(
            f"unknown status '{status}'",
            code="unknown_status",
            fields={"status": [f"choose one of {', '.join(TaskStatus.values)}"]},
        )
    if rank is not None and rank < 0:
        raise Invalid("rank must be 0 or more", fields={"rank": ["must be 0 or more"]})
    with transaction.atomic():
        project_lock(task.project_id)
        task = Task.objects.select_related("assignee").get(pk=task.pk)
        old_status = task.status
        source = [i for i in _column_ids(task.project_id, old_status) if i != task.pk]
        target = source if status == old_status else _column_ids(task.project_id, status)
        position = len(target) if rank is None else min(rank, len(target))
        target.insert(position, task.pk)
        Task.objects.filter(pk=task.pk).update(status=status)
        if status != old_status:
            _write_ranks(source)
        _write_ranks(target)
        task.refresh_from_db()
        columns = {status: target}
        if status != old_status:
            columns[old_status] = source
        event_record(
            project=task.project_id,
            type="task.moved",
            payload={"task": task_payload(task), "columns": columns},
            actor=actor,
        )
    return task


def task_delete(*, actor: Any, task: Task) -> None:
    require_capability(
        user=actor,
        project_id=task.project_id,
        capability=Capability.TASK_EDIT,
        song_id=task.song_id,
    )
    with transaction.atomic():
        project_lock(task.project_id)
        task = Task.objects.get(pk=task.pk)  # the caller's copy may be stale
        project_id, status, task_id = task.project_id, task.status, task.pk
        Task.objects.filter(pk=task_id).delete()
        remaining = _column_ids(project_id, status)
        _write_ranks(remaining)
        event_record(
            project=project_id,
            type="task.deleted",
            payload={"task": {"id": task_id}, "columns": {status: remaining}},
            actor=actor,
        )
