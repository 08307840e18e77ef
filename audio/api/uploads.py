"""tus 1.0 endpoints (core, creation, checksum, expiration, termination) at /api/uploads/.

A standard tus client (tuspy, tus-js-client) works unchanged. The body of a PATCH is read from
the request stream in blocks (never `request.body`), so memory stays flat. Session-auth requests
go through DRF's CSRF check (the browser sends X-CSRFToken); token auth is exempt, as in DRF.
Errors are JSON {"code", "detail", "fields"} even though tus clients send no JSON.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from audio.api.serializers import UploadDoneSerializer, UploadHeldSerializer
from audio.models import Upload, UploadState
from audio.services import uploads as upload_services
from studio.api.errors import ErrorSerializer
from studio.api.permissions import HasActionCapability
from studio.errors import Conflict, DomainError, Invalid
from studio.parsing import whole_number
from studio.roles import Capability as C

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"


class PreconditionFailed(DomainError):
    status = 412
    code = "tus_version"


def _header(name: str, description: str, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        required=required,
        description=description,
    )


def _errors(*codes: int) -> dict[int, Any]:
    return dict.fromkeys(codes, ErrorSerializer)


def _int_header(request: Request, name: str) -> int:
    value = whole_number(request.headers.get(name, ""))
    if value is None:
        raise Invalid(f"{name} must be a whole number", fields={name: ["a whole number"]})
    return value


class UploadViewSet(viewsets.GenericViewSet):
    """Resumable uploads. POST creates (Upload-Length, Upload-Metadata with filename, project and
    optionally song, kind stem|take|mix, instrument, part, note); HEAD gives the offset; PATCH
    appends a chunk at the offset (<= 8 MiB, optional Upload-Checksum); DELETE cancels.
    The completing PATCH answers 204 with Studio-Asset-Id and Studio-Job-Id headers (and
    Studio-Stem-Id / Studio-Take-Id / Studio-Mix-Id), or 422 with the reason the file was refused.

    A file identical to one the song already holds in that role (the same bytes as a mix
    version, for a mix; as a stem or take, for a stem or take) is held, not attached: the PATCH
    (and HEAD) answers `Studio-Upload-State: held` and `Studio-Identical-To: mix:<id>` (or
    `stem:<id>`, `take:<id>`). `GET /api/uploads/{id}/duplicate/` says what it is identical to
    ("b.wav is identical to Mix 1"); `POST .../confirm/` attaches it all the same (200, the
    upload with `attached`), `POST .../cancel/` drops it (204, nothing added).
    """

    permission_classes = [HasActionCapability]
    queryset = Upload.objects.none()
    model = Upload
    lookup_field = "upload_id"
    action_capabilities = {
        "create": C.ASSET_UPLOAD,
        "status": C.ASSET_UPLOAD,
        "partial_update": C.ASSET_UPLOAD,
        "destroy": C.ASSET_UPLOAD,
        "metadata": None,  # OPTIONS: the tus capabilities, for any signed-in user
        "duplicate": C.ASSET_UPLOAD,
        "confirm": C.ASSET_UPLOAD,
        "cancel": C.ASSET_UPLOAD,
    }
    # Studio's own decisions on a held upload: plain JSON requests, not tus ones.
    NOT_TUS = ("duplicate", "confirm", "cancel")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action in self.NOT_TUS:
            return
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise PreconditionFailed(f"send Tus-Resumable: {TUS_VERSION}")

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        response["Cache-Control"] = "no-store"
        if getattr(response, "status_code", 0) == 412:
            response["Tus-Version"] = TUS_VERSION
        return response

    def _state_headers(self, response: Response, upload: Upload) -> Response:
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Length"] = str(upload.length)
        response["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
        if upload.state == UploadState.HELD:
            response["Studio-Upload-State"] = "held"
            if upload.asset_id:
                response["Studio-Asset-Id"] = str(upload.asset_id)
            identical = upload_services.upload_identical_to(upload)
            if identical and identical["type"]:
                response["Studio-Identical-To"] = f"{identical['type']}:{identical['id']}"
        if upload.state == UploadState.DONE:
            response["Studio-Upload-State"] = "done"
            if upload.asset_id:
                response["Studio-Asset-Id"] = str(upload.asset_id)
            if upload.job_id:
                response["Studio-Job-Id"] = str(upload.job_id)
            attached = upload.attached or {}
            if attached.get("type") in ("stem", "take", "mix"):
                response[f"Studio-{attached['type'].capitalize()}-Id"] = str(attached["id"])
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        response = Response(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Max-Size"] = str(settings.UPLOAD_MAX_BYTES)
        response["Tus-Checksum-Algorithm"] = ",".join(upload_services.CHECKSUM_ALGORITHMS)
        return response

    @extend_schema(
        request=None,
        parameters=[
            _header("Tus-Resumable", "1.0.0", required=True),
            _header("Upload-Length", "the file's size in bytes", required=True),
            _header("Upload-Metadata", "tus metadata: filename, project, song, kind, ..."),
        ],
        responses={
            201: OpenApiResponse(description="created; Location names the upload"),
            **_errors(400, 403, 404, 412, 413, 429),
        },
    )
    def create(self, request: Request) -> Response:
        if "Upload-Defer-Length" in request.headers:
            raise Invalid("Upload-Defer-Length is not supported; send Upload-Length")
        length = _int_header(request, "Upload-Length")
        metadata = upload_services.parse_metadata(request.headers.get("Upload-Metadata", ""))
        upload = upload_services.upload_create(actor=request.user, length=length, metadata=metadata)
        response = Response(status=201)
        response["Location"] = request.build_absolute_uri(f"/api/uploads/{upload.pk}/")
        return self._state_headers(response, upload)

    def status(self, request: Request, upload_id: str) -> Response:
        """tus HEAD: the offset (and, once complete, the asset and job ids)."""
        upload = upload_services.upload_get_for_user(actor=request.user, upload_id=upload_id)
        return self._state_headers(Response(status=200), upload)

    @extend_schema(
        request={OFFSET_CONTENT_TYPE: OpenApiTypes.BINARY},
        parameters=[
            _header("Tus-Resumable", "1.0.0", required=True),
            _header("Upload-Offset", "where this chunk starts", required=True),
            _header("Upload-Checksum", "e.g. 'sha256 <base64 digest>' of this chunk"),
        ],
        responses={
            204: OpenApiResponse(description="stored; Upload-Offset is the new offset"),
            **_errors(400, 403, 404, 409, 410, 412, 413, 415, 422, 460),
        },
    )
    def partial_update(self, request: Request, upload_id: str) -> Response:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != OFFSET_CONTENT_TYPE:
            raise upload_services.UnsupportedMediaType(
                f"send the chunk as {OFFSET_CONTENT_TYPE}",
                fields={"Content-Type": [OFFSET_CONTENT_TYPE]},
            )
        offset = _int_header(request, "Upload-Offset")
        content_length = whole_number(request.META.get("CONTENT_LENGTH") or "")
        if content_length is None:
            raise Invalid("Content-Length is required", fields={"Content-Length": ["required"]})
        checksum = upload_services.parse_checksum(request.headers.get("Upload-Checksum", ""))
        django_request = request._request
        upload = upload_services.upload_write(
            actor=request.user,
            upload_id=upload_id,
            offset=offset,
            content_length=content_length,
            read=django_request.read,
            checksum=checksum,
        )
        return self._state_headers(Response(status=204), upload)

    @extend_schema(
        request=None,
        parameters=[_header("Tus-Resumable", "1.0.0", required=True)],
        responses={204: None, **_errors(403, 404, 409, 410, 412)},
    )
    def destroy(self, request: Request, upload_id: str) -> Response:
        upload_services.upload_terminate(actor=request.user, upload_id=upload_id)
        return Response(status=204)

    @extend_schema(
        request=None,
        responses={200: UploadHeldSerializer, **_errors(403, 404, 409, 410)},
    )
    def duplicate(self, request: Request, upload_id: str) -> Response:
        """What a held upload is identical to: `identical_to` {type, id, name} and `detail`,
        the sentence the page shows ("b.wav is identical to Mix 1"). 409 when not held."""
        upload = upload_services.upload_get_for_user(actor=request.user, upload_id=upload_id)
        identical = upload_services.upload_identical_to(upload)
        if identical is None:
            raise Conflict("this upload is not waiting for a decision", code="upload_not_held")
        return Response(_held_body(upload, identical))

    @extend_schema(
        request=None,
        responses={200: UploadDoneSerializer, **_errors(403, 404, 409, 410)},
    )
    def confirm(self, request: Request, upload_id: str) -> Response:
        """Attach a held upload as its metadata asked although the song has the same bytes:
        a new mix version (or stem, or take), with its event. 409 when not held."""
        upload = upload_services.upload_confirm(actor=request.user, upload_id=upload_id)
        return Response(_done_body(upload))

    @extend_schema(request=None, responses={204: None, **_errors(403, 404, 409, 410)})
    def cancel(self, request: Request, upload_id: str) -> Response:
        """Drop a held upload: nothing is added to the song. 409 when not held."""
        upload_services.upload_cancel(actor=request.user, upload_id=upload_id)
        return Response(status=204)


def _held_body(upload: Upload, identical: dict[str, Any]) -> dict[str, Any]:
    meta = upload.metadata or {}
    return {
        "id": str(upload.pk),
        "state": upload.state,
        "filename": meta.get("filename", ""),
        "kind": meta.get("kind", ""),
        "asset": upload.asset_id,
        "identical_to": {k: identical[k] for k in ("type", "id", "name")},
        "detail": identical["detail"],
    }


def _done_body(upload: Upload) -> dict[str, Any]:
    return {
        "id": str(upload.pk),
        "state": upload.state,
        "asset": upload.asset_id,
        "job": upload.job_id,
        "attached": upload.attached,
    }
