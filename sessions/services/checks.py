"""Checks shared by the review services: a 400 naming its field, and "one version: a mix or a
master" (comments and verdicts are on exactly one)."""

from __future__ import annotations

from typing import Any

from audio.models import Master, Mix
from studio.errors import Invalid

MAX_BODY = 5000


def invalid(name: str, message: str, *, code: str = "invalid") -> Invalid:
    return Invalid(f"{name}: {message}", code=code, fields={name: [message]})


def version_of(mix: Mix | None, master: Master | None) -> Mix | Master:
    if (mix is None) == (master is None):
        raise Invalid(
            "name exactly one version: a mix or a master",
            code="version_required",
            fields={"mix": ["give a mix or a master, not both"]},
        )
    return mix if mix is not None else master  # type: ignore[return-value]


def version_fields(version: Mix | Master) -> dict[str, Any]:
    if isinstance(version, Mix):
        return {"mix": version, "master": None}
    return {"mix": None, "master": version}
