"""List pagination with bounds: DRF's LimitOffsetPagination passes any ?limit= and ?offset= to
SQL, and a 40-digit value overflows PostgreSQL's bigint (a 500, found by schemathesis)."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 10**12


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def get_offset(self, request: Any) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
