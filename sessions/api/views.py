"""The live layer's REST API: comments, approvals, working sessions, keepers, presence.
Thin: validate input, fetch scoped objects, call a service (sessions.services)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audio.models import Master, Mix, Take
from sessions import presence, services
from sessions.api import serializers as s
from sessions.models import Approval, Comment, WorkingSession
from studio.api.base import ListRetrieveMixin, ScopedViewSet, id_param, no_content
from studio.errors import NotFound
from studio.models import Project
from studio.parsing import whole_number
from studio.roles import Capability as C
from studio.selectors import require_capability


class CommentViewSet(ListRetrieveMixin, ScopedViewSet):
    """Time-coded comments on a mix or master version, threaded, resolvable."""

    model = Comment
    serializer_class = s.CommentSerializer
    select = ("author", "resolved_by")
    filters = {"project": "project_id", "mix": "mix_id", "master": "master_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.COMMENT,
        "partial_update": C.COMMENT,
        "destroy": C.COMMENT,
        "resolve": C.COMMENT,
        "reopen": C.COMMENT,
    }

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("mentions")

    @extend_schema(request=s.CommentCreateSerializer, responses={201: s.CommentSerializer})
    def create(self, request: Request) -> Response:
        """Comment at a time (start_s) or a range (start_s..end_s) in the version's audio, or
        reply with `parent`. `@username` of a member in the body mentions them."""
        data = self.input(s.CommentCreateSerializer)
        comment = services.comment_add(actor=request.user, **data)
        return self.output(comment, status=201)

    @extend_schema(request=s.CommentEditSerializer, responses=s.CommentSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        """Edit the text (the author only)."""
        comment = self.get_object()
        data = self.input(s.CommentEditSerializer)
        return self.output(services.comment_edit(actor=request.user, comment=comment, **data))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete (the author only); replies stay in the thread."""
        services.comment_delete(actor=request.user, comment=self.get_object())
        return no_content()

    @extend_schema(request=None, responses=s.CommentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        return self.output(services.comment_resolve(actor=request.user, comment=self.get_object()))

    @extend_schema(request=None, responses=s.CommentSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        return self.output(services.comment_reopen(actor=request.user, comment=self.get_object()))


def _version_from_query(request: Request) -> Mix | Master:
    """The ?mix= or ?master= version, visible to the user (404 otherwise)."""
    mix, master = request.query_params.get("mix"), request.query_params.get("master")
    if bool(mix) == bool(master):
        raise ValidationError({"mix": ["give ?mix=<id> or ?master=<id>"]})
    raw, model = (mix or "", Mix) if mix else (master or "", Master)
    version_id = whole_number(raw)
    if version_id is None:
        raise ValidationError({"mix" if mix else "master": [f"'{raw[:40]}' is not an id"]})
    version = model.objects.visible_to(request.user).filter(pk=version_id).first()
    if version is None:
        raise NotFound("version not found")
    return version


class ApprovalViewSet(ListRetrieveMixin, ScopedViewSet):
    """Verdicts on versions. POST approves or requests changes (with a note); the version's
    approval (which the stage gate reads) is recomputed by the one rule in
    sessions.services.approval_state."""

    model = Approval
    serializer_class = s.ApprovalSerializer
    select = ("reviewer",)
    filters = {"project": "project_id", "mix": "mix_id", "master": "master_id"}
    # Creating needs MIX_APPROVE for a mix and MASTER_APPROVE for a master; the service checks
    # the right one, this declares the mix case.
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.MIX_APPROVE,
        "state": C.VIEW,
    }

    @extend_schema(request=s.ApprovalCreateSerializer, responses={201: s.ApprovalSerializer})
    def create(self, request: Request) -> Response:
        data = self.input(s.ApprovalCreateSerializer)
        approval = services.approval_give(actor=request.user, **data)
        return self.output(approval, status=201)

    @extend_schema(
        parameters=[
            id_param("mix", "this mix version"),
            id_param("master", "this master version"),
        ],
        responses=s.ApprovalStateSerializer,
    )
    @action(detail=False, methods=["get"])
    def state(self, request: Request) -> Response:
        """Is the version approved, and if not, what is missing."""
        version = _version_from_query(request)
        state = services.approval_state(version)
        return Response(
            {
                "approved": state.approved,
                "reasons": state.reasons,
                "verdicts": {str(k): v for k, v in state.verdicts.items()},
            }
        )


class WorkingSessionViewSet(ListRetrieveMixin, ScopedViewSet):
    """Scheduled working sessions on a song (recording, overdub, mix, listening) and takes."""

    model = WorkingSession
    serializer_class = s.WorkingSessionSerializer
    filters = {"project": "project_id", "song": "song_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.SESSION_EDIT,
        "partial_update": C.SESSION_EDIT,
        "destroy": C.SESSION_EDIT,
        "add_take": C.SESSION_EDIT,
        "remove_take": C.SESSION_EDIT,
    }

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("participants", "takes")

    @extend_schema(
        request=s.WorkingSessionCreateSerializer, responses={201: s.WorkingSessionSerializer}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.WorkingSessionCreateSerializer)
        session = services.session_schedule(actor=request.user, **data)
        return self.output(session, status=201)

    @extend_schema(request=s.WorkingSessionUpdateSerializer, responses=s.WorkingSessionSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        data = self.input(s.WorkingSessionUpdateSerializer, partial=True)
        return self.output(services.session_update(actor=request.user, session=session, **data))

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Cancel the session (its takes stay on the song)."""
        services.session_delete(actor=request.user, session=self.get_object())
        return no_content()

    @extend_schema(request=s.TakeRefSerializer, responses=s.WorkingSessionSerializer)
    @action(detail=True, methods=["post"], url_path="add-take")
    def add_take(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        data = self.input(s.TakeRefSerializer)
        return self.output(
            services.session_add_take(actor=request.user, session=session, take=data["take"])
        )

    @extend_schema(request=s.TakeRefSerializer, responses=s.WorkingSessionSerializer)
    @action(detail=True, methods=["post"], url_path="remove-take")
    def remove_take(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        data = self.input(s.TakeRefSerializer)
        return self.output(
            services.session_remove_take(actor=request.user, session=session, take=data["take"])
        )


class KeeperViewSet(ScopedViewSet):
    """Mark the keeper take of a part (one per song and part; marking one clears the others)."""

    model = Take
    serializer_class = s.KeeperResultSerializer
    action_capabilities = {"create": C.SESSION_EDIT}

    @extend_schema(request=s.KeeperSerializer, responses=s.KeeperResultSerializer)
    def create(self, request: Request) -> Response:
        data = self.input(s.KeeperSerializer)
        take = services.take_set_keeper(
            actor=request.user, take=data["take"], is_keeper=data["is_keeper"]
        )
        return Response(
            {"id": take.pk, "song": take.song_id, "part": take.part, "is_keeper": take.is_keeper}
        )


class PresenceViewSet(ScopedViewSet):
    """Who has the project open now, and on which song or mix (one row per user): one list, not
    pages (it is as long as the project's membership at most)."""

    model = Project
    serializer_class = s.PresenceSerializer
    pagination_class = None
    action_capabilities = {"list": C.VIEW}

    def base_queryset(self) -> Any:
        return Project.objects.for_member(self.request.user)

    @extend_schema(
        parameters=[id_param("project", "this project", required=True)],
        responses=s.PresenceSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        project_id = whole_number(request.query_params.get("project", ""))
        if project_id is None:
            raise ValidationError({"project": ["give ?project=<id>"]})
        require_capability(user=request.user, project_id=project_id, capability=C.VIEW)
        rows = presence.presence_list(project_id=project_id)
        return Response(s.PresenceSerializer(rows, many=True).data)
