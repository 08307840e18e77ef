"""The bookings REST API: the inventory and its bookings. Thin: validate the shape, fetch scoped
objects, call a service."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from bookings import services
from bookings.api import serializers as s
from bookings.models import Booking, Resource
from studio.api.base import ListRetrieveMixin, ScopedViewSet, no_content
from studio.api.errors import ErrorSerializer
from studio.errors import Invalid
from studio.roles import Capability as C

_ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
_CONFLICT = {**_ERRORS, 409: ErrorSerializer}


class ResourceViewSet(ListRetrieveMixin, ScopedViewSet):
    """The project's rooms and equipment (`GET /api/resources/?project=<id>`; every member).

    - `POST /api/resources/` `{"project", "name", "kind", "notes"?, "availability"?,
      "availability_note"?}` (producer, engineer): kind is room, microphone, instrument,
      outboard or other; availability `available` or `out_of_service`. A name the inventory
      already has (whatever the case) is a 409.
    - `PATCH` the same fields; `DELETE` releases its bookings first."""

    model = Resource
    serializer_class = s.ResourceSerializer
    filters = {"project": "project_id"}
    choice_filters = {
        "kind": ("kind", ("room", "microphone", "instrument", "outboard", "other")),
    }
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.RESOURCE_EDIT,
        "partial_update": C.RESOURCE_EDIT,
        "destroy": C.RESOURCE_EDIT,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request=s.ResourceCreateSerializer, responses={201: s.ResourceSerializer, **_CONFLICT}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.ResourceCreateSerializer)
        project = data.pop("project")
        resource = services.resource_create(actor=request.user, project=project, data=data)
        return self.output(resource, status=201)

    @extend_schema(
        request=s.ResourceUpdateSerializer, responses={200: s.ResourceSerializer, **_CONFLICT}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.input(s.ResourceUpdateSerializer, partial=True)
        resource = services.resource_update(
            actor=request.user, resource=self.get_object(), data=data
        )
        return self.output(resource)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.resource_delete(actor=request.user, resource=self.get_object())
        return no_content()


def _instant(request: Request, name: str) -> datetime.datetime | None:
    raw = request.query_params.get(name) or ""
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Invalid(
            f"{name}: give a date and time with its offset (2030-12-04T14:00:00Z)",
            fields={name: ["a date and time with an offset"]},
        )
    return services.instant_in_utc(name, value)


class BookingViewSet(ListRetrieveMixin, ScopedViewSet):
    """Resources held for working sessions (`GET /api/bookings/?project=&session=&resource=`,
    `?from=&to=`: the bookings overlapping that range; every member).

    - `POST /api/bookings/` `{"resource", "session", "starts_at"?, "ends_at"?, "note"?}`
      (producer, engineer): the times default to the session's and lie inside it. Another
      project's resource or session, inverted or zero-length times are a 400; an out-of-service
      resource is a 409; so is a time someone holds, with the sentence naming who.
    - `PATCH` `{"starts_at"?, "ends_at"?, "note"?}`; `DELETE` releases it."""

    model = Booking
    serializer_class = s.BookingSerializer
    select = ("resource", "session")
    filters = {"project": "project_id", "session": "session_id", "resource": "resource_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.SESSION_EDIT,
        "partial_update": C.SESSION_EDIT,
        "destroy": C.SESSION_EDIT,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action == "list":
            start, end = _instant(self.request, "from"), _instant(self.request, "to")
            if start is not None and end is not None and end <= start:
                raise Invalid("to: must be after from", fields={"to": ["after from"]})
            if start is not None:
                qs = qs.filter(ends_at__gt=start)
            if end is not None:
                qs = qs.filter(starts_at__lt=end)
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="bookings ending after"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="bookings starting before"),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=s.BookingCreateSerializer, responses={201: s.BookingSerializer, **_CONFLICT}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.BookingCreateSerializer)
        booking = services.booking_create(actor=request.user, **data)
        return self.output_fresh(booking, status=201)

    @extend_schema(
        request=s.BookingUpdateSerializer, responses={200: s.BookingSerializer, **_CONFLICT}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.input(s.BookingUpdateSerializer, partial=True)
        booking = services.booking_update(actor=request.user, booking=self.get_object(), **data)
        return self.output_fresh(booking)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.booking_delete(actor=request.user, booking=self.get_object())
        return no_content()
