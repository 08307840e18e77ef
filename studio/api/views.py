"""The REST API for the core domain. Thin: validate input, fetch scoped objects, call a service."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from eventlog.selectors import events_after
from studio.api import serializers as s
from studio.api.base import ListRetrieveMixin, ScopedViewSet, no_content
from studio.errors import Invalid
from studio.gates import STAGES, gate_checks, is_forward, song_can_enter_stage
from studio.models import (
    Clearance,
    Credit,
    CreditRole,
    Membership,
    Project,
    Right,
    SampleUse,
    Song,
    Stage,
    StageChange,
    Task,
    TaskStatus,
)
from studio.parsing import whole_number
from studio.roles import Capability as C
from studio.selectors import song_facts
from studio.services import credits, projects, rights, sign_in, songs, tasks


class TokenThrottle(AnonRateThrottle):
    rate = "30/min"


class TokenView(APIView):
    """Trade a username and password for an API token (`Authorization: Token <key>`)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [TokenThrottle]

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer})
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise Invalid("expected a JSON object with username and password")
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        address = sign_in.client_address(request.META)
        if sign_in.sign_in_blocked(username, address):
            raise Throttled(wait=sign_in.WINDOW_S, detail=sign_in.BLOCKED_MESSAGE)
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None or not user.is_active:
            sign_in.sign_in_failed(username, address)
            raise Invalid("wrong username or password", code="bad_credentials")
        sign_in.sign_in_succeeded(username, address)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class ProjectViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Project
    serializer_class = s.ProjectSerializer
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": None,
        "partial_update": C.PROJECT_EDIT,
        "destroy": C.LIFECYCLE,
        "archive": C.LIFECYCLE,
        "unarchive": C.LIFECYCLE,
        "restore": C.LIFECYCLE,
        "events": C.VIEW,
    }

    def base_queryset(self) -> Any:
        if self.action == "restore":
            return Project.objects.deleted_for_member(self.request.user)
        return Project.objects.for_member(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request.user.is_authenticated:
            context["roles"] = dict(
                Membership.objects.filter(user=self.request.user).values_list("project_id", "role")
            )
        return context

    @extend_schema(request=s.ProjectInputSerializer, responses={201: s.ProjectSerializer})
    def create(self, request: Request) -> Response:
        data = self.input(s.ProjectInputSerializer)
        project = projects.project_create(actor=request.user, **data)
        return self.output(project, status=201)

    @extend_schema(request=s.ProjectInputSerializer, responses=s.ProjectSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        project = self.get_object()
        data = self.input(s.ProjectInputSerializer, partial=True)
        return self.output(projects.project_update(actor=request.user, project=project, **data))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete the project: it leaves every read at once; a producer may restore it for 30
        days (`POST .../restore/`), then it is removed for good."""
        projects.project_delete(actor=request.user, project=self.get_object())
        return no_content()

    @extend_schema(request=None, responses=s.ProjectSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        """Archive the project: read-only (writes get 409) until unarchived."""
        return self.output(projects.project_archive(actor=request.user, project=self.get_object()))

    @extend_schema(request=None, responses=s.ProjectSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str) -> Response:
        project = self.get_object()
        return self.output(projects.project_unarchive(actor=request.user, project=project))

    @extend_schema(request=None, responses=s.ProjectSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Undo a deletion (within 30 days; later it is a 409). Only deleted projects are found
        here."""
        project = self.get_object()
        return self.output(projects.project_restore(actor=request.user, project=project))

    @extend_schema(
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="last seq already seen"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="at most this many (1-1000)"),
        ],
        responses=s.EventPageSerializer,
    )
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str) -> Response:
        """The project's event log after a seq, in order: how clients catch up."""
        project = self.get_object()
        after = _int_param(request, "after", 0, 0, 10**15)
        limit = _int_param(request, "limit", 500, 1, 1000)
        rows = list(events_after(project_id=project.pk, after=after, limit=limit + 1))
        return Response(
            {
                "epoch": project.event_epoch,
                "last_seq": project.last_event_seq,
                "events": s.EventSerializer(rows[:limit], many=True).data,
                "more": len(rows) > limit,
            }
        )


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name) or ""
    if not raw:
        return default
    value = whole_number(raw)
    if value is None or not low <= value <= high:
        raise Invalid(
            f"{name} must be a whole number from {low} to {high}",
            fields={name: [f"a whole number from {low} to {high}"]},
        )
    return value


class MembershipViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Membership
    serializer_class = s.MembershipSerializer
    select = ("user",)
    filters = {"project": "project_id"}
    choice_filters = {"role": ("role", [r for r, _ in s.Role.choices])}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.MEMBERS_MANAGE,
        "partial_update": C.MEMBERS_MANAGE,
        "destroy": C.MEMBERS_MANAGE,
    }

    @extend_schema(request=s.MembershipCreateSerializer, responses={201: s.MembershipSerializer})
    def create(self, request: Request) -> Response:
        data = self.input(s.MembershipCreateSerializer)
        membership = projects.member_add(actor=request.user, **data)
        return self.output(membership, status=201)

    @extend_schema(request=s.MembershipUpdateSerializer, responses=s.MembershipSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        membership = self.get_object()
        data = self.input(s.MembershipUpdateSerializer)
        return self.output(
            projects.member_set_role(actor=request.user, membership=membership, role=data["role"])
        )

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        projects.member_remove(actor=request.user, membership=self.get_object())
        return no_content()


class SongViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Song
    serializer_class = s.SongSerializer
    filters = {"project": "project_id"}
    choice_filters = {"stage": ("stage", Stage.values)}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.SONG_EDIT,
        "partial_update": C.SONG_EDIT,
        "destroy": C.LIFECYCLE,
        "archive": C.LIFECYCLE,
        "unarchive": C.LIFECYCLE,
        "restore": C.LIFECYCLE,
        "move": C.SONG_MOVE,
        "gates": C.VIEW,
        "history": C.VIEW,
        "splits": C.VIEW,
        "set_splits": C.RIGHTS_EDIT,
    }

    @extend_schema(request=s.SongCreateSerializer, responses={201: s.SongSerializer})
    def create(self, request: Request) -> Response:
        data = self.input(s.SongCreateSerializer)
        song = songs.song_create(actor=request.user, **data)
        return self.output(song, status=201)

    @extend_schema(request=s.SongUpdateSerializer, responses=s.SongSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        song = self.get_object()
        data = self.input(s.SongUpdateSerializer, partial=True)
        return self.output(songs.song_update(actor=request.user, song=song, **data))

    def base_queryset(self) -> Any:
        if self.action == "restore":
            return Song.objects.deleted_for_member(self.request.user)
        return super().base_queryset()

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete the song with all it holds: it leaves every read at once; a producer may
        restore it for 30 days (`POST .../restore/`), then it is removed for good."""
        songs.song_delete(actor=request.user, song=self.get_object())
        return no_content()

    @extend_schema(request=None, responses=s.SongSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        """Archive the song: read-only (writes get 409) and out of the pipeline until
        unarchived."""
        return self.output(songs.song_archive(actor=request.user, song=self.get_object()))

    @extend_schema(request=None, responses=s.SongSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str) -> Response:
        return self.output(songs.song_unarchive(actor=request.user, song=self.get_object()))

    @extend_schema(request=None, responses=s.SongSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Undo a deletion (within 30 days; later it is a 409). Only deleted songs are found
        here."""
        return self.output(songs.song_restore(actor=request.user, song=self.get_object()))

    @extend_schema(request=s.SongMoveSerializer, responses=s.SongSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        """Move the song to a stage. Forward moves check the gates (409 lists what is unmet);
        moving back needs a reason."""
        song = self.get_object()
        data = self.input(s.SongMoveSerializer)
        return self.output(
            songs.song_move_stage(
                actor=request.user,
                song=song,
                to=data["to"],
                reason=data["reason"],
                override_reason=data["override_reason"],
            )
        )

    @extend_schema(responses=s.GateSerializer(many=True))
    @action(detail=True, methods=["get"])
    def gates(self, request: Request, pk: str) -> Response:
        """The checklist of every stage: may the song move there now, and if not, why not."""
        song = self.get_object()
        facts = song_facts(song)
        rows = []
        for stage in STAGES:
            if stage == song.stage:
                rows.append(
                    {
                        "stage": stage,
                        "direction": "current",
                        "allowed": False,
                        "reasons": [],
                        "checks": [],
                    }
                )
                continue
            reasons = song_can_enter_stage(facts, stage)
            direction = "forward" if is_forward(song.stage, stage) else "back"
            rows.append(
                {
                    "stage": stage,
                    "direction": direction,
                    "allowed": not reasons,
                    "reasons": reasons,
                    "checks": [c.as_dict() for c in gate_checks(facts, stage)],
                }
            )
        return Response(rows)

    @extend_schema(responses=s.StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        song = self.get_object()
        changes = StageChange.objects.filter(song=song).select_related("actor")
        return Response(s.StageChangeSerializer(changes, many=True).data)

    @extend_schema(responses=s.SplitsSerializer)
    @action(detail=True, methods=["get"])
    def splits(self, request: Request, pk: str) -> Response:
        return Response(_splits_data(self.get_object()))

    @extend_schema(request=s.SplitSetSerializer, responses=s.SplitsSerializer)
    @splits.mapping.put
    def set_splits(self, request: Request, pk: str) -> Response:
        """Replace the whole split set of one right; shares must total exactly 100.00."""
        song = self.get_object()
        data = self.input(s.SplitSetSerializer)
        rights.split_set(
            actor=request.user,
            song=song,
            right=data["right"],
            shares=[dict(item) for item in data["shares"]],
        )
        return Response(_splits_data(song))


def _splits_data(song: Song) -> dict[str, Any]:
    data: dict[str, Any] = {right: [] for right in Right.values}
    totals: dict[str, Any] = dict.fromkeys(Right.values, 0)
    for split in song.splits.all():
        data[split.right].append({"party": split.party, "share": f"{split.share:.2f}"})
        totals[split.right] += split.share
    data["totals"] = {right: f"{total:.2f}" for right, total in totals.items()}
    return data


class TaskViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Task
    serializer_class = s.TaskSerializer
    select = ("assignee",)
    filters = {"project": "project_id", "song": "song_id", "assignee": "assignee_id"}
    choice_filters = {"stage": ("stage", Stage.values), "status": ("status", TaskStatus.values)}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.TASK_EDIT,
        "partial_update": C.TASK_EDIT,
        "destroy": C.TASK_EDIT,
        "move": C.TASK_MOVE,
    }

    @extend_schema(request=s.TaskCreateSerializer, responses={201: s.TaskSerializer})
    def create(self, request: Request) -> Response:
        data = self.input(s.TaskCreateSerializer)
        task = tasks.task_create(actor=request.user, **data)
        return self.output(task, status=201)

    @extend_schema(request=s.TaskUpdateSerializer, responses=s.TaskSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        data = self.input(s.TaskUpdateSerializer, partial=True)
        return self.output(tasks.task_update(actor=request.user, task=task, **data))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        tasks.task_delete(actor=request.user, task=self.get_object())
        return no_content()

    @extend_schema(request=s.TaskMoveSerializer, responses=s.TaskSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        """Put the task in a status column at a rank (the end when rank is omitted)."""
        task = self.get_object()
        data = self.input(s.TaskMoveSerializer)
        return self.output(
            tasks.task_move(
                actor=request.user, task=task, status=data["status"], rank=data.get("rank")
            )
        )


class CreditViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Credit
    serializer_class = s.CreditSerializer
    select = ("user",)
    filters = {"song": "song_id", "project": "song__project_id"}
    choice_filters = {"role": ("role", CreditRole.values)}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.CREDIT_EDIT,
        "partial_update": C.CREDIT_EDIT,
        "destroy": C.CREDIT_EDIT,
    }

    @extend_schema(request=s.CreditCreateSerializer, responses={201: s.CreditSerializer})
    def create(self, request: Request) -> Response:
        data = self.input(s.CreditCreateSerializer)
        credit = credits.credit_add(actor=request.user, **data)
        return self.output(credit, status=201)

    @extend_schema(request=s.CreditUpdateSerializer, responses=s.CreditSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        credit = self.get_object()
        data = self.input(s.CreditUpdateSerializer, partial=True)
        return self.output(credits.credit_update(actor=request.user, credit=credit, **data))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        credits.credit_remove(actor=request.user, credit=self.get_object())
        return no_content()


class SampleUseViewSet(ListRetrieveMixin, ScopedViewSet):
    model = SampleUse
    serializer_class = s.SampleUseSerializer
    filters = {"song": "song_id", "project": "song__project_id"}
    choice_filters = {"clearance": ("clearance", Clearance.values)}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.RIGHTS_EDIT,
        "partial_update": C.RIGHTS_EDIT,
        "destroy": C.RIGHTS_EDIT,
    }

    @extend_schema(request=s.SampleUseCreateSerializer, responses={201: s.SampleUseSerializer})
    def create(self, request: Request) -> Response:
        data = self.input(s.SampleUseCreateSerializer)
        sample = rights.sample_use_add(actor=request.user, **data)
        return self.output(sample, status=201)

    @extend_schema(request=s.SampleUseUpdateSerializer, responses=s.SampleUseSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        sample = self.get_object()
        data = self.input(s.SampleUseUpdateSerializer, partial=True)
        return self.output(rights.sample_use_update(actor=request.user, sample_use=sample, **data))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        rights.sample_use_remove(actor=request.user, sample_use=self.get_object())
        return no_content()
