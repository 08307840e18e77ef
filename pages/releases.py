"""The release pages: a project's releases, and one release's page (its details and cover, the
missing pieces listed where they are fixed, the sequence with gaps, trims and fades, the running
time against the CD's 79:57, "hear the transition", the deliver button with its progress, the
deliverables and the QC report, and the songs moved to "delivered" in one action).

Thin: reads through delivery.selectors, writes through delivery.services; forms post here and
come back to the page (an invalid field shows its sentence beside it, 200). The deliver button,
drag and drop and the transitions are static/js/release.js (the API: /api/releases/{id}/deliver/,
/api/release-tracks/{id}/move/)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from audio.api.serializers import asset_stream_url
from audio.models import Job, Master
from delivery import services
from delivery.models import Delivery, Release, ReleaseTrack
from delivery.selectors import (
    CD_LIMIT_S,
    delivering_job,
    isrcs_for,
    release_get_for_member,
    release_missing,
    release_tracks,
    running_time,
)
from pages.kit import clock, is_htmx, member_project, page, page_context, readable
from studio.errors import Invalid, NotFound
from studio.models import Song, Stage
from studio.roles import Capability as C

PARTS = ("tracks", "missing", "deliveries", "details")
TRACK_NUMBERS = (
    ("pregap_s", "Gap before"),
    ("trim_start_s", "Trim start"),
    ("trim_end_s", "Trim end"),
    ("fade_in_s", "Fade in"),
    ("fade_out_s", "Fade out"),
)
FIELD_LABELS = {
    "title": "Title",
    "artist": "Artist",
    "label": "Label",
    "upc": "UPC/EAN",
    "p_line": "℗ line",
    "c_line": "© line",
    "release_date": "Release date",
    "artwork": "Cover",
    "isrc": "ISRC",
    "master": "Master",
    "song": "Song",
    "position": "Position",
    **dict(TRACK_NUMBERS),
}


def _errors(error: Invalid, prefix: str = "") -> dict[str, str]:
    """{"<prefix><field>": "Label: sentence"} for the template, by field."""
    out = {}
    for field, messages in (error.fields or {}).items():
        text = "; ".join(str(m) for m in ([messages] if isinstance(messages, str) else messages))
        out[f"{prefix}{field}"] = f"{FIELD_LABELS.get(field, field)}: {readable(text)}"
    if not out:
        out[f"{prefix}form"] = readable(error.detail)
    return out


def _mastered_songs(project_id: int) -> list[Song]:
    """Songs with an approved master, in the order of the pipeline."""
    ids = set(
        Master.objects.filter(
            project_id=project_id, is_approved=True, asset__isnull=False
        ).values_list("song_id", flat=True)
    )
    songs = Song.objects.filter(project_id=project_id, deleted_at__isnull=True).order_by("id")
    return [s for s in songs if s.pk in ids]


@page
def release_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    return _list(request, project, role)


def _list(
    request: HttpRequest, project: Any, role: str, errors: dict[str, str] | None = None
) -> HttpResponse:
    releases = Release.objects.filter(project=project).select_related("artwork")
    counts = {
        r: ReleaseTrack.objects.filter(release_id=r).count()
        for r in releases.values_list("pk", flat=True)
    }
    ctx = page_context(
        project,
        role,
        nav="releases",
        releases=[(r, counts.get(r.pk, 0)) for r in releases],
        songs=_mastered_songs(project.pk),
        errors=errors or {},
        posted=request.POST if errors else {},
    )
    return render(request, "delivery/release_list.html", ctx)


@page
@require_POST
def release_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.RELEASE_EDIT)
    data: dict[str, Any] = {k: request.POST.get(k, "") for k in ("title", "artist", "upc")}
    data["songs"] = [s for s in request.POST.getlist("songs") if s]
    try:
        release = services.release_create(actor=request.user, project=project, data=data)
    except Invalid as error:
        return _list(request, project, role, _errors(error))
    return redirect("release-detail", release_id=release.pk)


def _track_rows(release: Release, tracks: list[ReleaseTrack]) -> list[dict[str, Any]]:
    codes = isrcs_for([t.master_id for t in tracks if t.master_id])
    times = {row["track"]: row for row in running_time(release, tracks)["tracks"]}
    masters: dict[int, list[Master]] = {}
    for m in Master.objects.filter(
        song_id__in=[t.song_id for t in tracks], is_approved=True, asset__isnull=False
    ).select_related("asset"):
        masters.setdefault(m.song_id, []).append(m)
    rows = []
    for t in tracks:
        asset = t.master.asset if t.master else None
        duration = asset.duration_s if asset is not None else None
        rows.append(
            {
                "track": t,
                "isrc": codes.get(t.master_id) if t.master_id else "",
                "start": clock(times[t.pk]["start_s"]),
                "length": clock(times[t.pk]["length_s"]),
                "masters": sorted(masters.get(t.song_id, []), key=lambda m: -m.number),
                "url": asset_stream_url(asset.pk) if asset is not None else None,
                "duration": duration,
                "numbers": [(name, label, getattr(t, name)) for name, label in TRACK_NUMBERS],
            }
        )
    return rows


def _transitions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each pair of neighbours that both have audio: where A ends and B starts, and the gap."""
    out = []
    for a, b in itertools.pairwise(rows):
        if not (a["url"] and b["url"] and a["duration"]):
            continue
        ta, tb = a["track"], b["track"]
        out.append(
            {
                "after": ta.pk,
                "a_url": a["url"],
                "a_end": round(a["duration"] - ta.trim_end_s, 3),
                "a_fade": ta.fade_out_s,
                "b_url": b["url"],
                "b_start": tb.trim_start_s,
                "b_fade": tb.fade_in_s,
                "gap": tb.pregap_s,
                "label": f"{ta.position} → {tb.position}",
            }
        )
    return out


