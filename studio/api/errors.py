"""One exception handler: every API error is JSON {"code", "detail", "fields"} with a 4xx."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from studio.errors import DomainError

logger = logging.getLogger(__name__)


class ErrorSerializer(serializers.Serializer):
    """The shape of every error response."""

    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.JSONField())  # type: ignore[assignment]


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}[{index}]"))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _summary(fields: dict[str, list[str]]) -> str:
    parts = [f"{name}: {messages[0]}" for name, messages in fields.items() if messages]
    return "; ".join(parts)[:1000] or "invalid input"


def error_response(
    status_code: int, code: str, detail: str, fields: dict[str, Any] | None = None
) -> Response:
    return Response({"code": code, "detail": detail, "fields": fields or {}}, status=status_code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return error_response(exc.status, exc.code, exc.detail, exc.fields)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        return error_response(404, "not_found", "not found")
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(403, "forbidden", "you do not have permission to do this")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        return error_response(status.HTTP_400_BAD_REQUEST, "invalid", _summary(fields), fields)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else _summary(_flatten(exc.detail))
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = {"code": code, "detail": str(detail), "fields": {}}
    return response
