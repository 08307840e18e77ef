"""The song sheet REST API. Thin: validate the shape, fetch scoped objects, call a service.

Producers and artists write the sheet (`sheet.edit`), every member reads it; an archived song
answers 409 to every write. Another project's song or object is a 404 (a 400 "does not exist"
for an id in a body)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from songsheet import services
from songsheet.api import serializers as s
from songsheet.models import Influence, PaletteItem, Section
from songsheet.selectors import sheet_read
from studio.api.base import ListRetrieveMixin, ScopedViewSet, no_content
from studio.api.errors import ErrorSerializer
from studio.api.serializers import SampleUseSerializer
from studio.models import Song
from studio.roles import Capability as C

_ERRORS = {
    400: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    409: ErrorSerializer,
}


class SongSheetViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    """The sheet of a song, by the song's id (`/api/song-sheets/{song}/`).

    - `GET`: genre, vibe, style notes, time signature, first downbeat, the song's key and tempo,
      the sections in order with their start and end times (null without a tempo), and
      `regions` for the waveform (empty until the tempo and the first downbeat are set).
    - `PUT` any of `genre`, `vibe`, `style_notes`, `time_signature` (4/4, 3/4, 6/8, 7/8, ...),
      `first_downbeat_s`, `key`, `tempo_bpm`: fields left out keep their value; key and tempo
      are the song's (`song.updated`)."""

    model = Song
    serializer_class = s.SheetSerializer
    action_capabilities = {"retrieve": C.VIEW, "update": C.SHEET_EDIT}
    http_method_names = ["get", "put", "head", "options"]

    @extend_schema(responses={200: s.SheetSerializer, **_ERRORS})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.SheetSerializer(s.SheetSerializer.of(sheet_read(self.get_object()))).data)

    @extend_schema(request=s.SheetUpdateSerializer, responses={200: s.SheetSerializer, **_ERRORS})
    def update(self, request: Request, pk: str) -> Response:
        song = self.get_object()
        data = self.input(s.SheetUpdateSerializer, partial=True)
        services.sheet_update(actor=request.user, song=song, data=data)
        fresh = Song.objects.select_related("project").get(pk=song.pk)
        return Response(s.SheetSerializer(s.SheetSerializer.of(sheet_read(fresh))).data)


