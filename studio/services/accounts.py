"""Accounts: made from an invitation, or by open sign-up where the instance allows it
(STUDIO_OPEN_SIGNUP, off by default). One address, one account."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from studio.errors import Conflict, Invalid


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
