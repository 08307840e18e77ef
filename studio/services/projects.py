"""Projects and memberships. A project always keeps at least one producer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from eventlog.services import event_record, project_lock
from studio.errors import Conflict, Invalid, NotFound
from studio.gates import PROJECT_CHECKS
from studio.models import Membership, Project
from studio.payloads import membership_payload, project_payload
from studio.roles import Capability, Role
from studio.selectors import require_capability


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
