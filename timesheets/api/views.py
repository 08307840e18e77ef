"""The time API: time entries and the planned-against-spent summary of a project. Thin:
validate the shape, fetch scoped objects, call a service."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.request import Request
from rest_framework.response import Response

from studio.api.base import ListRetrieveMixin, ScopedViewSet, no_content
from studio.api.errors import ErrorSerializer
from studio.models import Project, Stage
from studio.roles import Capability as C
from timesheets import selectors, services
from timesheets.api import serializers as s
from timesheets.models import TimeEntry

_ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class TimeEntryViewSet(ListRetrieveMixin, ScopedViewSet):
    """Time logged by members against a task or a working session of a song.

    - `GET /api/time-entries/?project=&song=&member=&stage=`, `GET /api/time-entries/{id}/`.
    - `POST /api/time-entries/` `{"song", "task"?, "session"?, "minutes", "spent_on"?, "stage"?,
      "note"?}` (producers, engineers, artists): at least a task or a session of that song;
      1 to 1440 minutes; the stage defaults to the task's, the session kind's or the song's.
    - `PATCH` one's own entry (the same fields but the song); `DELETE` one's own, or anyone's
      as a producer. An archived song answers 409."""

    model = TimeEntry
    serializer_class = s.TimeEntrySerializer
    select = ("member",)
    filters = {"project": "project_id", "song": "song_id", "member": "member_id"}
    choice_filters = {"stage": ("stage", Stage.values)}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.TIME_LOG,
        "partial_update": C.TIME_LOG,
        "destroy": C.TIME_LOG,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request=s.TimeEntryCreateSerializer, responses={201: s.TimeEntrySerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.TimeEntryCreateSerializer)
        entry = services.time_log(actor=request.user, **data)
        return self.output_fresh(entry, status=201)

    @extend_schema(
        request=s.TimeEntryUpdateSerializer, responses={200: s.TimeEntrySerializer, **_ERRORS}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        entry = self.get_object()
        data = self.input(s.TimeEntryUpdateSerializer, partial=True)
        entry = services.time_update(actor=request.user, entry=entry, **data)
        return self.output_fresh(entry)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.time_delete(actor=request.user, entry=self.get_object())
        return no_content()


class TimeSummaryViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    """`GET /api/time-summary/{project id}/`: planned against spent per song and per stage (in
    minutes), the section estimates that plan each song's recording, and the ids of the songs
    over budget, the largest overrun first. Planned is the tasks' estimates of a stage plus, in
    recording, the sections' estimates."""

    model = Project
    action_capabilities = {"retrieve": C.VIEW}
    http_method_names = ["get", "head", "options"]

    def base_queryset(self) -> Any:
        return Project.objects.for_member(self.request.user)

    @extend_schema(responses={200: s.TimeSummarySerializer, 404: ErrorSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        project = self.get_object()
        return Response(s.TimeSummarySerializer(selectors.summary(request.user, project)).data)