class SectionViewSet(ListRetrieveMixin, ScopedViewSet):
    """The arrangement of a song in order (`GET /api/sections/?song=<id>`), each with its
    start bar and its start and end times in seconds (null without a tempo).

    - `POST /api/sections/` `{"song", "name", "bars", "lyrics"?, "notes"?,
      "estimate_minutes"?, "position"?}`: bars a whole number from 1, lyrics at most 20 000
      characters, the estimate none or whole minutes from 0.
    - `PATCH /api/sections/{id}/` the same fields but song and position; `DELETE`.
    - `POST /api/sections/{id}/move/` `{"position"}`: the others close up around it."""

    model = Section
    serializer_class = s.SectionSerializer
    select = ("song",)
    filters = {"song": "song_id", "project": "song__project_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.SHEET_EDIT,
        "partial_update": C.SHEET_EDIT,
        "destroy": C.SHEET_EDIT,
        "move": C.SHEET_EDIT,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("song_id", "position", "id")

    @extend_schema(
        request=s.SectionCreateSerializer, responses={201: s.SectionSerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.SectionCreateSerializer)
        song = data.pop("song")
        section = services.section_add(actor=request.user, song=song, data=data)
        return self.output_fresh(section, status=201)

    @extend_schema(
        request=s.SectionUpdateSerializer, responses={200: s.SectionSerializer, **_ERRORS}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.input(s.SectionUpdateSerializer, partial=True)
        section = services.section_update(actor=request.user, section=self.get_object(), data=data)
        return self.output_fresh(section)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.section_remove(actor=request.user, section=self.get_object())
        return no_content()

    @extend_schema(request=s.SectionMoveSerializer, responses={200: s.SectionSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        data = self.input(s.SectionMoveSerializer)
        section = services.section_move(
            actor=request.user, section=self.get_object(), position=data["position"]
        )
        return self.output_fresh(section)


class PaletteItemViewSet(ListRetrieveMixin, ScopedViewSet):
    """The sound palette of a song (`GET /api/palette-items/?song=<id>`): each planned
    instrument or sound, its source, who plays or designs it (`player`, a member's user id, or
    `player_name`), the working session it is tracked in (one of the same song's: another is a
    400) and its status (planned, sourced, tracked, dropped).
    `POST`, `PATCH /api/palette-items/{id}/`, `DELETE`."""

    model = PaletteItem
    serializer_class = s.PaletteItemSerializer
    select = ("song", "player")
    filters = {"song": "song_id", "project": "song__project_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.SHEET_EDIT,
        "partial_update": C.SHEET_EDIT,
        "destroy": C.SHEET_EDIT,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request=s.PaletteCreateSerializer, responses={201: s.PaletteItemSerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.PaletteCreateSerializer)
        song = data.pop("song")
        item = services.palette_add(actor=request.user, song=song, data=data)
        return self.output_fresh(item, status=201)

    @extend_schema(
        request=s.PaletteUpdateSerializer, responses={200: s.PaletteItemSerializer, **_ERRORS}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.input(s.PaletteUpdateSerializer, partial=True)
        item = services.palette_update(actor=request.user, item=self.get_object(), data=data)
        return self.output_fresh(item)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.palette_remove(actor=request.user, item=self.get_object())
        return no_content()


class InfluenceViewSet(ListRetrieveMixin, ScopedViewSet):
    """What inspired a song (`GET /api/influences/?song=<id>`): a work and its artist, what was
    taken (any of feel, groove, melody, lyrics, sound) and notes. Anything beyond feel answers
    with `asks_clearance` and a `clearance_prompt` until it is recorded as a sample use.

    - `POST`, `PATCH /api/influences/{id}/`, `DELETE` (a recorded sample use stays).
    - `POST /api/influences/{id}/sample-use/` `{"kind"?: sample | interpolation | reference,
      "clearance"?: pending | cleared | denied | not_needed, "rights_holder"?}` (producers:
      rights): records the sample use, linked to the influence; pending or denied, it holds the
      gate into delivered. 409 when it is already recorded."""

    model = Influence
    serializer_class = s.InfluenceSerializer
    select = ("song", "sample_use")
    filters = {"song": "song_id", "project": "song__project_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.SHEET_EDIT,
        "partial_update": C.SHEET_EDIT,
        "destroy": C.SHEET_EDIT,
        "record_sample": C.RIGHTS_EDIT,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request=s.InfluenceCreateSerializer, responses={201: s.InfluenceSerializer, **_ERRORS}
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.InfluenceCreateSerializer)
        song = data.pop("song")
        influence = services.influence_add(actor=request.user, song=song, data=data)
        return self.output_fresh(influence, status=201)

    @extend_schema(
        request=s.InfluenceUpdateSerializer, responses={200: s.InfluenceSerializer, **_ERRORS}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.input(s.InfluenceUpdateSerializer, partial=True)
        influence = services.influence_update(
            actor=request.user, influence=self.get_object(), data=data
        )
        return self.output_fresh(influence)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        services.influence_remove(actor=request.user, influence=self.get_object())
        return no_content()

    @extend_schema(
        request=s.RecordSampleSerializer, responses={201: SampleUseSerializer, **_ERRORS}
    )
    @action(detail=True, methods=["post"], url_path="sample-use")
    def record_sample(self, request: Request, pk: str) -> Response:
        data = self.input(s.RecordSampleSerializer)
        sample = services.influence_record_sample(
            actor=request.user, influence=self.get_object(), **data
        )
        return Response(SampleUseSerializer(sample).data, status=201)
