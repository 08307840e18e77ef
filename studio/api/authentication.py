"""API token authentication whose lookup is one fixed statement, not an ORM query built per request.

DRF's `TokenAuthentication` reads `Token.objects.select_related("user").get(key=...)`: Django
builds and compiles that query again on every API request, which was about a third of a cached
read's time in process (the waveform-peaks endpoint, L2 in docs/reliability.md). The statement
never changes, so it is composed once here (`studio.querysets.FixedRead`); what it answers is
DRF's: the token's user, refused when the token is unknown or the user inactive, with DRF's
messages.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from studio.querysets import FixedRead


@cache
def token_user_read() -> FixedRead:
    """Every column of the user a token key belongs to."""
    users, tokens = get_user_model(), Token._meta
    return FixedRead.compose(
        users,
        fields=[field.attname for field in users._meta.concrete_fields],
        alias="u",
        rest=(
            f'JOIN "{tokens.db_table}" t ON t."{tokens.get_field("user").column}" = '
            f'u."{users._meta.pk.column}" WHERE t."{tokens.pk.column}" = %s'
        ),
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, answered from one precomposed statement."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user = token_user_read().first([key])
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
