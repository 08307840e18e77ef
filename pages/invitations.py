"""Pages: invitations by e-mail (sent from the members page) and the page the link opens.

The invite page needs no session: a stranger with the link sees the project and the role, then
signs in (an account with the invited address exists) or creates one, and lands in the project.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from pages.kit import form_error, is_htmx, member_project, page, page_context
from studio.errors import DomainError, Invalid
from studio.models import Invitation
from studio.roles import Capability as C
from studio.roles import Role
from studio.services import invitations


def pending_invitations(project: Any) -> list[Invitation]:
    """The project's open invitations, newest first."""
    return list(
        project.invitations.filter(
            accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
        )[:50]
    )


def invitations_context(project: Any, role: str) -> dict[str, Any]:
    return page_context(
        project, role, nav="members", invitations=pending_invitations(project), roles=Role.choices
    )


def _invitations_part(request: HttpRequest, project: Any, role: str) -> HttpResponse:
    return render(request, "studio/_invitations.html", invitations_context(project, role))


@page
def project_invitations(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.MEMBERS_MANAGE)
    if request.method == "POST":
        try:
            invitations.invitation_create(
                actor=request.user,
                project=project,
                email=request.POST.get("email", ""),
                role=request.POST.get("role", ""),
                link_for=lambda token: request.build_absolute_uri(
                    reverse("invitation-open", args=[token])
                ),
            )
        except DomainError as error:
            return form_error(request, Invalid(error.detail, code=error.code), "#invite-error")
        if not is_htmx(request):
            return redirect("project-members", project.pk)
    return _invitations_part(request, project, role)


@page
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.visible_to(request.user), pk=invitation_id)
    project, role = member_project(request, invitation.project_id, C.MEMBERS_MANAGE)
    invitations.invitation_revoke(actor=request.user, invitation=invitation)
    if not is_htmx(request):
        return redirect("project-members", project.pk)
    return _invitations_part(request, project, role)


@require_http_methods(["GET", "POST"])
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the e-mail. GET shows it; POST joins (signed in) or creates the account."""
    try:
        invitation = invitations.invitation_for_token(token)
    except DomainError as error:
        return _invite_page(request, None, token, error=error.detail, status=404)
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                membership = invitations.invitation_accept(user=request.user, token=token)
            else:
                user, membership = invitations.account_create_and_accept(
                    token=token,
                    username=request.POST.get("username", ""),
                    password=password_from_form(request),
                    display_name=request.POST.get("display_name", ""),
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except DomainError as error:
            return _invite_page(request, invitation, token, error=error.detail, status=error.status)
        return redirect("project-dashboard", membership.project_id)
    return _invite_page(request, invitation, token)


def password_from_form(request: HttpRequest) -> str:
    """The new password of an account form, typed twice (Invalid when the two differ)."""
    password = request.POST.get("password", "")
    if password != request.POST.get("password_again", ""):
        raise Invalid("the two passwords differ", fields={"password_again": ["differs"]})
    return password


def _invite_page(
    request: HttpRequest,
    invitation: Invitation | None,
    token: str,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    has_account = bool(
        invitation
        and get_user_model().objects.filter(email__iexact=invitation.email, is_active=True).exists()
    )
    ctx = {
        "invitation": invitation,
        "token": token,
        "error": error,
        "has_account": has_account,
        "signed_in_as_invitee": bool(
            invitation
            and request.user.is_authenticated
            and (request.user.email or "").lower() == invitation.email.lower()
        ),
        "role_label": Role(invitation.role).label if invitation else "",
    }
    return render(request, "studio/invitation.html", ctx, status=status)
