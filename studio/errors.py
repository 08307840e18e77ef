"""Domain errors: a stable code and a sentence a person understands. One DRF exception handler
(studio.api.errors) maps them to JSON {"code", "detail", "fields"} with a 4xx status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.fields = fields or {}


class Invalid(DomainError):
    status = 400
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class GateRefused(Conflict):
    """A stage move refused by its gate; `reasons` lists every unmet condition."""

    code = "stage_gate"

    def __init__(self, reasons: list[str], checks: list[dict[str, Any]] | None = None):
        super().__init__("; ".join(reasons), fields={"reasons": reasons, "checks": checks or []})
        self.reasons = reasons


class SplitTotalInvalid(Invalid):
    code = "split_total"
