"""The delivery REST API: releases, their tracks, deliveries. Thin: validate the shape, fetch
scoped objects, call a service. Deliverables download from `/api/assets/{id}/file/` (Range,
members only), the URLs each delivery lists."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audio.api.serializers import JobSerializer
from delivery import exports, services
from delivery.api import serializers as s
from delivery.models import Delivery, Release, ReleaseTrack
from delivery.selectors import release_missing, release_tracks, running_time
from studio.api.base import ListRetrieveMixin, ScopedViewSet, no_content
from studio.api.errors import ErrorSerializer
from studio.errors import Invalid, NotFound
from studio.models import Song
from studio.roles import Capability as C
from studio.selectors import project_get_for_member

_ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class ReleaseViewSet(ListRetrieveMixin, ScopedViewSet):
    """Releases of a project: an ordered set of mastered songs with its identifiers.

    - `GET /api/releases/?project=<id>`, `GET /api/releases/{id}/`.
    - `POST /api/releases/` `{"project", "title", "artist", "label"?, "upc"?, "p_line"?,
      "c_line"?, "release_date"?, "songs"?: [ids in order]}` (producer); `PATCH` the same
      fields; `DELETE`. A UPC/EAN with a wrong GS1 check digit is a 400 naming `upc`.
    - `POST /api/releases/{id}/artwork/` (multipart, `file`): the front cover, a JPEG or PNG,
      square, 1400-6000 px; anything else is a 400 naming `artwork` with the reason.
    - `GET /api/releases/{id}/missing/`: what still blocks or weakens delivery, each piece with
      the track and field that fix it and `blocking`; the running time against 79:57.
    - `POST /api/releases/{id}/deliver/` (producer, engineer): 202 `{"job"}`, the `deliver`
      job (progress as `job.progress` frames; `release.delivered` when Delivery N exists);
      409 `release_not_deliverable` listing the blocking pieces.
    - `POST /api/releases/{id}/deliver-songs/` (producer): moves every song of the release to
      "delivered" through its stage gate; answers which moved and why the others did not.
    - `GET /api/releases/{id}/export/?as=json|csv`: tracks, ISRCs, credits (roles, IPI, ISNI)
      and splits per right (docs/delivery.md)."""

    model = Release
    serializer_class = s.ReleaseSerializer
    select = ("artwork",)
    filters = {"project": "project_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.RELEASE_EDIT,
        "partial_update": C.RELEASE_EDIT,
        "destroy": C.RELEASE_EDIT,
        "artwork": C.RELEASE_EDIT,
        "missing": C.VIEW,
        "deliver": C.RELEASE_DELIVER,
        "deliver_songs": C.SONG_MOVE,
        "export": C.VIEW,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request=s.ReleaseCreateSerializer, responses={201: s.ReleaseSerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.ReleaseCreateSerializer)
        project = project_get_for_member(
            user=request.user, project_id=data.pop("project"), capability=C.RELEASE_EDIT
        )
        release = services.release_create(actor=request.user, project=project, data=data)
        return self.output_fresh(release, status=201)

    @extend_schema(
        request=s.ReleaseUpdateSerializer, responses={200: s.ReleaseSerializer, **_ERRORS}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.input(s.ReleaseUpdateSerializer, partial=True)
        release = services.release_update(actor=request.user, release=self.get_object(), data=data)
        return self.output_fresh(release)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.release_delete(actor=request.user, release=self.get_object())
        return no_content()

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={200: s.ReleaseSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def artwork(self, request: Request, pk: str) -> Response:
        release = self.get_object()
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid("send the image as `file`", fields={"artwork": ["choose an image"]})
        data = upload.read(services.ARTWORK_MAX_BYTES + 1)
        release = services.release_artwork_set(
            actor=request.user, release=release, data=data, name=upload.name or "cover"
        )
        return self.output_fresh(release)

    @extend_schema(responses={200: s.MissingSerializer, **_ERRORS})
    @action(detail=True, methods=["get"])
    def missing(self, request: Request, pk: str) -> Response:
        release = self.get_object()
        tracks = release_tracks(release)
        pieces = release_missing(release, tracks)
        return Response(
            {
                "deliverable": not any(p.blocking for p in pieces),
                "missing": [p.as_dict() for p in pieces],
                "running_time": running_time(release, tracks),
            }
        )

    @extend_schema(request=None, responses={202: JobSerializer, 409: ErrorSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk: str) -> Response:
        job = services.release_deliver(actor=request.user, release=self.get_object())
        return Response({"job": JobSerializer(job).data}, status=202)

    @extend_schema(request=None, responses={200: s.SongsMovedSerializer, **_ERRORS})
    @action(detail=True, methods=["post"], url_path="deliver-songs")
    def deliver_songs(self, request: Request, pk: str) -> Response:
        reason = str(request.data.get("reason", "")) if isinstance(request.data, dict) else ""
        out = services.release_songs_deliver(
            actor=request.user, release=self.get_object(), reason=reason[:1000]
        )
        return Response(out)

    @extend_schema(
        parameters=[OpenApiParameter("as", OpenApiTypes.STR, enum=["json", "csv"])],
        responses={200: OpenApiTypes.OBJECT, **_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> Any:
        release = self.get_object()
        kind = request.query_params.get("as", "json")
        if kind == "csv":
            response = HttpResponse(
                exports.release_export_csv(release), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="release-{release.pk}.csv"'
            return response
        if kind != "json":
            raise Invalid("as must be json or csv", fields={"as": ["json or csv"]})
        return Response(exports.release_export(release))


class ReleaseTrackViewSet(ListRetrieveMixin, ScopedViewSet):
    """The tracks of a release, in order (`GET /api/release-tracks/?release=<id>`).

    - `POST /api/release-tracks/` `{"release", "song", "position"?}`: adds the song with its
      newest approved master (none yet is allowed: the release lists it as missing).
    - `PATCH /api/release-tracks/{id}/` `{"title"?, "artist"?, "master"?, "isrc"?,
      "pregap_s"?, "trim_start_s"?, "trim_end_s"?, "fade_in_s"?, "fade_out_s"?}`: `isrc` is the
      master's (kept on every release it appears on; 409 when another recording holds it).
    - `POST /api/release-tracks/{id}/move/` `{"position"}`: the others close up around it.
    - `DELETE /api/release-tracks/{id}/`."""

    model = ReleaseTrack
    serializer_class = s.TrackSerializer
    select = ("song", "master__isrc")
    filters = {"release": "release_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.RELEASE_EDIT,
        "partial_update": C.RELEASE_EDIT,
        "destroy": C.RELEASE_EDIT,
        "move": C.RELEASE_EDIT,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=s.TrackCreateSerializer, responses={201: s.TrackSerializer, **_ERRORS})
    def create(self, request: Request) -> Response:
        data = self.input(s.TrackCreateSerializer)
        release = Release.objects.visible_to(request.user).filter(pk=data["release"]).first()
        if release is None:
            raise NotFound("release not found")
        song = Song.objects.filter(
            project_id=release.project_id, pk=data["song"], deleted_at__isnull=True
        ).first()
        if song is None:
            raise Invalid(
                "the song is not in this release's project", fields={"song": ["not found"]}
            )
        track = services.track_add(
            actor=request.user, release=release, song=song, position=data.get("position")
        )
        return self.output_fresh(track, status=201)

    @extend_schema(request=s.TrackUpdateSerializer, responses={200: s.TrackSerializer, **_ERRORS})
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.input(s.TrackUpdateSerializer, partial=True)
        track = services.track_update(actor=request.user, track=self.get_object(), data=data)
        return self.output_fresh(track)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.track_remove(actor=request.user, track=self.get_object())
        return no_content()

    @extend_schema(request=s.MoveSerializer, responses={200: s.TrackSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        data = self.input(s.MoveSerializer)
        track = services.track_move(
            actor=request.user, track=self.get_object(), position=data["position"]
        )
        return self.output_fresh(track)


class DeliveryViewSet(ListRetrieveMixin, ScopedViewSet):
    """What each `deliver` job made (`GET /api/deliveries/?release=<id>`): every file with its
    size, SHA-256 and download URL, the bundle, the QC report (`qc`: `status` and `fails`
    first), the UPC and the ISRCs used."""

    model = Delivery
    serializer_class = s.DeliverySerializer
    select = ("job",)
    filters = {"release": "release_id"}
    action_capabilities = {"list": C.VIEW, "retrieve": C.VIEW}
