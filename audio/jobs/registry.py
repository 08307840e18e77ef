"""The job kinds, by name: what each one runs, accepts, where and for how long.

A kind is declared once (`register(JobKindSpec(...))`) and the runner, the dispatcher, the
sweeper and the cancel door read everything they need from it, so adding a kind never edits
them. Parameters are checked when the job is created, so a bad one is a 400 naming the field
and never a failure on the worker.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from studio.errors import Invalid
from studio.roles import Capability

if TYPE_CHECKING:
    from audio.models import Job

RUN_JOB_TASK = "audio.jobs.run_job"
SWEEP_TASK = "audio.jobs.sweep"
QUEUE_DEFAULT = "default"
QUEUE_AUDIO = "audio"  # DSP: CPU-heavy, may be served by its own workers
QUEUES = (QUEUE_DEFAULT, QUEUE_AUDIO)
LOST_MESSAGE = "the worker was lost while running this job"
UNKNOWN_KIND_LIMIT_S = 3600.0  # a row whose kind no module registers any more

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Outcome:
    """What a handler hands back. `result` is stored on the job; `apply(job)` makes the
    subject's change (an asset's analysis, a rendered mix) and records its events; the runner
    calls it inside `job_finish`'s transaction, so the change, `job.finished` and the subject's
    event commit together or not at all."""

    result: dict[str, Any]
    apply: Callable[[Job], None] | None = None


Handler = Callable[["Job", Progress, Path], Outcome]


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: a JSON number, integer, string or boolean with bounds, or a
    JSON object (`dict`) of at most `max_length` characters of JSON, for a kind whose service
    validates a structured request itself before it creates the job (master's settings)."""

    type: type
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200

    def clean(self, value: Any) -> Any:
        """The value, or ValueError with the sentence the API shows for this field."""
        if self.type is bool:
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        if self.type in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("must be a number")
            if self.type is int and not (isinstance(value, int) or float(value).is_integer()):
                raise ValueError("must be a whole number")
            if not math.isfinite(value):
                raise ValueError("must be a finite number")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"must be at least {self.minimum:g}")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"must be at most {self.maximum:g}")
            return int(value) if self.type is int else float(value)
        if self.type is str:
            if not isinstance(value, str):
                raise ValueError("must be a string")
            if self.choices and value not in self.choices:
                raise ValueError(f"choose one of {', '.join(self.choices)}")
            if len(value) > self.max_length:
                raise ValueError(f"at most {self.max_length} characters")
            return value
        if self.type is dict:
            if not isinstance(value, dict):
                raise ValueError("must be an object")
            try:
                size = len(json.dumps(value, allow_nan=False))
            except (TypeError, ValueError):
                raise ValueError("must be plain JSON") from None
            if size > self.max_length:
                raise ValueError(f"at most {self.max_length} characters of JSON")
            return value
        raise TypeError(f"unsupported parameter type {self.type!r}")


@dataclass(frozen=True)
class JobKindSpec:
    """A kind of job.

    - `handler(job, progress, workdir) -> Outcome` does the work; `progress(fraction)` raises
      JobCancelled once the job was cancelled, `workdir` is a private folder for this run.
    - `queue`: "audio" for DSP, "default" for the rest.
    - `time_limit_s`: the soft limit (the handler gets SoftTimeLimitExceeded, the job fails as
      timed out); the child is killed `grace_s` later if it does not stop.
    - `progress_weight`: the kind's share when several jobs make up one progress bar (a
      render weighs more than the analysis of its output).
    - `capability`: who may create (and so cancel) a job of this kind.
    - `subject`: the field the job must point at ("asset", "mix") or "" for none.
    - `lost_message`: what the job says when its worker died on every attempt.
    """

    name: str
    handler: Handler
    params: Mapping[str, Param] = field(default_factory=dict)
    queue: str = QUEUE_DEFAULT
    time_limit_s: float = 600.0
    grace_s: float = 10.0
    progress_weight: float = 1.0
    capability: str = Capability.MIX_EDIT
    subject: str = ""
    lost_message: str = LOST_MESSAGE

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"job kind {self.name}: queue must be one of {QUEUES}")
        if not (self.time_limit_s > 0 and self.grace_s >= 0 and self.progress_weight > 0):
            raise ValueError(f"job kind {self.name}: limits and weight must be positive")
        if len(self.name) > 16 or not self.name.replace("_", "").isalnum():
            raise ValueError(f"job kind {self.name!r}: up to 16 letters, digits or _")

    @property
    def soft_limit_s(self) -> float:
        """The kind's time limit, or the deployment's override (settings.JOB_TIME_LIMITS)."""
        overrides = getattr(settings, "JOB_TIME_LIMITS", {}) or {}
        return float(overrides.get(self.name, self.time_limit_s))

    @property
    def hard_limit_s(self) -> float:
        return self.soft_limit_s + self.grace_s

    def clean_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validated parameters with defaults filled in, or Invalid naming each bad field as
        `params.<name>`."""
        if params is not None and not isinstance(params, Mapping):
            raise Invalid("params must be an object", fields={"params": "must be an object"})
        given = dict(params or {})
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        for name in given.keys() - self.params.keys():
            errors[f"params.{name}"] = f"{self.name} jobs take no parameter {name!r}"
        for name, param in self.params.items():
            if name not in given or given[name] is None:
                if param.required:
                    errors[f"params.{name}"] = "this parameter is required"
                elif param.default is not None:
                    cleaned[name] = param.default
                continue
            try:
                cleaned[name] = param.clean(given[name])
            except ValueError as exc:
                errors[f"params.{name}"] = str(exc)
        if errors:
            raise Invalid(
                f"invalid parameters for a {self.name} job", code="invalid_params", fields=errors
            )
        return cleaned


_KINDS: dict[str, JobKindSpec] = {}


def register(spec: JobKindSpec, *, replace: bool = False) -> JobKindSpec:
    """Add a kind. Registering a name twice is a mistake unless `replace` says it is meant."""
    if spec.name in _KINDS and not replace and _KINDS[spec.name] is not spec:
        raise ValueError(f"job kind {spec.name!r} is already registered")
    _KINDS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def kind_spec(name: str) -> JobKindSpec:
    """The kind named `name`, or Invalid (a 400 naming `kind`)."""
    spec = _KINDS.get(name)
    if spec is None:
        raise Invalid(
            f"unknown job kind {name!r}",
            code="unknown_job_kind",
            fields={"kind": f"choose one of {', '.join(sorted(_KINDS))}"},
        )
    return spec


def registered(name: str) -> JobKindSpec | None:
    return _KINDS.get(name)


def kind_names() -> list[str]:
    return sorted(_KINDS)


class RegisteredKindNames:
    """The registered kinds' names, read when iterated: a query filter built at import time
    still knows the kinds that other apps (delivery, review links) register later."""

    def __iter__(self) -> Iterator[str]:
        return iter(kind_names())


def longest_hard_limit_s() -> float:
    """The broker's visibility timeout must exceed this, or long jobs are delivered again."""
    return max((spec.hard_limit_s for spec in _KINDS.values()), default=0.0)


def combined_progress(jobs: Iterable[tuple[str, float]]) -> float:
    """One bar over several jobs, given as (kind, progress): each counts by its kind's weight
    (an unregistered kind counts 1)."""
    total = done = 0.0
    for kind, progress in jobs:
        spec = _KINDS.get(kind)
        weight = spec.progress_weight if spec else 1.0
        total += weight
        done += weight * max(0.0, min(1.0, progress))
    return done / total if total else 0.0
