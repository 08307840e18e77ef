"""Prometheus metrics kept by the processes themselves (the counts a database cannot know).

Requests, websocket connections, event lag and upload bytes are counted where they happen, in
the process that serves them. With several processes on a machine (two Daphne, the workers),
set `PROMETHEUS_MULTIPROC_DIR` to a folder they share before they start: prometheus_client then
keeps the values in files there and `/metrics` (studio/health.py) sums every process. Without
it each process reports its own. What the database knows (job queue depth, job durations) is
read from it at scrape time (studio/health.py), so it is right whichever machine ran the job.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "studio_http_requests",
    "HTTP requests answered, by method, route pattern and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "studio_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKETS_OPEN = Gauge(
    "studio_websocket_connections",
    "Websocket connections open now.",
    multiprocess_mode="livesum",
)
WEBSOCKETS_ACCEPTED = Counter(
    "studio_websocket_connections_accepted", "Websocket connections accepted since start."
)
EVENT_LAG = Histogram(
    "studio_event_lag_seconds",
    "From an event's recording to its frame leaving for a browser (live, not replay).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
UPLOAD_BYTES = Counter("studio_upload_bytes", "Upload bytes received and stored (tus PATCH).")
