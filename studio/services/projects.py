"""Projects and memberships. A project always keeps at least one producer.

A project's lifecycle: archived (read-only, out of the active lists, until unarchived), deleted
(gone from every read; its producers may restore it for RESTORE_DAYS days), then purged (removed
with everything in it by `project_purge_expired`, which the periodic purge task runs)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from eventlog.services import event_record, project_lock
from studio.errors import Conflict, Invalid, NotFound
from studio.gates import PROJECT_CHECKS
from studio.models import Membership, Project, Song
from studio.payloads import membership_payload, project_payload, project_state_payload
from studio.roles import Capability, Role
from studio.selectors import RESTORE_DAYS, require_capability


def project_create(
    *, actor: Any, name: str, description: str = "", gate_checks: list[str] | None = None
) -> Project:
    """Any signed-in user may create a project and becomes its first producer."""
    checks = _gate_checks(gate_checks or [])
    with transaction.atomic():
        project = Project.objects.create(
            name=name, description=description, created_by=actor, gate_checks=checks
        )
        membership = Membership.objects.create(project=project, user=actor, role=Role.PRODUCER)
        event_record(
            project=project,
            type="project.created",
            payload={"project": project_payload(project)},
            actor=actor,
        )
        event_record(
            project=project,
            type="member.added",
            payload={"member": membership_payload(membership)},
            actor=actor,
        )
    return project


def _gate_checks(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in PROJECT_CHECKS]
    if unknown:
        raise Invalid(
            f"unknown gate check '{str(unknown[0])[:40]}'",
            fields={"gate_checks": [f"choose from {', '.join(sorted(PROJECT_CHECKS))}"]},
        )
    return sorted(set(names))


def project_update(
    *,
    actor: Any,
    project: Project,
    name: str | None = None,
    description: str | None = None,
    gate_checks: list[str] | None = None,
) -> Project:
    """Name, description and the checks the project adds to its stage gates (producers)."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.PROJECT_EDIT)
    checks = None if gate_checks is None else _gate_checks(gate_checks)
    with transaction.atomic():
        project = project_lock(project.pk)
        if name is not None:
            project.name = name
        if description is not None:
            project.description = description
        if checks is not None:
            project.gate_checks = checks
        project.save(update_fields=["name", "description", "gate_checks"])
        event_record(
            project=project,
            type="project.updated",
            payload={"project": project_payload(project)},
            actor=actor,
        )
    return project


def member_add(*, actor: Any, project: Project, username: str, role: str) -> Membership:
    require_capability(user=actor, project_id=project.pk, capability=Capability.MEMBERS_MANAGE)
    if role not in Role.values:
        raise Invalid(f"unknown role '{role}'", fields={"role": [f"unknown role '{role}'"]})
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise Invalid(f"no user named '{username}'", fields={"username": ["no such user"]})
    with transaction.atomic():
        project_lock(project.pk)
        if Membership.objects.filter(project=project, user=user).exists():
            raise Conflict(f"{username} is already a member", code="already_member")
        membership = Membership.objects.create(project=project, user=user, role=role)
        event_record(
            project=project,
            type="member.added",
            payload={"member": membership_payload(membership)},
            actor=actor,
        )
    return membership


def _producers_left_after(project_id: int, membership: Membership) -> int:
    return (
        Membership.objects.filter(project_id=project_id, role=Role.PRODUCER)
        .exclude(pk=membership.pk)
        .count()
    )


def member_set_role(*, actor: Any, membership: Membership, role: str) -> Membership:
    require_capability(
        user=actor, project_id=membership.project_id, capability=Capability.MEMBERS_MANAGE
    )
    if role not in Role.values:
        raise Invalid(f"unknown role '{role}'", fields={"role": [f"unknown role '{role}'"]})
    with transaction.atomic():
        project_lock(membership.project_id)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        if (
            membership.role == Role.PRODUCER
            and role != Role.PRODUCER
            and _producers_left_after(membership.project_id, membership) == 0
        ):
            raise Conflict("a project must keep at least one producer", code="last_producer")
        membership.role = role
        membership.save(update_fields=["role"])
        event_record(
            project=membership.project_id,
            type="member.role_changed",
            payload={"member": membership_payload(membership)},
            actor=actor,
        )
    return membership


