"""Authorization matrix (RELIABILITY.md Z1/Z2): every route in the URL resolver, every method,
six principals. The policy is the one declared in code (each viewset's `action_capabilities`
over studio.roles.CAPABILITIES); routes that are not viewsets are listed in EXTRA_ROUTES here.
A route in neither place fails the test, so nothing new ships unlisted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from studio.roles import roles_with
from tests.conftest import Scenario

PRINCIPALS = ["anonymous", "outsider", "viewer", "artist", "engineer", "producer"]
UNSAFE = {"post", "put", "patch", "delete"}

# Routes that are not DRF viewsets: name -> who may use them.
EXTRA_ROUTES: dict[str, str] = {
    "api-token": "public",
    "api-schema": "public",
    "api-docs": "public",
    "login": "public",
    "logout": "public",
    "project-list": "signed-in",
}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    action: str
    view: Any  # the viewset class
    detail: bool

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.name} ({self.action})"


def walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, ns)
        else:
            yield namespace, pattern


def all_patterns() -> list[tuple[str, URLPattern]]:
    return [
        (ns, p) for ns, p in walk(get_resolver().url_patterns) if "format" not in str(p.pattern)
    ]


def viewset_routes() -> list[Route]:
    routes = []
    for namespace, pattern in all_patterns():
        cls = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None)
        if namespace or cls is None or not actions:
            continue
        for method, action in actions.items():
            routes.append(Route(pattern.name, method, action, cls, "pk" in str(pattern.pattern)))
    return routes


def test_every_route_is_in_the_policy_table():
    """Z2: a viewset action without a declared capability, or another route not listed in
    EXTRA_ROUTES, fails here."""
    missing = []
    for namespace, pattern in all_patterns():
        if namespace == "admin:":
            continue  # Django admin: staff only, by Django itself
        cls = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None)
        if cls is not None and actions:
            declared = getattr(cls, "action_capabilities", {})
            missing += [f"{cls.__name__}.{a}" for a in actions.values() if a not in declared]
        elif pattern.name not in EXTRA_ROUTES:
            missing.append(f"{pattern.name or pattern.pattern}")
    assert missing == []


# --- how to build an object of each model, and a valid body for each write action -----------
def _song(s: Scenario) -> Any:
    from studio.services.songs import song_create

    return song_create(actor=s.users["producer"], project=s.project, title="Matrix song")


def _task(s: Scenario) -> Any:
    from studio.services.tasks import task_create

    return task_create(actor=s.users["producer"], song=_song(s), title="Matrix task")


def _credit(s: Scenario) -> Any:
    from studio.services.credits import credit_add

    return credit_add(actor=s.users["producer"], song=_song(s), role="composer",
                      contributor_name="A")


def _sample(s: Scenario) -> Any:
    from studio.services.rights import sample_use_add

    return sample_use_add(actor=s.users["producer"], song=_song(s), source_work="W",
                          kind="sample")


def _membership(s: Scenario) -> Any:
    return s.project.memberships.get(user=s.users["viewer"])


@dataclass
class Spec:
    make: Callable[[Scenario], Any]
    bodies: dict[str, Callable[[Scenario, Any], dict[str, Any]]]


REGISTRY: dict[str, Spec] = {
    "studio.Project": Spec(
        make=lambda s: s.project,
        bodies={"create": lambda s, o: {"name": "New"},
                "partial_update": lambda s, o: {"name": "Renamed"}},
    ),
    "studio.Membership": Spec(
        make=_membership,
        bodies={"create": lambda s, o: {"project": s.project.pk, "username": "outsider",
                                        "role": "viewer"},
                "partial_update": lambda s, o: {"role": "artist"}},
    ),
    "studio.Song": Spec(
        make=_song,
        bodies={"create": lambda s, o: {"project": s.project.pk, "title": "New"},
                "partial_update": lambda s, o: {"title": "Renamed"},
                "move": lambda s, o: {"to": "recording"},
                "set_splits": lambda s, o: {"right": "master",
                                            "shares": [{"party": "A", "share": "100.00"}]}},
    ),
    "studio.Task": Spec(
        make=_task,
        bodies={"create": lambda s, o: {"song": o.song_id, "title": "New"},
                "partial_update": lambda s, o: {"title": "Renamed"},
                "move": lambda s, o: {"status": "doing", "rank": 0}},
    ),
    "studio.Credit": Spec(
        make=_credit,
        bodies={"create": lambda s, o: {"song": o.song_id, "role": "lyricist",
                                        "contributor_name": "B"},
                "partial_update": lambda s, o: {"contributor_name": "C"}},
    ),
    "studio.SampleUse": Spec(
        make=_sample,
        bodies={"create": lambda s, o: {"song": o.song_id, "source_work": "X",
                                        "kind": "sample"},
                "partial_update": lambda s, o: {"clearance": "cleared"}},
    ),
}


def register(label: str, spec: Spec) -> None:
    """Other rooms add their models here (tests/audio, tests/live import and call this)."""
    REGISTRY[label] = spec


def db_fingerprint() -> dict[str, str]:
    """A hash of every row of every project table, to prove denied writes change nothing."""
    tables = [m._meta.db_table for label in ("studio", "live", "audio", "auth", "authtoken")
              for m in apps.get_app_config(label).get_models()]
    existing = set(connection.introspection.table_names())
    tables = [t for t in tables if t in existing]
    out = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f'SELECT md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '  # noqa: S608
                f'FROM "{table}" t'
            )
            out[table] = cursor.fetchone()[0]
    return out


ROUTES = viewset_routes()


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_route_follows_policy(route: Route, scenario: Scenario, other_scenario: Scenario):
    label = route.view.model._meta.label
    if label not in REGISTRY:
        pytest.fail(f"{label} has no entry in the authorization REGISTRY")
    spec = REGISTRY[label]
    capability = route.view.action_capabilities[route.action]
    allowed_roles = roles_with(capability) if capability else set(PRINCIPALS) - {"anonymous"}
    for principal in PRINCIPALS:
        obj = spec.make(scenario)
        kwargs = {"pk": obj.pk} if route.detail else {}
        url = reverse(route.name, kwargs=kwargs)
        if route.action == "list":
            url += f"?project={scenario.project.pk}"
        body = spec.bodies.get(route.action, lambda s, o: {})(scenario, obj)
        client = scenario.client(None if principal == "anonymous" else principal)
        before = db_fingerprint() if route.method in UNSAFE else None
        response = getattr(client, route.method)(url, body, format="json")
        status = response.status_code
        where = f"{route.id} as {principal}: {status} {response.content[:200]!r}"
        assert status < 500, where
        if principal == "anonymous":
            assert status == 401, where
        elif principal == "outsider":
            if route.action == "list":
                assert status == 200 and response.json()["results"] == [], where
            elif route.action == "create" and capability is None:
                assert status == 201, where
            elif route.action == "create":
                assert status in (400, 404), where
            else:
                assert status == 404, where
        elif principal in allowed_roles:
            assert 200 <= status < 300, where
        else:
            assert status == 403, where
            assert response.json()["code"], where
        denied = principal not in allowed_roles or principal == "outsider"
        if before is not None and denied and not (route.action == "create" and capability is None):
            assert db_fingerprint() == before, f"{where}: a denied write changed the database"
        if principal == "outsider" and route.action == "list":
            # also: the unfiltered list holds only the outsider's own rows (here: none)
            other = scenario.client("outsider").get(reverse(route.name))
            assert all(row.get("project", None) != scenario.project.pk
                       for row in other.json()["results"]), where


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n, p in EXTRA_ROUTES.items()
                                        if p in ("public", "signed-in")))
def test_plain_routes(name: str, scenario: Scenario, client):
    url = reverse(name)
    method = client.post if name in ("api-token", "logout") else client.get
    response = method(url)
    assert response.status_code < 500
    if EXTRA_ROUTES[name] == "signed-in":
        assert response.status_code == 302 and "/login/" in response["Location"]
        client.force_login(scenario.users["viewer"])
        assert client.get(url).status_code == 200
