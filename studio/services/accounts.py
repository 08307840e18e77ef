"""Accounts: made from an invitation, or by open sign-up where the instance allows it
(STUDIO_OPEN_SIGNUP, off by default). One address, one account. And a person's own profile:
the display name (User.first_name) and the time zone their pages show times in."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from eventlog.services import event_record, project_lock
from studio.errors import Conflict, Invalid
from studio.models import Membership, Profile
from studio.payloads import membership_payload

_ZONES = frozenset(zoneinfo.available_timezones())


def account_create(*, username: str, email: str, password: str, display_name: str = "") -> Any:
    """A new active user; Invalid says which field is wrong and why."""
    User = get_user_model()
    username = (username or "").strip()
    email = (email or "").strip()
    if not username or len(username) > 150:
        raise Invalid(
            "choose a user name (at most 150 characters)", fields={"username": ["required"]}
        )
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(
            f"'{email[:80]}' is not an e-mail address", fields={"email": ["not an address"]}
        ) from None
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(
            f"an account with {email} exists already: sign in instead", code="account_exists"
        )
    candidate = User(username=username, email=email, first_name=display_name[:150])
    try:
        User._meta.get_field("username").run_validators(username)
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), fields={"password": error.messages}) from None
    taken = Invalid(f"the user name '{username}' is taken", fields={"username": ["taken"]})
    if User.objects.filter(username__iexact=username).exists():
        raise taken
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=username,
                email=email,
                password=password,
                first_name=display_name.strip()[:150],
            )
    except IntegrityError:
        raise taken from None


# --- a person's own profile: the name others see and the zone times are shown in -------------
DISPLAY_NAME_MAX = 150  # User.first_name's length


def time_zone_names() -> list[str]:
    """The zones a person may choose (the IANA names this Python knows), sorted for a select."""
    return sorted(_ZONES)


def profile_get(*, user: Any) -> Profile:
    """The user's Profile, made on first use (accounts older than profiles have none)."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def profile_time_zone(*, user: Any) -> str | None:
    """The zone a signed-in user chose, or None while they have no profile. One query; creates
    nothing, so a page view never writes."""
    zone = Profile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
    return zone if zone in _ZONES else None


def profile_update(
    *, actor: Any, display_name: str | None = None, time_zone: str | None = None
) -> Profile:
    """Change the actor's own display name (User.first_name) and time zone; None leaves a field
    as it is. Invalid names the field and says why; nothing is stored unless both are valid."""
    name = None
    if display_name is not None:
        if not isinstance(display_name, str):
            raise Invalid("the display name must be text", fields={"display_name": ["not text"]})
        name = display_name.strip()
        if len(name) > DISPLAY_NAME_MAX:
            raise Invalid(
                f"the display name is too long: at most {DISPLAY_NAME_MAX} characters",
                fields={"display_name": [f"at most {DISPLAY_NAME_MAX} characters"]},
            )
    zone = None
    if time_zone is not None:
        zone = time_zone.strip() if isinstance(time_zone, str) else ""
        if zone not in _ZONES:
            shown = zone[:60] or "an empty name"
            raise Invalid(
                f"'{shown}' is not a time zone Studio knows: choose one from the list "
                "(for example Europe/Paris or America/New_York)",
                fields={"time_zone": ["unknown time zone"]},
            )
    with transaction.atomic():
        if name is not None and name != actor.first_name:
            _rename(actor=actor, name=name)
        profile, _ = Profile.objects.select_for_update().get_or_create(user=actor)
        if zone is not None and zone != profile.time_zone:
            profile.time_zone = zone
            profile.save(update_fields=["time_zone"])
    return profile


def _rename(*, actor: Any, name: str) -> None:
    """A new display name, told to every project the person is in (`member.renamed`), so open
    pages there re-draw it. Projects are locked first, in id order (the house's lock order),
    then the user row is written. The time zone is the person's own and is told to no one."""
    previous = actor.get_short_name() or actor.username
    memberships = list(
        Membership.objects.filter(user=actor).select_related("user").order_by("project_id")
    )
    for membership in memberships:
        project_lock(membership.project_id)
    actor.first_name = name
    actor.save(update_fields=["first_name"])
    for membership in memberships:
        event_record(
            project=membership.project_id,
            type="member.renamed",
            payload={
                "member": membership_payload(membership),
                "display_name": name,
                "previous": previous,
            },
            actor=actor,
        )
