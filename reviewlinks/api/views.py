"""The review-link API for members who may send links (producer, engineer). Thin: validate the
shape, fetch scoped objects, call a service.

- `GET /api/review-links/?project=<id>`: the project's links with their stats, newest first, in
  pages like every list (`project` is required: the list is refused, 403, to a member who may
  not send links).
- `POST /api/review-links/` `{"mix" | "master", "recipient_name", "recipient_email", "note"?,
  "expires_at"?, "download_allowed"?, "play_limit"?}`: 201 with `url`, the link to send (its
  token is shown this once and never again); the `watermark` job makes the copy.
- `GET /api/review-links/{id}/`: the link, its stats and its comments (from outside).
- `POST /api/review-links/{id}/revoke/`: the next request through the link is refused.
- `GET /api/leak-traces/?project=<id>` (newest first, in pages), `GET /api/leak-traces/{id}/`.
- `POST /api/leak-traces/?project=<id>` (multipart, `file`): 202; the `wmtrace` job looks for
  the mark against the project's issued ids."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audio.models import Master, Mix
from reviewlinks import selectors, services
from reviewlinks.api import serializers as s
from reviewlinks.models import LeakTrace, ReviewLink
from studio.api.base import ScopedViewSet
from studio.api.errors import ErrorSerializer
from studio.errors import Invalid, NotFound
from studio.parsing import whole_number
from studio.roles import Capability as C
from studio.selectors import project_get_for_member

_ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


# The lists are a project's (who may see links is a role in that project), so `project` is required.
PROJECT_PARAM = OpenApiParameter(
    "project", OpenApiTypes.INT, OpenApiParameter.QUERY, required=True, description="project id"
)


def _link_url(request: Request, token: str) -> str:
    """The link to send: the token rides in the fragment, which no request carries."""
    return request.build_absolute_uri("/r/") + "#" + token


def _project_param(request: Request) -> int:
    value = whole_number(str(request.query_params.get("project", "")))
    if value is None:
        raise Invalid("give ?project=<id>", fields={"project": ["this parameter is required"]})
    return value


class ReviewLinkViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    model = ReviewLink
    serializer_class = s.ReviewLinkSerializer
    action_capabilities = {
        "list": C.REVIEW_LINK_SEND,
        "retrieve": C.REVIEW_LINK_SEND,
        "create": C.REVIEW_LINK_SEND,
        "revoke": C.REVIEW_LINK_SEND,
    }
    http_method_names = ["get", "post", "head", "options"]

    def base_queryset(self) -> Any:
        return selectors.with_stats(ReviewLink.objects.visible_to(self.request.user))

    def get_serializer_class(self) -> Any:
        return s.ReviewLinkDetailSerializer if self.action == "retrieve" else s.ReviewLinkSerializer

    @extend_schema(
        parameters=[PROJECT_PARAM], responses={200: s.ReviewLinkSerializer(many=True), **_ERRORS}
    )
    def list(self, request: Request) -> Response:
        links = selectors.links_for_member(user=request.user, project_id=_project_param(request))
        page = self.paginate_queryset(links)
        return self.get_paginated_response(s.ReviewLinkSerializer(page, many=True).data)

    @extend_schema(
        request=s.ReviewLinkCreateSerializer, responses={201: s.ReviewLinkSentSerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.ReviewLinkCreateSerializer)
        version: dict[str, Any] = {}
        if "mix" in data:
            mix = Mix.objects.visible_to(request.user).filter(pk=data.pop("mix")).first()
            if mix is None:
                raise NotFound("mix not found")
            version["mix"] = mix
        else:
            master = Master.objects.visible_to(request.user).filter(pk=data.pop("master")).first()
            if master is None:
                raise NotFound("master not found")
            version["master"] = master
        link, token = services.link_create(
            actor=request.user, **version, **data, link_for=lambda t: _link_url(request, t)
        )
        out = s.ReviewLinkSentSerializer(self.get_queryset().get(pk=link.pk)).data
        out["url"] = _link_url(request, token)
        return Response(out, status=201)

    @extend_schema(request=None, responses={200: s.ReviewLinkSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        link = services.link_revoke(actor=request.user, link=self.get_object())
        return Response(s.ReviewLinkSerializer(self.get_queryset().get(pk=link.pk)).data)


class LeakTraceViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    model = LeakTrace
    serializer_class = s.LeakTraceSerializer
    select = ("link", "link__created_by", "link__mix", "link__master")
    action_capabilities = {
        "list": C.REVIEW_LINK_SEND,
        "retrieve": C.REVIEW_LINK_SEND,
        "create": C.REVIEW_LINK_SEND,
    }
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(
        parameters=[PROJECT_PARAM], responses={200: s.LeakTraceSerializer(many=True), **_ERRORS}
    )
    def list(self, request: Request) -> Response:
        traces = selectors.traces_for_member(user=request.user, project_id=_project_param(request))
        page = self.paginate_queryset(traces)
        return self.get_paginated_response(s.LeakTraceSerializer(page, many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={202: s.LeakTraceSerializer, **_ERRORS},
    )
    def create(self, request: Request) -> Response:
        project = project_get_for_member(
            user=request.user, project_id=_project_param(request), capability=C.REVIEW_LINK_SEND
        )
        upload = request.FILES.get("file")
        if upload is None or not upload.size:
            raise Invalid("send the file as `file`", fields={"file": ["choose the file you found"]})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "found"
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            trace = services.trace_start(
                actor=request.user, project=project, path=path, name=upload.name or ""
            )
        return Response(
            s.LeakTraceSerializer(self.get_queryset().get(pk=trace.pk)).data, status=202
        )
