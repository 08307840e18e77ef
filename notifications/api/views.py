"""The notification API: a person's own inbox and preferences. Every route is per person, not
per project: it needs no capability, and another person's notification is a 404 (it is not in
one's own queryset). Thin: shapes here, rules in notifications.services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import services
from notifications.api import serializers as s
from notifications.models import Notification
from studio.api.errors import ErrorSerializer
from studio.errors import Invalid, NotFound
from studio.parsing import whole_number

_ERRORS = {400: ErrorSerializer, 404: ErrorSerializer}


def _id(raw: Any) -> int:
    value = whole_number(str(raw))
    if value is None:
        raise NotFound("notification not found")
    return value


class NotificationListView(GenericAPIView):
    """`GET /api/notifications/`: one's own notifications, newest first; `?unread=1` only the
    unread ones. The page's `count` with `?unread=1&limit=1` is the header's badge."""

    serializer_class = s.NotificationSerializer
    http_method_names = ["get", "head", "options"]

    def get_queryset(self) -> Any:
        rows = Notification.objects.for_user(self.request.user)
        unread = self.request.query_params.get("unread", "")
        if unread not in ("", "0", "1"):
            raise Invalid("unread must be 1 or 0", fields={"unread": ["1 or 0"]})
        return rows.unread() if unread == "1" else rows

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "unread", OpenApiTypes.INT, enum=[0, 1], description="1: only the unread ones"
            )
        ],
        responses={200: s.NotificationSerializer(many=True), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class NotificationDetailView(APIView):
    """`GET /api/notifications/{id}/`: one of one's own (another's is a 404)."""

    http_method_names = ["get", "head", "options"]

    @extend_schema(responses={200: s.NotificationSerializer, **_ERRORS})
    def get(self, request: Request, pk: str) -> Response:
        found = services.notification_get(user=request.user, notification_id=_id(pk))
        return Response(s.NotificationSerializer(found).data)


class NotificationReadView(APIView):
    """`POST /api/notifications/{id}/read/`: mark one read (again is harmless)."""

    http_method_names = ["post", "options"]

    @extend_schema(request=None, responses={200: s.NotificationSerializer, **_ERRORS})
    def post(self, request: Request, pk: str) -> Response:
        found = services.notification_get(user=request.user, notification_id=_id(pk))
        found = services.notification_mark_read(user=request.user, notification=found)
        return Response(s.NotificationSerializer(found).data)


class NotificationReadAllView(APIView):
    """`POST /api/notifications/read-all/`: mark every unread one read."""

    http_method_names = ["post", "options"]

    @extend_schema(request=None, responses={200: s.MarkedSerializer})
    def post(self, request: Request) -> Response:
        marked = services.notifications_mark_all_read(user=request.user)
        return Response({"marked": marked, "unread": services.unread_count(request.user)})


class PreferenceListView(APIView):
    """`GET /api/notification-preferences/`: every kind with one's choice (both on by default)."""

    http_method_names = ["get", "head", "options"]

    @extend_schema(responses={200: s.PreferenceSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(services.preferences_get(user=request.user))


class PreferenceDetailView(APIView):
    """`GET`/`PATCH /api/notification-preferences/{kind}/` `{"inbox"?, "email"?}`: switch a kind
    off or on for oneself. An unknown kind is a 400 naming the kinds."""

    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(responses={200: s.PreferenceSerializer, **_ERRORS})
    def get(self, request: Request, kind: str) -> Response:
        rows = {p["kind"]: p for p in services.preferences_get(user=request.user)}
        if kind not in rows:
            services.preference_set(user=request.user, kind=kind)  # raises the 400
        return Response(rows[kind])

    @extend_schema(
        request=s.PreferenceUpdateSerializer, responses={200: s.PreferenceSerializer, **_ERRORS}
    )
    def patch(self, request: Request, kind: str) -> Response:
        if not isinstance(request.data, dict):
            raise Invalid("expected a JSON object with inbox and/or email")
        data = s.PreferenceUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.preference_set(
            user=request.user,
            kind=kind,
            inbox=data.validated_data.get("inbox"),
            email=data.validated_data.get("email"),
        )
        return Response(row)
