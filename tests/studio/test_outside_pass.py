"""The outside attack, run again from inside: every route as eight identities, every field of
every write given hostile values, every list filter given hostile queries, every page form
fuzzed. Nothing may answer 5xx, and a hostile body may not change a row it was refused for.

The routes, objects and valid bodies come from the authorization matrix's tables (one source of
truth for how to reach each route); this file only decides what to break in them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import Scenario
from tests.studio.test_authz_matrix import (
    PAGE_CASES,
    PAGE_MAKERS,
    PAGES,
    POLICY,
    REGISTRY,
    ROUTES,
    SIGNED_IN,
    UNSAFE,
    Route,
    _song,
    roles,
)

pytestmark = pytest.mark.django_db

# The assessment's eight identities: the six of the matrix, a member who was removed, and a
# staff superuser who is not a member (staff rights end at the admin site). The producer goes
# last: a delete that succeeds must not take the object from the identities after it.
IDENTITIES = [
    "anonymous",
    "outsider",
    "removed",
    "staff",
    "viewer",
    "artist",
    "engineer",
    "producer",
]

LONE_SURROGATE = "\ud800"
# Values each field of a valid body is replaced with, one at a time.
HOSTILE_VALUES: list[Any] = [
    LONE_SURROGATE,
    "x" * 100_000,
    float("nan"),
    float("inf"),
    -1,
    2**64,
    None,
    [],
    {},
    True,
    "0x10",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\x00",
]
# Whole bodies that are not what any route expects.
HOSTILE_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b"[]"),
    ("application/json", b'"text"'),
    ("application/json", b"null"),
    ("application/json", b"{"),
    ("application/json", b'{"a": ' * 3000 + b"1" + b"}" * 3000),
    ("application/json", b'{"x": "\\ud800"}'),
    ("application/json", b"\xff\xfe\x00"),
    ("text/plain", b"hello"),
    ("application/x-www-form-urlencoded", b"a=%ff%fe&b=%00"),
]
HOSTILE_QUERIES = [
    "project=%ff",
    "project=-1",
    "project=99999999999999999999",
    "song=abc",
    "mix=1e3",
    "page=0",
    "page=-1",
    "page_size=100000",
    "ordering=password",
    "status=%ed%a0%80",
    "stage=\x00",
    "after=NaN",
]
HOSTILE_FORM_VALUES = [
    "\ud800",
    "x" * 100_000,
    "nan",
    "inf",
    "-1",
    "99999999999999999999",
    "9999-12-31T23:59",
    "0001-01-01",
    "",
    "../../etc/passwd",
    "\x00",
]


def _dumps(body: Any) -> bytes:
    """JSON as an attacker sends it: NaN and Infinity literals, lone surrogates escaped."""
    return json.dumps(body, allow_nan=True).encode()


def identity_client(scenario: Scenario, identity: str) -> Any:
    """An API client signed in as one of the eight identities (anonymous: not signed in)."""
    if identity in ("removed", "staff"):
        from rest_framework.test import APIClient

        user_model = get_user_model()
        if identity == "removed":
            user, _ = user_model.objects.get_or_create(username="removed-member")
            from studio.models import Membership

            Membership.objects.get_or_create(project=scenario.project, user=user, role="engineer")
            Membership.objects.filter(project=scenario.project, user=user).delete()
        else:
            user, _ = user_model.objects.get_or_create(
                username="staff-admin", defaults={"is_staff": True, "is_superuser": True}
            )
        client = APIClient()
        client.force_authenticate(user)
        return client
    return scenario.client(None if identity == "anonymous" else identity)


def _url_and_body(route: Route, scenario: Scenario, actor: Any) -> tuple[str, dict[str, Any]]:
    spec = REGISTRY[route.view.__name__]
    obj = spec.makers.get(route.action, spec.make)(scenario, actor)
    kwargs = {spec.kwarg: obj.pk} if route.detail else {}
    url = reverse(route.name, kwargs=kwargs)
    if route.action == "list":
        url += spec.list_query.format(project=scenario.project.pk)
    if route.action in spec.queries:
        url += spec.queries[route.action](scenario, obj)
    body = spec.bodies.get(route.action, lambda s, o: {})(scenario, obj)
    return url, body


def _send(client: Any, method: str, url: str, content_type: str, data: bytes) -> Any:
    return client.generic(method.upper(), url, data, content_type=content_type)


def _where(route: Route, who: str, what: str, response: Any) -> str:
    content = b"<stream>" if getattr(response, "streaming", False) else response.content[:300]
    return f"{route.id} as {who} with {what}: {response.status_code} {content!r}"


WRITES = [r for r in ROUTES if r.method in UNSAFE and r.action not in ("destroy",)]
READS = [r for r in ROUTES if r.method == "get"]


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_every_route_as_eight_identities_with_a_hostile_body(
    route: Route, scenario: Scenario, other_scenario: Scenario, settings: Any
) -> None:
    settings.UPLOAD_MAX_CONCURRENT_PER_USER = 100
    for number, identity in enumerate(IDENTITIES):
        actor = scenario.users.get(identity)
        url, _ = _url_and_body(route, scenario, actor)
        content_type, data = HOSTILE_BODIES[number % len(HOSTILE_BODIES)]
        if route.method == "get":
            url += ("&" if "?" in url else "?") + HOSTILE_QUERIES[number % len(HOSTILE_QUERIES)]
            data = b""
        response = _send(identity_client(scenario, identity), route.method, url, content_type, data)
        assert response.status_code < 500, _where(route, identity, repr(data[:40]), response)
        # Neither a removed member nor staff reaches the project's objects.
        open_to_all = POLICY[route.key] == SIGNED_IN
        if identity in ("removed", "staff") and route.action != "list" and not open_to_all:
            assert not 200 <= response.status_code < 300, _where(route, identity, "", response)


@pytest.mark.parametrize("route", WRITES, ids=[r.id for r in WRITES])
def test_every_field_of_every_write_with_hostile_values(
    route: Route, scenario: Scenario, other_scenario: Scenario, settings: Any
) -> None:
    """As a role that may make the write (so the request reaches validation), each field of the
    valid body is replaced by each hostile value; then each whole hostile body is sent."""
    settings.UPLOAD_MAX_CONCURRENT_PER_USER = 100
    spec = REGISTRY[route.view.__name__]
    if route.action in spec.raw:
        pytest.skip("a raw-bytes route (tus): its headers are fuzzed in tests/audio")
    allowed = sorted(roles(POLICY[route.key]) & set(scenario.users)) or ["producer"]
    who = "producer" if "producer" in allowed else allowed[0]
    client = scenario.client(who)
    url, body = _url_and_body(route, scenario, scenario.users[who])
    for name in list(body) or ["unexpected"]:
        for value in HOSTILE_VALUES:
            hostile = {**body, name: value}
            response = _send(client, route.method, url, "application/json", _dumps(hostile))
            assert response.status_code < 500, _where(route, who, f"{name}={value!r:.40}", response)
    for content_type, data in HOSTILE_BODIES:
        response = _send(client, route.method, url, content_type, data)
        assert response.status_code < 500, _where(route, who, repr(data[:40]), response)


@pytest.mark.parametrize("route", READS, ids=[r.id for r in READS])
def test_every_read_with_hostile_queries(
    route: Route, scenario: Scenario, other_scenario: Scenario
) -> None:
    client = scenario.client("producer")
    url, _ = _url_and_body(route, scenario, scenario.users["producer"])
    for query in HOSTILE_QUERIES:
        response = client.get(url + ("&" if "?" in url else "?") + query)
        assert response.status_code < 500, _where(route, "producer", query, response)


POSTS = [(name, method) for name, method in PAGE_CASES if method == "post"]


@pytest.mark.parametrize(("name", "method"), POSTS, ids=[f"POST {n}" for n, _ in POSTS])
def test_every_page_form_with_hostile_values(
    name: str, method: str, scenario: Scenario, other_scenario: Any, client: Any
) -> None:
    """Each field of each page form, and one field the form does not have, given each hostile
    value by a role that may post the form: a page with the problem or a redirect, never 5xx."""
    page = PAGES[name]
    who = sorted(roles(page.post))[0] if page.post else "producer"
    if "P" in (page.post or ""):
        who = "producer"
    actor = scenario.users[who]
    client.force_login(actor)
    for field_name in [k for k, _ in page.form] + ["unexpected"]:
        for value in HOSTILE_FORM_VALUES:
            if page.make == "membership":  # a removal that succeeded: put the viewer back
                scenario.project.memberships.get_or_create(
                    user=scenario.users["viewer"], defaults={"role": "viewer"}
                )
            obj = PAGE_MAKERS[page.make](scenario, actor)
            kwargs: dict[str, Any] = {page.kwarg: obj.pk}
            if name == "splits-set":
                kwargs["right"] = "master"
            # (only when the form names a song: an archived or deleted project takes no new song)
            song = _song(scenario) if any("{song}" in v for _, v in page.form) else None
            form = {k: v.format(song=getattr(song, "pk", None), obj=obj) for k, v in page.form}
            form[field_name] = value
            # Encoded by hand: a lone surrogate goes out as the bytes a browser-less attacker sends.
            data = urlencode(form, encoding="utf-8", errors="surrogatepass")
            response = client.generic(
                "POST",
                reverse(name, kwargs=kwargs),
                data,
                content_type="application/x-www-form-urlencoded",
            )
            where = f"POST {name} as {who} with {field_name}={value[:30]!r}"
            assert response.status_code < 500, f"{where}: {response.status_code}"


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_COOKIE": "sessionid=ab\x00cd"},
        {"HTTP_AUTHORIZATION": "Token ab\x00cd"},
    ],
    ids=["session cookie", "token"],
)
def test_a_nul_in_the_credentials_is_a_400(headers: dict[str, str], client: Any) -> None:
    """The session key and the token are looked up in PostgreSQL, which cannot hold NUL: such a
    request is refused before any lookup (schemathesis found the 500 by fuzzing the cookie)."""
    for path in ("/api/songs/", "/"):
        response = client.get(path, **headers)
        assert response.status_code == 400, (path, response.status_code)
