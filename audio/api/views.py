"""The audio REST API: assets (analysis, peaks, Range-served files), stems, takes, mixes, jobs.
Thin: validate input, fetch scoped objects, call a service."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audio.api import serializers as s
from audio.api.files import asset_file_response
from audio.engine.formats import NAMES as FORMAT_NAMES
from audio.models import Asset, AssetKind, Job, JobKind, JobState, Mix, Stem, Take
from audio.services import assets as asset_services
from audio.services import jobs as job_services
from audio.services import mixes as mix_services
from studio.api.base import ListRetrieveMixin, ScopedViewSet
from studio.api.errors import ErrorSerializer
from studio.errors import Conflict, Invalid
from studio.parsing import whole_number
from studio.roles import Capability as C

_ERRORS = {
    400: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
}


def peaks_for_width(peaks: dict[str, Any], width: int) -> dict[str, Any]:
    """Only the level a player `width` CSS pixels wide needs (about 2 points per pixel: the
    coarsest level with at least `width` min/max pairs), instead of every zoom level."""
    levels = peaks.get("levels") or []
    best = next((level for level in levels if level.get("length", 0) >= width), None)
    if best is None and levels:
        best = levels[-1]
    return {**peaks, "levels": [best] if best else []}


class AssetViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Asset
    serializer_class = s.AssetSerializer
    filters = {"project": "project_id"}
    # not "format": DRF reads ?format= as the renderer to use (it answered 404 for ?format=wav)
    choice_filters = {
        "file_format": ("format", list(FORMAT_NAMES)),
        "kind": ("kind", AssetKind.values),
    }
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "analysis": C.VIEW,
        "peaks": C.VIEW,
        "file": C.VIEW,
    }

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action in ("list", "retrieve", "file"):
            qs = qs.defer("analysis", "peaks")
        return qs

    @extend_schema(
        responses={200: s.AnalysisSerializer, 409: ErrorSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def analysis(self, request: Request, pk: str) -> Response:
        """The engine's analysis report (409 until the analysis job has finished)."""
        asset = self.get_object()
        if asset.analysis is None:
            raise Conflict("the analysis is not ready yet", code="analysis_pending")
        return Response({"asset": asset.pk, "sha256": asset.sha256, "report": asset.analysis})

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "width",
                OpenApiTypes.INT,
                description="the player's width in CSS pixels: return only the level it needs",
            )
        ],
        responses={200: s.PeaksSerializer, 409: ErrorSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def peaks(self, request: Request, pk: str) -> Response:
        """Waveform peaks for the browser; cacheable by the file's checksum (ETag)."""
        asset = self.get_object()
        if asset.peaks is None:
            raise Conflict("the waveform is not ready yet", code="analysis_pending")
        width = request.query_params.get("width", "")
        if width and not 1 <= (whole_number(width) or 0) <= 100_000:
            raise Invalid(
                "width must be a whole number of pixels from 1 to 100000",
                fields={"width": ["1 to 100000"]},
            )
        peaks = peaks_for_width(asset.peaks, whole_number(width) or 0) if width else asset.peaks
        etag = f'"peaks-{asset.sha256}-{width or "all"}"'
        if request.headers.get("If-None-Match") == etag:
            response = Response(status=304)
        else:
            response = Response({"asset": asset.pk, "sha256": asset.sha256, "peaks": peaks})
        response["ETag"] = etag
        response["Cache-Control"] = "private, max-age=86400"
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "disposition",
                OpenApiTypes.STR,
                enum=["attachment", "inline"],
                description="inline for playback in the page; attachment (default) to save",
            ),
            OpenApiParameter(
                "Range", OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False
            ),
        ],
        responses={
            (200, "audio/*"): OpenApiResponse(OpenApiTypes.BINARY, description="the whole file"),
            (206, "audio/*"): OpenApiResponse(OpenApiTypes.BINARY, description="a byte range"),
            (416, "audio/*"): OpenApiResponse(description="range not satisfiable"),
            **_ERRORS,
        },
    )
    @action(detail=True, methods=["get"])
    def file(self, request: Request, pk: str) -> HttpResponse | StreamingHttpResponse:
        """The stored audio, members only, with HTTP Range support."""
        asset = self.get_object()
        inline = request.query_params.get("disposition") == "inline"
        return asset_file_response(asset, request.headers.get("Range", ""), inline=inline)


class StemViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Stem
    serializer_class = s.StemSerializer
    filters = {"project": "project_id", "song": "song_id"}
    action_capabilities = {"list": C.VIEW, "retrieve": C.VIEW, "create": C.ASSET_UPLOAD}

    @extend_schema(request=s.StemCreateSerializer, responses={201: s.StemSerializer, **_ERRORS})
    def create(self, request: Request) -> Response:
        data = self.input(s.StemCreateSerializer)
        stem = asset_services.stem_attach(actor=request.user, **data)
        return self.output(stem, status=201)


class TakeViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Take
    serializer_class = s.TakeSerializer
    filters = {"project": "project_id", "song": "song_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.ASSET_UPLOAD,
        "partial_update": C.ASSET_UPLOAD,
    }

    @extend_schema(request=s.TakeCreateSerializer, responses={201: s.TakeSerializer, **_ERRORS})
    def create(self, request: Request) -> Response:
        data = self.input(s.TakeCreateSerializer)
        take = asset_services.take_attach(actor=request.user, **data)
        return self.output(take, status=201)

    @extend_schema(request=s.TakeUpdateSerializer, responses={200: s.TakeSerializer, **_ERRORS})
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change the take's notes. The keeper flag is not set here: POST /api/keepers/."""
        take = self.get_object()
        data = self.input(s.TakeUpdateSerializer)
        return self.output(asset_services.take_update(actor=request.user, take=take, **data))


class MixViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Mix
    serializer_class = s.MixSerializer
    filters = {"project": "project_id", "song": "song_id"}
    action_capabilities = {"list": C.VIEW, "retrieve": C.VIEW, "create": C.MIX_EDIT}

    @extend_schema(request=s.MixCreateSerializer, responses={201: s.MixSerializer, **_ERRORS})
    def create(self, request: Request) -> Response:
        data = self.input(s.MixCreateSerializer)
        mix = mix_services.mix_create(actor=request.user, **data)
        return self.output(mix, status=201)


class JobViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Job
    serializer_class = s.JobSerializer
    filters = {"project": "project_id", "asset": "asset_id"}
    choice_filters = {
        "state": ("state", JobState.values),
        "kind": ("kind", JobKind.values),
    }
    # cancel: the route lets members through; the service asks the capability the job's kind
    # declares (whoever may create that kind of job may cancel it)
    action_capabilities = {"list": C.VIEW, "retrieve": C.VIEW, "cancel": C.VIEW}

    @extend_schema(request=None, responses={200: s.JobSerializer, 409: ErrorSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel a queued or running job (a running one stops at its next progress report);
        409 when it is already over."""
        job = job_services.job_cancel(actor=request.user, job=self.get_object())
        return self.output(job)
