"""Scenario fixtures: a project with one member per role, plus an outsider, built through the
real services so tests walk the same code paths as the app."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

# PBKDF2 costs ~0.3 s per user; tests and the servers they start use a fast hasher.
# (Guarded: `make test-fast` runs the engine tests with no Django settings at all.)
os.environ["STUDIO_FAST_PASSWORD_HASHER"] = "1"
if settings.configured:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

ROLES = ["producer", "engineer", "artist", "viewer"]


@dataclass
class Scenario:
    project: Any
    users: dict[str, Any]  # role name (and "outsider") -> user

    def client(self, who: str | None) -> Any:
        from rest_framework.test import APIClient

        client = APIClient()
        if who is not None:
            client.force_authenticate(self.users[who])
        return client

    def browser(self, who: str | None) -> Any:
        """A plain Django test client with a session, as the pages see a member (anonymous for
        None); server errors come back as 500 responses, not exceptions."""
        from django.test import Client

        client = Client(raise_request_exception=False)
        if who is not None:
            client.force_login(self.users[who])
        return client


def make_scenario(name: str = "Night Drive EP", prefix: str = "") -> Scenario:
    from studio.services.projects import member_add, project_create
    from tests.factories import UserFactory

    producer = UserFactory(username=f"{prefix}producer")
    project = project_create(actor=producer, name=name)
    users: dict[str, Any] = {"producer": producer}
    for role in ROLES[1:]:
        user = UserFactory(username=f"{prefix}{role}")
        member_add(actor=producer, project=project, username=user.username, role=role)
        users[str(role)] = user
    users["outsider"] = UserFactory(username=f"{prefix}outsider")
    return Scenario(project=project, users=users)


@pytest.fixture
def scenario(db: Any) -> Scenario:
    return make_scenario()


@pytest.fixture
def other_scenario(db: Any) -> Scenario:
    return make_scenario("Someone else's LP", prefix="x")


@pytest.fixture
def song(scenario: Scenario) -> Any:
    from studio.services.songs import song_create

    return song_create(
        actor=scenario.users["producer"], project=scenario.project, title="Night Drive"
    )
