"""Z5: every unsafe method on a session-authenticated route needs the CSRF token (ASVS 4.2.2,
13.2.3). Token-authenticated scripts are exempt, as DRF makes them; browsers are not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.studio.test_authz_matrix import PAGE_MAKERS, PAGES, REGISTRY, ROUTES, UNSAFE

pytestmark = pytest.mark.django_db

API_CASES = [r for r in ROUTES if r.method in UNSAFE]
PAGE_CASES = [name for name, page in PAGES.items() if page.post]


def csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("route", API_CASES, ids=[r.id for r in API_CASES])
def test_api_writes_need_the_csrf_token(route: Any, scenario: Any) -> None:
    spec = REGISTRY[route.view.__name__]
    producer = scenario.users["producer"]
    obj = spec.makers.get(route.action, spec.make)(scenario, producer)
    url = reverse(route.name, kwargs={spec.kwarg: obj.pk} if route.detail else {})
    headers = spec.headers.get(route.action, lambda s, o: {})(scenario, obj)
    body = spec.bodies.get(route.action, lambda s, o: {})(scenario, obj)
    client = csrf_client(producer)
    response = client.generic(
        route.method.upper(), url, json.dumps(body), content_type="application/json", **headers
    )
    assert response.status_code == 403, (route.id, response.status_code)
    assert "CSRF" in response.content.decode()


@pytest.mark.parametrize("name", PAGE_CASES)
def test_page_posts_need_the_csrf_token(name: str, scenario: Any) -> None:
    page = PAGES[name]
    producer = scenario.users["producer"]
    obj = PAGE_MAKERS[page.make](scenario, producer)
    kwargs = {page.kwarg: obj.pk}
    if name == "splits-set":
        kwargs["right"] = "master"
    response = csrf_client(producer).post(reverse(name, kwargs=kwargs), {})
    assert response.status_code == 403, (name, response.status_code)


def test_with_the_token_the_same_write_passes(scenario: Any) -> None:
    """The control: the refusal above is the CSRF check, not the role or the input."""
    client = csrf_client(scenario.users["producer"])
    client.get(reverse("project-list"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/songs/",
        {"project": scenario.project.pk, "title": "Token"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201