def _qc_rows(qc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every check of the report (album, then each track), fails first, then warnings."""
    order = {"fail": 0, "warn": 1, "pass": 2}
    rows = [{"where": "Album", **c} for c in (qc.get("album") or {}).get("checks", [])]
    for t in qc.get("tracks") or []:
        rows += [
            {"where": f"{t.get('number', 0):02d} {t.get('title', '')}", **c} for c in t["checks"]
        ]
    return sorted(rows, key=lambda r: order.get(str(r.get("status")), 3))


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return "—" if value is None else str(value)


def _href(track: int | None, field: str) -> str:
    """Where a missing piece is fixed on the page."""
    if track is not None:
        known = {"isrc", "master", "title", *(n for n, _ in TRACK_NUMBERS)}
        return f"#track-{track}-{field}" if field in known else f"#track-{track}"
    return {"upc": "#rel-upc", "artwork": "#artwork-file", "song": "#add-song"}.get(
        field, "#tracks"
    )


def _release_context(
    request: HttpRequest, release: Release, role: str, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    tracks = release_tracks(release)
    rows = _track_rows(release, tracks)
    errors = errors or {}
    for row in rows:
        prefix = f"track-{row['track'].pk}-"
        row["error"] = " ".join(v for k, v in errors.items() if k.startswith(prefix))
    pieces = release_missing(release, tracks)
    deliveries = list(Delivery.objects.filter(release=release).select_related("job"))
    latest = deliveries[0] if deliveries else None
    qc = [{**r, "shown": _value(r.get("value"))} for r in _qc_rows(latest.qc)] if latest else []
    job_id = delivering_job(release)
    job = Job.objects.filter(pk=job_id).first() if job_id else None
    on_release = {t.song_id for t in tracks}
    timing = running_time(release, tracks)
    return page_context(
        release.project,
        role,
        nav="releases",
        release=release,
        rows=rows,
        transitions=_transitions(rows),
        missing=[{**p.as_dict(), "href": _href(p.track, p.field)} for p in pieces],
        deliverable=not any(p.blocking for p in pieces),
        timing={**timing, "total": clock(timing["total_s"]), "limit": clock(CD_LIMIT_S)},
        deliveries=deliveries,
        latest=latest,
        qc=qc,
        attention=[c for c in qc if c.get("status") in ("fail", "warn")],
        job=job,
        addable=[s for s in _mastered_songs(release.project_id) if s.pk not in on_release]
        + [
            s
            for s in Song.objects.filter(
                project_id=release.project_id, deleted_at__isnull=True
            ).order_by("id")
            if s.pk not in on_release
            and not Master.objects.filter(song=s, is_approved=True).exists()
        ],
        undelivered=[t.song for t in tracks if t.song.stage != Stage.DELIVERED],
        errors=errors,
        add_error=" ".join(v for k, v in errors.items() if k.startswith("add-")),
        moved=request.session.pop(f"release-{release.pk}-moved", None),
    )


@page
def release_detail(request: HttpRequest, release_id: int) -> HttpResponse:
    release = release_get_for_member(user=request.user, release_id=release_id)
    _project, role = member_project(request, release.project_id)
    ctx = _release_context(request, release, role)
    part = request.GET.get("part")
    if is_htmx(request) and part in PARTS:
        return render(request, f"delivery/_release_{part}.html", ctx)
    return render(request, "delivery/release.html", ctx)


def _back(request: HttpRequest, release: Release, anchor: str = "") -> HttpResponse:
    response = redirect("release-detail", release_id=release.pk)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _again(request: HttpRequest, release: Release, errors: dict[str, str]) -> HttpResponse:
    """The page again with the sentences beside their fields (200: a form to fix, not a 4xx)."""
    _project, role = member_project(request, release.project_id)
    return render(
        request, "delivery/release.html", _release_context(request, release, role, errors)
    )


def _release_write(
    request: HttpRequest,
    release: Release,
    write: Callable[[], object],
    *,
    error_prefix: str = "",
    anchor: str = "",
) -> HttpResponse:
    """Runs one form's write: back to its place on the page on success, the page again with
    the sentences beside their fields when one is invalid."""
    try:
        write()
    except Invalid as error:
        return _again(request, release, _errors(error, error_prefix))
    return _back(request, release, anchor)


@page
@require_POST
def release_update(request: HttpRequest, release_id: int) -> HttpResponse:
    release = release_get_for_member(
        user=request.user, release_id=release_id, capability=C.RELEASE_EDIT
    )
    fields = ("title", "artist", "label", "upc", "p_line", "c_line", "release_date")
    data = {k: request.POST.get(k, "") for k in fields if k in request.POST}
    return _release_write(
        request,
        release,
        lambda: services.release_update(actor=request.user, release=release, data=data),
        anchor="details",
    )


@page
@require_POST
def release_artwork(request: HttpRequest, release_id: int) -> HttpResponse:
    release = release_get_for_member(
        user=request.user, release_id=release_id, capability=C.RELEASE_EDIT
    )
    upload = request.FILES.get("artwork")

    def write() -> None:
        if upload is None:
            raise Invalid("choose an image", fields={"artwork": ["choose a JPEG or PNG file"]})
        data = upload.read(services.ARTWORK_MAX_BYTES + 1)
        services.release_artwork_set(
            actor=request.user, release=release, data=data, name=upload.name or "cover"
        )

    return _release_write(request, release, write, anchor="artwork")


@page
@require_POST
def release_track_add(request: HttpRequest, release_id: int) -> HttpResponse:
    release = release_get_for_member(
        user=request.user, release_id=release_id, capability=C.RELEASE_EDIT
    )
    song = (
        Song.objects.filter(
            project_id=release.project_id, pk=request.POST.get("song") or 0, deleted_at__isnull=True
        ).first()
        if (request.POST.get("song") or "").isdigit()
        else None
    )

    def write() -> None:
        if song is None:
            raise Invalid("choose a song", fields={"song": ["choose a song of this project"]})
        services.track_add(actor=request.user, release=release, song=song)

    return _release_write(request, release, write, error_prefix="add-", anchor="tracks")


def _track_for(request: HttpRequest, track_id: int) -> ReleaseTrack:
    track = (
        ReleaseTrack.objects.visible_to(request.user)
        .select_related("release__project")
        .filter(pk=track_id)
        .first()
    )
    if track is None:
        raise NotFound("track not found")
    return track


@page
@require_POST
def release_track_update(request: HttpRequest, track_id: int) -> HttpResponse:
    track = _track_for(request, track_id)
    names = ("title", "artist", "master", "isrc", *(n for n, _ in TRACK_NUMBERS))
    data = {k: request.POST[k] for k in names if k in request.POST}
    if data.get("isrc") == "":
        data.pop("isrc")
    return _release_write(
        request,
        track.release,
        lambda: services.track_update(actor=request.user, track=track, data=data),
        error_prefix=f"track-{track.pk}-",
        anchor=f"track-{track.pk}",
    )


@page
@require_POST
def release_track_move(request: HttpRequest, track_id: int) -> HttpResponse:
    track = _track_for(request, track_id)
    position = request.POST.get("position", "")
    return _release_write(
        request,
        track.release,
        lambda: services.track_move(actor=request.user, track=track, position=position),
        error_prefix=f"track-{track.pk}-",
        anchor=f"track-{track.pk}",
    )


@page
@require_POST
def release_track_remove(request: HttpRequest, track_id: int) -> HttpResponse:
    track = _track_for(request, track_id)
    services.track_remove(actor=request.user, track=track)
    return _back(request, track.release, "tracks")


@page
@require_POST
def release_songs_deliver(request: HttpRequest, release_id: int) -> HttpResponse:
    release = release_get_for_member(
        user=request.user, release_id=release_id, capability=C.SONG_MOVE
    )
    out = services.release_songs_deliver(actor=request.user, release=release)
    request.session[f"release-{release.pk}-moved"] = out
    return _back(request, release, "songs")


urlpatterns = [
    path("p/<int:project_id>/releases/", release_list, name="release-list"),
    path("p/<int:project_id>/releases/new/", release_create, name="release-create"),
    path("releases/<int:release_id>/", release_detail, name="release-detail"),
    path("releases/<int:release_id>/edit/", release_update, name="release-update"),
    path("releases/<int:release_id>/artwork/", release_artwork, name="release-artwork"),
    path("releases/<int:release_id>/tracks/", release_track_add, name="release-track-add"),
    path("release-tracks/<int:track_id>/", release_track_update, name="release-track-update"),
    path("release-tracks/<int:track_id>/move/", release_track_move, name="release-track-move"),
    path(
        "release-tracks/<int:track_id>/remove/", release_track_remove, name="release-track-remove"
    ),
    path(
        "releases/<int:release_id>/deliver-songs/",
        release_songs_deliver,
        name="release-songs-deliver",
    ),
]
