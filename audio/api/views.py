"""The audio REST API: assets (analysis, peaks, Range-served files), stems, takes, mixes,
reference tracks, masters, jobs. Thin: validate input, fetch scoped objects, call a service."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audio.api import serializers as s
from audio.api.files import asset_file_response
from audio.engine.formats import NAMES as FORMAT_NAMES
from audio.engine.mastering.presets import PRESETS
from audio.jobs.registry import RegisteredKindNames
from audio.models import (
    JOB_OVER,
    Asset,
    AssetKind,
    Job,
    JobKind,
    JobState,
    Master,
    Mix,
    MixState,
    ReferenceTrack,
    Stem,
    Take,
)
from audio.peaks import peaks_body
from audio.selectors import asset_get_for_peaks
from audio.services import assets as asset_services
from audio.services import jobs as job_services
from audio.services import masters as master_services
from audio.services import mixes as mix_services
from audio.services import renders as render_services
from studio.api.base import ListRetrieveMixin, ScopedViewSet, no_content
from studio.api.errors import ErrorSerializer
from studio.errors import Conflict, Invalid, NotFound
from studio.parsing import whole_number
from studio.roles import Capability as C

_ERRORS = {
    400: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
}


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

    def get_object(self) -> Any:
        if self.action != "peaks":
            return super().get_object()
        # the player asks for these on every page: one fixed statement, only what the answer needs
        asset_id = whole_number(str(self.kwargs.get("pk", "")))
        asset = (
            None
            if asset_id is None
            else asset_get_for_peaks(user=self.request.user, asset_id=asset_id)
        )
        if asset is None:
            raise Http404
        self.check_object_permissions(self.request, asset)
        return asset

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action in ("list", "retrieve", "file"):
            qs = qs.defer("analysis")
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
    def peaks(self, request: Request, pk: str) -> HttpResponse:
        """Waveform peaks for the browser: the stored peaks file's bytes as they are (the
        whole file, or one ranged read of the level a `width` needs), never re-serialised. The
        file is keyed by the audio's checksum and never changes, so the answer is cacheable
        for good (ETag, immutable)."""
        asset = self.get_object()
        if not asset.peaks_name:
            raise Conflict("the waveform is not ready yet", code="analysis_pending")
        width_param = request.query_params.get("width", "")
        width = whole_number(width_param) if width_param else None
        if width_param and not 1 <= (width or 0) <= 100_000:
            raise Invalid(
                "width must be a whole number of pixels from 1 to 100000",
                fields={"width": ["1 to 100000"]},
            )
        etag = f'"peaks-{asset.sha256}-{width or "all"}"'
        if request.headers.get("If-None-Match") == etag:
            response = HttpResponse(status=304)
        else:
            body = peaks_body(asset, width)
            head = f'{{"asset":{asset.pk},"sha256":"{asset.sha256}","peaks":'.encode()
            response = HttpResponse(head + body + b"}", content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = "private, max-age=31536000, immutable"
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "disposition",
                OpenApiTypes.STR,
                enum=["attachment", "inline"],
                description="inline to play in the page (every member); attachment (default) "
                "to save under the file's uploaded name: 403 `download_off` for a viewer when "
                "the project's producers have turned viewers' downloads off",
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
        """The stored file, members only, with HTTP Range support, named as it was uploaded
        (RFC 6266 `filename*` with an ASCII `filename`)."""
        asset = self.get_object()
        disposition = request.query_params.get("disposition", "attachment")
        if disposition not in ("attachment", "inline"):
            raise Invalid(
                "disposition must be attachment (save the file) or inline (play it)",
                fields={"disposition": ["attachment or inline"]},
            )
        if disposition == "attachment":
            asset_services.asset_download_check(user=request.user, asset=asset)
        inline = disposition == "inline"
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
    """Mix versions: uploaded, or drafts that the team edits and the `render` job renders.

    - `POST /api/mixes/` `{"song", "asset"}`: an uploaded version (rendered at once);
      `{"song", "from": "keepers"}`: a draft with one track per stem and per keeper take of the
      song, each a clip at frame 0 over the whole source at gain 0 dB and pan 0, plus a reverb
      bus `verb` whose post-fader sends are off (-144 dB, the spec's floor: shown as -inf);
      `{"song", "spec": {...}}`: a draft from a spec; `{"song", "parent": id}`: a draft copying
      a version's spec. 201 with the draft, "Mix N (draft)" (N is its number for good). A song
      has one draft at a time: 409 `draft_exists` (`fields.draft` is its id).
    - `GET /api/mixes/{id}/spec/`: `{mix, spec_revision, editable, spec}` with `ETag: "r<rev>"`.
    - `PUT /api/mixes/{id}/spec/` with the spec document as the body (optionally `If-Match:
      "r<rev>"`: 412 if someone saved meanwhile): replaces a draft's spec, answers the same shape
      as GET. 409 `mix_rendered` once rendered, `mix_rendering` while its render job runs.
    - `POST /api/mixes/{id}/render/` `{"bit_depth": "32f"|"24"|"16"}`: 202 with the job; its
      progress streams as `job.progress` frames; `mix.rendered` when the version has its audio.
    - `POST /api/mixes/{id}/preview/` `{"start_s", "end_s", "bit_depth"}`: at most 30 s of the
      spec rendered now, as `audio/wav` bytes (the same samples as the full render there).
    - `DELETE /api/mixes/{id}/`: discard a draft (409 for a rendered version).

    A bad spec is a 400 `spec_invalid` whose `fields` are keyed by JSON path within the spec
    (`tracks[0].clips[1].source`, `spec` for malformed JSON) and nothing is stored. Sources are
    `stem:<id>`, `take:<id>` or `mix:<id>` of the same song. Every write records an event
    (`mix.draft_created`, `mix.spec_changed`, `mix.draft_discarded`, `mix.rendered`), so open
    mixer pages follow live. Engineers and producers edit, render and preview; everyone reads.
    """

    model = Mix
    serializer_class = s.MixSerializer
    filters = {"project": "project_id", "song": "song_id"}
    choice_filters = {"state": ("state", MixState.values)}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.MIX_EDIT,
        "destroy": C.MIX_EDIT,
        "spec": C.VIEW,
        "spec_replace": C.MIX_EDIT,
        "render": C.MIX_EDIT,
        "preview": C.MIX_EDIT,
    }

    def get_queryset(self) -> Any:
        live = Job.objects.filter(mix=OuterRef("pk"), kind=JobKind.RENDER).exclude(
            state__in=JOB_OVER
        )
        return super().get_queryset().annotate(live_render_job=Subquery(live.values("pk")[:1]))

    @extend_schema(
        request=s.MixCreateAnySerializer,
        responses={201: s.MixSerializer, 409: ErrorSerializer, **_ERRORS},
    )
    def create(self, request: Request) -> Response:
        if isinstance(request.data, dict) and "asset" in request.data:
            data = self.input(s.MixCreateSerializer)
            return self.output(mix_services.mix_create(actor=request.user, **data), status=201)
        data = self.input(s.DraftCreateSerializer)
        mix = render_services.draft_create(
            actor=request.user,
            song=data["song"],
            spec=data.get("spec"),
            from_keepers=data.get("from") == "keepers",
            parent=data.get("parent"),
            note=data.get("note", ""),
        )
        return self.output(self.get_queryset().get(pk=mix.pk), status=201)

    @extend_schema(responses={204: None, 409: ErrorSerializer, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        """Discard a draft that is not rendering."""
        render_services.draft_discard(actor=request.user, mix=self.get_object())
        return no_content()

    def _spec_response(self, mix: Mix) -> Response:
        if mix.spec is None:
            raise Conflict(f"{mix} was uploaded: it has no spec", code="no_spec")
        body = {
            "mix": mix.pk,
            "spec_revision": mix.spec_revision,
            "editable": mix.is_draft and render_services.render_job_live(mix) is None,
            "spec": mix.spec,
        }
        response = Response(body)
        response["ETag"] = f'"r{mix.spec_revision}"'
        return response

    @extend_schema(responses={200: s.MixSpecSerializer, 409: ErrorSerializer, **_ERRORS})
    @action(detail=True, methods=["get"])
    def spec(self, request: Request, pk: str) -> Response:
        """The version's mix spec (a draft's, or the one a rendered version came from)."""
        return self._spec_response(self.get_object())

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "If-Match",
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                required=False,
                description='"r<revision>" from GET: refuse (412) if the spec changed since',
            )
        ],
        responses={200: s.MixSpecSerializer, 409: ErrorSerializer, 412: ErrorSerializer, **_ERRORS},
    )
    @spec.mapping.put
    def spec_replace(self, request: Request, pk: str) -> Response:
        """Replace a draft's spec with the body (a mix spec document)."""
        mix = self.get_object()
        data = render_services.spec_parse(request.body)
        revision = render_services.if_match_revision(request.headers.get("If-Match", ""))
        mix = render_services.spec_replace(
            actor=request.user, mix=mix, spec=data, revision=revision
        )
        return self._spec_response(mix)

    @extend_schema(
        request=s.RenderSerializer,
        responses={202: s.JobSerializer, 409: ErrorSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def render(self, request: Request, pk: str) -> Response:
        """Start the draft's render job: 202 with the job (follow it at /api/jobs/{id}/)."""
        mix = self.get_object()
        data = self.input(s.RenderSerializer)
        job = render_services.render_start(
            actor=request.user, mix=mix, bit_depth=data.get("bit_depth", "32f")
        )
        return Response(s.JobSerializer(job).data, status=202)

    @extend_schema(
        request=s.PreviewSerializer,
        responses={
            (200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="the window"),
            409: ErrorSerializer,
            **_ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> HttpResponse:
        """Render `start_s`..`end_s` (at most 30 s) of the spec now, as WAV bytes."""
        mix = self.get_object()
        data = self.input(s.PreviewSerializer)
        wav = render_services.preview_render(
            actor=request.user,
            mix=mix,
            start_s=data["start_s"],
            end_s=data["end_s"],
            bit_depth=data.get("bit_depth", "32f"),
        )
        response = HttpResponse(wav, content_type="audio/wav")
        response["Cache-Control"] = "no-store"
        return response


class ReferenceViewSet(ListRetrieveMixin, ScopedViewSet):
    """Reference tracks of a song: commercial songs the team masters towards, private to the
    project and never a source of a mix.

    - `GET /api/references/?song=<id>`: each with `asset`, `asset_url` (stream it in the
      player), `title`, `added_by`, `added_at` and `analysis` (integrated_lufs, lra,
      true_peak_dbtp, true_peak_accurate_dbtp, sample_peak_dbfs, crest_factor_db, spectrum;
      null until its analysis job has finished).
    - `POST /api/references/` `{"song", "asset", "title"?}`: `asset` is an audio file of the
      song's project already uploaded (POST /api/uploads/); 201; 400 for another project's
      asset or a file that is not audio; 409 `reference_exists` for the same file twice.
    - `DELETE /api/references/{id}/`: 204; masters made with it keep their settings and report.

    Engineers and producers add and remove (`reference.added`, `reference.removed`); everyone
    reads."""

    model = ReferenceTrack
    serializer_class = s.ReferenceSerializer
    filters = {"project": "project_id", "song": "song_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.MIX_EDIT,
        "destroy": C.MIX_EDIT,
    }

    def get_queryset(self) -> Any:
        return super().get_queryset().select_related("asset", "added_by")

    @extend_schema(
        request=s.ReferenceCreateSerializer,
        responses={201: s.ReferenceSerializer, 409: ErrorSerializer, **_ERRORS},
    )
    def create(self, request: Request) -> Response:
        data = self.input(s.ReferenceCreateSerializer)
        ref = master_services.reference_add(actor=request.user, **data)
        return self.output(self.get_queryset().get(pk=ref.pk), status=201)

    @extend_schema(responses={204: None, **_ERRORS})
    def destroy(self, request: Request, pk: str) -> Response:
        master_services.reference_remove(actor=request.user, reference=self.get_object())
        return no_content()


class MasterViewSet(ListRetrieveMixin, ScopedViewSet):
    """Master versions of a song, made by the `master` job from a version with audio.

    - `GET /api/masters/?song=<id>` (or `?mix=`), `GET /api/masters/{id}/`: number, name
      ("Master 2"), the mix and its number, `settings` (the validated request), `report` (the
      engine's), `asset` / `asset_url` and `prelimiter_asset` / `prelimiter_url` (stream them in
      the player), `is_approved` (the reasons: GET /api/approvals/state/?master=<id>).
    - `GET /api/masters/presets/`: the platform presets (name, lufs, ceiling_dbtp, turns_up,
      source).
    - `POST /api/masters/` `{"mix", "preset"?, "target_lufs"?, "ceiling_dbtp"?, "references"?:
      [ids], "reference_weights"?: [w], "intensity"?: 0-100, "match_tone"?: 0-100,
      "match_width"?: 0-100, "stages"?: {"eq": [{"kind", "freq", "gain_db", "q"}], "eq_phase":
      "minimum" | "linear", "multiband": {"low_hz", "high_hz", "low", "mid", "high"} | null,
      "compressor": {"threshold_db", "ratio", "attack_ms", "release_db_per_s", "knee_db",
      "makeup_db"} | null, "saturation": {"drive_db"} | null, "width": percent | null},
      "bit_depth"?: "24" | "16"}`: 202 `{"job": {...}}`; follow it at /api/jobs/{id}/ (progress
      as `job.progress` frames, cancel at /api/jobs/{id}/cancel/); `master.created` when Master N
      exists. Every bad field is a 400 naming its path; a mix of another project is a 404; a
      draft (no audio yet) a 409 `mix_draft`.

    The target is `target_lufs`, else the preset's, else (with references) the references'
    loudness, else -14 LUFS; the ceiling is `ceiling_dbtp`, else the preset's, else -1 dBTP.
    Engineers and producers master; everyone reads."""

    model = Master
    serializer_class = s.MasterSerializer
    select = ("mix", "created_by")
    filters = {"project": "project_id", "song": "song_id", "mix": "mix_id"}
    action_capabilities = {
        "list": C.VIEW,
        "retrieve": C.VIEW,
        "create": C.MIX_EDIT,
        "presets": None,  # the same for everyone: plain data, no project
    }

    @extend_schema(
        request=s.MasterRequestSerializer,
        responses={202: s.MasterJobSerializer, 409: ErrorSerializer, **_ERRORS},
    )
    def create(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise Invalid("expected a JSON object", fields={"non_field_errors": ["an object"]})
        raw = data.get("mix")
        if raw is None or raw == "":
            raise Invalid("name the mix to master", fields={"mix": ["this field is required"]})
        mix_id = None if isinstance(raw, bool) else whole_number(str(raw))
        if mix_id is None:
            raise Invalid("mix must be a mix id", fields={"mix": ["must be a mix id"]})
        mix = Mix.objects.visible_to(request.user).select_related("song").filter(pk=mix_id).first()
        if mix is None:
            raise NotFound("mix not found")
        job = master_services.master_request(actor=request.user, mix=mix, settings=data)
        return Response({"job": s.JobSerializer(job).data}, status=202)

    @extend_schema(responses={200: s.PresetSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def presets(self, request: Request) -> Response:
        """The platform presets: each service's loudness reference, ceiling and source."""
        return Response(
            [
                {
                    "name": p.name,
                    "lufs": p.lufs,
                    "ceiling_dbtp": p.ceiling_dbtp,
                    "turns_up": p.turns_up,
                    "source": p.source,
                }
                for p in PRESETS.values()
            ]
        )


class JobViewSet(ListRetrieveMixin, ScopedViewSet):
    model = Job
    serializer_class = s.JobSerializer
    filters = {"project": "project_id", "asset": "asset_id"}
    choice_filters = {
        "state": ("state", JobState.values),
        "kind": ("kind", RegisteredKindNames()),
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
