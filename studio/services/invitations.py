"""Invitations: a producer invites an e-mail address with a role; the invitee follows the
e-mailed link, signs in (or creates an account with that address), and lands in the project.

The link carries a random token; only its SHA-256 is stored. An invitation works once, until it
expires (INVITATION_DAYS) or a producer revokes it, and only for the account whose e-mail is the
invited address, so a forwarded link does not let someone else in. A new invitation to the same
address replaces the open one (a resend).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from eventlog.services import event_record, project_lock
from studio.errors import Conflict, Forbidden, Invalid, NotFound
from studio.models import Invitation, Membership, Project
from studio.payloads import invitation_payload, membership_payload
from studio.roles import Capability, Role
from studio.selectors import require_capability
from studio.services.accounts import account_create

INVITATION_DAYS = 7


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(
            f"'{email[:80]}' is not an e-mail address", fields={"email": ["not an e-mail address"]}
        ) from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def invitation_create(
    *, actor: Any, project: Project, email: str, role: str, link_for: Callable[[str], str]
) -> Invitation:
    """Invite `email` as `role` and e-mail the link (`link_for(token)`, an absolute URL) once
    the invitation is committed."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.MEMBERS_MANAGE)
    address = _clean_email(email)
    if role not in Role.values:
        raise Invalid(f"unknown role '{role[:20]}'", fields={"role": ["unknown role"]})
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        project_lock(project.pk)
        if Membership.objects.filter(project=project, user__email__iexact=address).exists():
            raise Conflict(f"{address} is already a member of this project", code="already_member")
        Invitation.objects.filter(
            project=project, email__iexact=address, accepted_at=None, revoked_at=None
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            project=project,
            email=address,
            role=role,
            token_sha256=token_sha256(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + datetime.timedelta(days=INVITATION_DAYS),
        )
        event_record(
            project=project,
            type="member.invited",
            payload={"invitation": invitation_payload(invitation)},
            actor=actor,
        )
        link = link_for(token)
        inviter = actor.get_full_name() or actor.get_username()
        transaction.on_commit(
            lambda: send_mail(
                subject=f"{inviter} invites you to {project.name} on Studio",
                message=(
                    f'{inviter} invites you to join the project "{project.name}" on Studio '
                    f"as {Role(role).label.lower()}.\n\n"
                    f"Open this link to join (it works once, for {address}, "
                    f"for {INVITATION_DAYS} days):\n\n{link}\n\n"
                    "If you did not expect this, ignore this e-mail."
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[address],
            )
        )
    return invitation


def invitation_revoke(*, actor: Any, invitation: Invitation) -> Invitation:
    require_capability(
        user=actor, project_id=invitation.project_id, capability=Capability.MEMBERS_MANAGE
    )
    with transaction.atomic():
        project_lock(invitation.project_id)
        invitation.refresh_from_db()
        if invitation.state != "open":
            raise Conflict(f"this invitation is {invitation.state} already", code="not_open")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        event_record(
            project=invitation.project,
            type="member.invitation_revoked",
            payload={"invitation": invitation_payload(invitation)},
            actor=actor,
        )
    return invitation


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link names, whatever its state (NotFound for a token never issued)."""
    if not token or len(token) > 100:
        raise NotFound("this invitation link is not valid")
    invitation = (
        Invitation.objects.select_related("project", "invited_by")
        .filter(token_sha256=token_sha256(token))
        .first()
    )
    if invitation is None:
        raise NotFound("this invitation link is not valid")
    return invitation


def _require_open(invitation: Invitation) -> None:
    state = invitation.state
    if state == "accepted":
        raise Conflict("this invitation has been used already", code="invitation_used")
    if state == "revoked":
        raise Conflict("this invitation was withdrawn", code="invitation_revoked")
    if state == "expired":
        raise Conflict(
            "this invitation has expired: ask a producer for a new one", code="invitation_expired"
        )


def invitation_accept(*, user: Any, token: str) -> Membership:
    """`user` (signed in, with the invited address) joins with the invited role."""
    invitation = invitation_for_token(token)
    with transaction.atomic():
        project_lock(invitation.project_id)
        invitation.refresh_from_db()
        _require_open(invitation)
        if (user.email or "").lower() != invitation.email.lower():
            raise Forbidden(
                f"this invitation is for {invitation.email}; you are signed in as "
                f"{user.get_username()}. Sign out and open the link again.",
                code="invitation_other_account",
            )
        membership = Membership.objects.filter(project_id=invitation.project_id, user=user).first()
        if membership is None:
            membership = Membership.objects.create(
                project_id=invitation.project_id, user=user, role=invitation.role
            )
            event_record(
                project=invitation.project,
                type="member.added",
                payload={"member": membership_payload(membership)},
                actor=user,
            )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def account_create_and_accept(
    *, token: str, username: str, password: str, display_name: str = ""
) -> tuple[Any, Membership]:
    """A new account for the invited address, then the invitation accepted, in one go."""
    invitation = invitation_for_token(token)
    _require_open(invitation)
    with transaction.atomic():
        user = account_create(
            username=username, email=invitation.email, password=password, display_name=display_name
        )
        membership = invitation_accept(user=user, token=token)
    return user, membership
