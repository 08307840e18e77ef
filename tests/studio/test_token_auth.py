"""The API's token authentication (one fixed statement) answers as DRF's does."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from studio.api.authentication import TokenAuthentication


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_reads_its_user_with_every_field_as_the_orm_does(scenario: Any) -> None:
    user = scenario.users["engineer"]
    token = Token.objects.create(user=user)
    found, auth = TokenAuthentication().authenticate_credentials(token.key)
    expected = get_user_model().objects.get(pk=user.pk)
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    assert auth.key == token.key and auth.user == expected
    response = _client(token.key).get("/api/me/")
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_unknown_revoked_and_inactive_tokens_are_refused_with_drfs_words(scenario: Any) -> None:
    user = scenario.users["viewer"]
    token = Token.objects.create(user=user)
    for key in ("nope", "x" * 40, "'; DROP TABLE auth_user; --"):
        response = _client(key).get("/api/me/")
        assert response.status_code == 401
        assert "Invalid token" in response.json()["detail"]
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    response = _client(token.key).get("/api/me/")
    assert response.status_code == 401
    assert "inactive" in response.json()["detail"]
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    assert _client(token.key).get("/api/me/").status_code == 200
    token.delete()
    assert _client(token.key).get("/api/me/").status_code == 401
