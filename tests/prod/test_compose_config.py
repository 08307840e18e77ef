"""docker/compose.yaml and `make prod-smoke` read one configuration (studio.env, the nginx
template, each service's command): these checks fail when the two could drift apart, or when
compose loses a part of the production topology or a durability setting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from scripts.prod.stack import (
    COMPOSE_FILE,
    DOCKER,
    ENV_FILE,
    NGINX_TEMPLATE,
    RELEASE_STEPS,
    STUDIO_SERVICES,
    Stack,
    StackError,
    interpolate,
    load_compose,
    read_env_file,
    render_template,
    template_variables,
)

TOPOLOGY = {"nginx", "web1", "web2", "worker-audio", "worker-default", "beat", "postgres",
            "redis", "s3", *RELEASE_STEPS}  # fmt: skip


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def _studio_services(compose: dict[str, Any]) -> list[str]:
    return [*STUDIO_SERVICES, *RELEASE_STEPS]


def test_compose_has_the_whole_topology(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= TOPOLOGY


def test_every_studio_service_reads_the_shared_settings_and_the_same_environment(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    first = services["web1"]
    for name in _studio_services(compose):
        assert services[name]["env_file"] == ["studio.env"], name
        assert services[name]["environment"] == first["environment"], name
        assert services[name]["image"] == first["image"], name


def test_the_shared_settings_are_settings_studio_reads() -> None:
    """Every key of studio.env is read by studio/settings.py (a misspelt key would be
    silently ignored in both places at once)."""
    source = (Path(settings.BASE_DIR) / "studio" / "settings.py").read_text()
    read = set(
        re.findall(r"""(?:environ\.get|environ\[|env_bool|env_list)\(?\s*["'](\w+)""", source)
    )
    values = read_env_file()
    unknown = set(values) - read
    assert not unknown
    assert values["DEBUG"] == "false" and values["STORAGE_BACKEND"] == "s3"
    assert values["BEHIND_TLS_PROXY"] == "true" and values["NUM_PROXIES"] == "1"


def test_the_processes_and_their_queues(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for web in ("web1", "web2"):
        command = services[web]["command"]
        assert command[:3] == ["python", "-m", "studio.serve"] and "--proxy-headers" in command
    assert services["worker-audio"]["command"][:3] == ["celery", "-A", "studio"]
    queue = {name: services[name]["command"] for name in ("worker-audio", "worker-default")}
    assert queue["worker-audio"][queue["worker-audio"].index("-Q") + 1] == "audio"
    assert queue["worker-default"][queue["worker-default"].index("-Q") + 1] == "default"
    beats = [n for n, s in services.items() if "beat" in (s.get("command") or [])]
    assert beats == ["beat"]  # exactly one beat


def test_durability_is_stated_for_postgres_and_redis(compose: dict[str, Any]) -> None:
    postgres = " ".join(compose["services"]["postgres"]["command"])
    for setting in ("fsync=on", "synchronous_commit=on", "full_page_writes=on"):
        assert f"-c {setting}" in postgres
    redis = compose["services"]["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"


def test_nginx_renders_from_one_template_in_compose_and_in_the_smoke(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    nginx = compose["services"]["nginx"]
    assert "./nginx.conf.template:/etc/nginx/templates/default.conf.template:ro" in nginx["volumes"]
    template = NGINX_TEMPLATE.read_text()
    needed = template_variables(template)
    given_by_compose = {
        k: str(v) for k, v in nginx["environment"].items() if k != "NGINX_ENVSUBST_FILTER"
    }
    assert set(given_by_compose) == needed
    smoke = Stack(
        tmp_path, ports={n: 40000 + i for i, n in enumerate(("web1", "web2", "https", "http"))}
    )
    assert set(smoke.nginx_values()) == needed
    rendered = {"compose": render_template(template, given_by_compose),
                "smoke": render_template(template, smoke.nginx_values())}  # fmt: skip
    for text in rendered.values():
        assert "${" not in text
    # Apart from the values, the two configs are the same lines.
    assert len(rendered["compose"].splitlines()) == len(rendered["smoke"].splitlines())
    with pytest.raises(StackError, match="STUDIO_WEB2"):
        render_template(template, {k: v for k, v in given_by_compose.items() if k != "STUDIO_WEB2"})


def test_nginx_bounds_bodies_just_above_the_upload_chunk_cap() -> None:
    size = re.search(r"client_max_body_size (\d+)m;", NGINX_TEMPLATE.read_text())
    assert size is not None
    limit = int(size.group(1)) * 1024 * 1024
    assert settings.UPLOAD_MAX_CHUNK_BYTES < limit <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_the_smoke_environment_is_composes_with_local_addresses(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    names = ("postgres", "redis", "s3", "web1", "web2", "https", "http")
    smoke = Stack(tmp_path, ports={n: 41000 + i for i, n in enumerate(names)})
    env = smoke._studio_env(compose)
    assert env["DATABASE_URL"] == "postgres://studio:studio@127.0.0.1:41000/studio"
    assert env["REDIS_URL"] == "redis://127.0.0.1:41001/0"
    assert env["S3_ENDPOINT_URL"] == "http://127.0.0.1:41002"
    for key, value in read_env_file().items():
        assert env[key] == value.replace("/app/var", str(tmp_path / "var")), key
    assert not [v for v in env.values() if "/app/" in v or "${" in v]


def test_compose_refuses_to_start_without_its_secrets() -> None:
    assert interpolate("${SECRET_KEY:-x}", {}) == "x"
    with pytest.raises(StackError, match="SECRET_KEY must be set"):
        interpolate("${SECRET_KEY:?set SECRET_KEY}", {})


def test_the_image_is_multi_stage_and_runs_unprivileged() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    assert "COPY --from=build" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert COMPOSE_FILE.parent == ENV_FILE.parent == DOCKER
