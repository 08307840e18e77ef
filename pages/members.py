"""Pages: the project's members (invite, change role, remove)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pages.invitations import pending_invitations
from pages.kit import (
    form_error,
    is_htmx,
    member_project,
    page,
    page_context,
)
from studio.errors import Invalid
from studio.models import (
    Membership,
)
from studio.roles import Capability as C
from studio.roles import Role
from studio.services import projects


# --- members --------------------------------------------------------------------------------
def _members_context(project: Any, role: str) -> dict[str, Any]:
    members = (
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )
    return page_context(
        project,
        role,
        nav="members",
        members=members,
        roles=Role.choices,
        invitations=pending_invitations(project),
    )


@page
def project_members(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    ctx = _members_context(project, role)
    if is_htmx(request):
        return render(request, "studio/_members.html", ctx)
    return render(request, "studio/members.html", ctx)


@page
@require_POST
def member_add(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.MEMBERS_MANAGE)
    try:
        projects.member_add(
            actor=request.user,
            project=project,
            username=request.POST.get("username", "").strip(),
            role=request.POST.get("role", ""),
        )
    except Invalid as error:
        return form_error(request, error, "#member-form-error")
    if not is_htmx(request):
        return redirect("project-members", project.pk)
    return render(request, "studio/_members.html", _members_context(project, role))


@page
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.visible_to(request.user), pk=membership_id)
    project, role = member_project(request, membership.project_id, C.MEMBERS_MANAGE)
    projects.member_set_role(
        actor=request.user, membership=membership, role=request.POST.get("role", "")
    )
    if not is_htmx(request):
        return redirect("project-members", project.pk)
    return render(request, "studio/_members.html", _members_context(project, role))


@page
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.visible_to(request.user), pk=membership_id)
    project, role = member_project(request, membership.project_id, C.MEMBERS_MANAGE)
    projects.member_remove(actor=request.user, membership=membership)
    if not is_htmx(request):
        return redirect("project-members", project.pk)
    return render(request, "studio/_members.html", _members_context(project, role))
