"""What a running Studio says about itself: liveness, readiness, metrics, and the request id.

- `GET /healthz`: the process answers (a load balancer's liveness probe). No dependency is
  touched, so a database outage does not get every web process restarted.
- `GET /readyz`: each dependency a request may need, checked for real and timed: the database
  (`SELECT 1`), the broker (a connection), the channel layer (a group send), the storage (the
  media folder writable, or a HEAD on the bucket), and the workers (a Celery ping answered
  within a second; a worker-less eager setup says so). 200 when all pass, 503 naming the ones
  that failed. The figures are cached for two seconds, so a busy probe costs little.
- `GET /metrics`: Prometheus text. Off (404) unless `STUDIO_METRICS_TOKEN` is set; the scraper
  then sends it as a bearer token. Behind nginx every request comes from 127.0.0.1, so an
  address rule would protect nothing.
- `RequestIdMiddleware` (first in MIDDLEWARE): binds the request id (studio/requestids.py),
  returns it as `X-Request-Id`, and counts the request by route pattern (never by path: paths
  hold tokens and ids).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from audio.services.jobs import job_figures
from audio.storage import is_local, upload_dir
from eventlog.broadcast import layer_probe
from studio.metrics import HTTP_DURATION, HTTP_REQUESTS
from studio.requestids import HEADER, accepted_request_id, bound_request_id

logger = logging.getLogger(__name__)

JOB_DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
READY_CACHE_S = 2.0
WORKER_PING_TIMEOUT_S = 1.0


# --- request id and request metrics ----------------------------------------------------------


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.headers.get(HEADER))
        started = time.perf_counter()
        with bound_request_id(request_id):
            response = self.get_response(request)
        response[HEADER] = request_id
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match is not None and match.route else "unmatched"
        HTTP_REQUESTS.labels(request.method or "", route, str(response.status_code)).inc()
        HTTP_DURATION.labels(route).observe(time.perf_counter() - started)
        return response


# --- liveness and readiness ------------------------------------------------------------------


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _channel_layer() -> str:
    layer_probe()
    return "ok"


def _storage() -> str:
    if is_local():
        for folder in (settings.MEDIA_ROOT, upload_dir()):
            if not os.access(folder, os.W_OK):
                raise PermissionError(f"{os.path.basename(str(folder))} is not writable")
        return "ok"
    default_storage.exists("health/probe")  # a HEAD: reaches the bucket with our credentials
    return "ok"


def _workers() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok (eager: jobs run in the web process)"
    replies = current_app.control.ping(timeout=WORKER_PING_TIMEOUT_S)
    if not replies:
        raise RuntimeError("no worker answered a ping within a second")
    return f"ok ({len(replies)} answered)"


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "broker": _broker,
    "channel_layer": _channel_layer,
    "storage": _storage,
    "workers": _workers,
}
_last_ready: tuple[float, int, dict[str, Any]] | None = None


def readiness() -> tuple[int, dict[str, Any]]:
    """(status code, body): every check run and timed; a failure names its exception's class
    and first line, never a secret (connection strings are not in exception messages here)."""
    checks: dict[str, Any] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            checks[name] = {"ok": True, "detail": check()}
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, exc)
            first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
            checks[name] = {"ok": False, "detail": f"{type(exc).__name__}: {first_line}"}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    ready = all(c["ok"] for c in checks.values())
    return (200 if ready else 503), {"status": "ready" if ready else "not ready", "checks": checks}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    global _last_ready
    now = time.monotonic()
    if _last_ready is None or now - _last_ready[0] > READY_CACHE_S:
        _last_ready = (now, *readiness())
    _, status, body = _last_ready
    return JsonResponse(body, status=status)


# --- metrics ---------------------------------------------------------------------------------


class JobCollector(Collector):
    """Job queue depth and durations from the jobs table at each scrape (a few aggregate
    queries): correct whichever worker, on whichever machine, ran the job."""

    def collect(self) -> Iterator[Any]:
        figures = job_figures(JOB_DURATION_BUCKETS)
        depth = GaugeMetricFamily(
            "studio_job_queue_depth", "Jobs queued or running now.", labels=["kind", "state"]
        )
        for (kind, state), count in sorted(figures["depth"].items()):
            depth.add_metric([kind, state], count)
        yield depth
        durations = HistogramMetricFamily(
            "studio_job_duration_seconds",
            "From start to finish of finished jobs, by kind and final state.",
            labels=["kind", "state"],
        )
        for (kind, state), (cumulative, total_s) in sorted(figures["durations"].items()):
            buckets = [(str(b), n) for b, n in zip(JOB_DURATION_BUCKETS, cumulative, strict=False)]
            buckets.append(("+Inf", cumulative[-1]))
            durations.add_metric([kind, state], buckets, total_s)
        yield durations
        retries = CounterMetricFamily(
            "studio_job_retries", "Attempts beyond the first, of finished jobs.", labels=["kind"]
        )
        for kind, count in sorted(figures["retries"].items()):
            retries.add_metric([kind], count)
        yield retries


def _registry() -> CollectorRegistry:
    """The processes' own figures (summed over every process of the machine when they share
    PROMETHEUS_MULTIPROC_DIR) plus the jobs table's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(JobCollector())
    return registry


class _Forward(Collector):
    """The default registry's metrics, seen through another registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        yield from self.source.collect()


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.STUDIO_METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return HttpResponse(
            "Send the metrics token as a bearer token.", status=401, content_type="text/plain"
        )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