def member_remove(*, actor: Any, membership: Membership) -> None:
    require_capability(
        user=actor, project_id=membership.project_id, capability=Capability.MEMBERS_MANAGE
    )
    with transaction.atomic():
        project_lock(membership.project_id)
        try:
            membership = Membership.objects.select_related("user").get(pk=membership.pk)
        except Membership.DoesNotExist:
            raise NotFound("member not found") from None
        if (
            membership.role == Role.PRODUCER
            and _producers_left_after(membership.project_id, membership) == 0
        ):
            raise Conflict("a project must keep at least one producer", code="last_producer")
        payload = {"member": membership_payload(membership)}
        membership.delete()
        event_record(
            project=payload["member"]["project"],
            type="member.removed",
            payload=payload,
            actor=actor,
        )


# --- lifecycle: archive, delete (soft), restore, purge ----------------------------------------
def _project_state_change(
    *, actor: Any, project: Project, type: str, check: Any, change: dict[str, Any]
) -> Project:
    """Lock the project, let `check` refuse on its fresh row, apply `change`, record `type`."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.LIFECYCLE)
    with transaction.atomic():
        project = project_lock(project.pk)
        check(project)
        for name, value in change.items():
            setattr(project, name, value)
        project.save(update_fields=list(change))
        event_record(
            project=project,
            type=type,
            payload={"project": project_state_payload(project)},
            actor=actor,
        )
    return project


def _live(project: Project) -> None:
    if project.deleted_at is not None:
        raise NotFound("project not found")


def project_archive(*, actor: Any, project: Project) -> Project:
    """Make the project read-only and move it under "Archived" (producers)."""

    def check(p: Project) -> None:
        _live(p)
        if p.archived_at is not None:
            raise Conflict("This project is already archived", code="already_archived")

    return _project_state_change(
        actor=actor,
        project=project,
        type="project.archived",
        check=check,
        change={"archived_at": timezone.now()},
    )


def project_unarchive(*, actor: Any, project: Project) -> Project:
    def check(p: Project) -> None:
        _live(p)
        if p.archived_at is None:
            raise Conflict("This project is not archived", code="not_archived")

    return _project_state_change(
        actor=actor,
        project=project,
        type="project.unarchived",
        check=check,
        change={"archived_at": None},
    )


def project_delete(*, actor: Any, project: Project) -> Project:
    """Soft delete: the project leaves every read at once; its producers may restore it for
    RESTORE_DAYS days. Open pages hear `project.deleted` and say so."""
    return _project_state_change(
        actor=actor,
        project=project,
        type="project.deleted",
        check=_live,
        change={"deleted_at": timezone.now(), "deleted_by": actor},
    )


def project_restore(*, actor: Any, project: Project) -> Project:
    """Undo a deletion within RESTORE_DAYS days (afterwards refused with a sentence)."""

    def check(p: Project) -> None:
        if p.deleted_at is None:
            raise Conflict("This project is not deleted", code="not_deleted")
        if timezone.now() >= p.deleted_at + datetime.timedelta(days=RESTORE_DAYS):
            raise Conflict(
                f"This project was deleted more than {RESTORE_DAYS} days ago: "
                "it can no longer be restored",
                code="restore_expired",
            )

    return _project_state_change(
        actor=actor,
        project=project,
        type="project.restored",
        check=check,
        change={"deleted_at": None, "deleted_by": None},
    )


def project_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Remove for good every project deleted more than RESTORE_DAYS days ago, with all it
    holds (its songs, files' rows and event log go with it: no one is left to tell). Each
    project is locked and checked again first, so a restore that wins the race keeps it.
    Returns how many were purged."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=RESTORE_DAYS)
    purged = 0
    for project_id in Project.objects.filter(deleted_at__lte=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            project = project_lock(project_id)
            if project.deleted_at is None or project.deleted_at > cutoff:
                continue
            _delete_with_all_it_holds(project)
            purged += 1
    return purged


def _delete_with_all_it_holds(project: Project) -> None:
    """Delete a project and every row under it. Stored files are protected from deletion while
    something points at them (a mix, a stem, a release's artwork ...), so the songs go first
    (taking what hangs on them), then whatever of this project's still holds a file, then the
    project. Rows of other apps are reached through the project's reverse relations only."""
    Song.objects.filter(project=project).delete()
    for _attempt in range(5):
        try:
            project.delete()
            return
        except ProtectedError as error:
            holders = list(error.protected_objects)
            if any(getattr(obj, "project_id", None) != project.pk for obj in holders):
                raise
            for obj in holders:
                type(obj)._default_manager.filter(pk=obj.pk).delete()
    project.delete()
