"""The request id: one short string that follows a request into its log lines and into the jobs
it queues, so one grep finds everything a click caused, web process and worker alike.

The id comes from nginx's `X-Request-Id` when it is well formed (so the access log and ours
agree), else it is made here. It lives in a context variable: asgiref copies the context into
the thread that runs a sync view, and the job runner binds the id a job was queued under
(`Job.request_id`) while the job runs. Log lines carry it through `RequestIdFilter`; with
`LOG_FORMAT=json` each line is one JSON object (`JsonFormatter`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
HEADER = "X-Request-Id"
MAX_LENGTH = 64
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def current_request_id() -> str:
    """The id of the request (or job) running here; "" outside one."""
    return REQUEST_ID.get()


def accepted_request_id(incoming: str | None) -> str:
    """An incoming id kept only when well formed (8-64 of letters, digits and ._:-), so a
    hostile header can neither forge log lines nor grow them; otherwise a fresh one."""
    if incoming and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return secrets.token_hex(16)


@contextmanager
def bound_request_id(request_id: str) -> Iterator[str]:
    """Run the block under `request_id` (a request, a job) and restore the previous one."""
    token = REQUEST_ID.set(request_id)
    try:
        yield request_id
    finally:
        REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` to every record, so any format may print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, and
    the exception's traceback as one string when there is one. Log shippers read it as is."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or REQUEST_ID.get(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
