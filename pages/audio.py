"""Pages of the audio room: the song's audio panel (stems, takes, mixes
with their analysis) and the player. Reads are member-scoped; audio bytes and peaks come from
the audio API (/api/assets/<id>/file/ with Range, /api/assets/<id>/peaks/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from audio.models import Asset, Job, JobState, Master, Mix, ReferenceTrack, Stem, Take
from audio.peaks import peaks_level
from audio.services import assets as asset_services
from pages.kit import clock, is_htmx, member_project, page, page_context
from pages.review import comments_context, review_context
from studio.errors import Invalid, NotFound
from studio.roles import Capability as C
from studio.selectors import song_get_for_member

PLOT_LOW, PLOT_HIGH = -40.0, 0.0  # dB range of the small loudness plot


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _bar(value: float | None) -> float:
    if value is None:
        return 0.0
    span = PLOT_HIGH - PLOT_LOW
    return round(max(0.0, min(1.0, (value - PLOT_LOW) / span)) * 100, 1)


def asset_facts(asset: Asset | None) -> dict[str, Any]:
    """What the page shows of an asset: format, duration and the loudness figures, with the
    bars of the small loudness plot (integrated, short-term max, momentary max, true peak)."""
    if asset is None:
        return {"ready": False}
    report = asset.analysis or {}
    integrated = _num(report.get("integrated_lufs"))
    true_peak = _num(report.get("true_peak_dbtp"))
    figures = [
        ("Integrated", integrated, "LUFS"),
        ("Short-term max", _num(report.get("short_term_max_lufs")), "LUFS"),
        ("Momentary max", _num(report.get("momentary_max_lufs")), "LUFS"),
        ("True peak", true_peak, "dBTP"),
    ]
    return {
        "ready": asset.analysis is not None,
        "format": (asset.format or "").upper(),
        "sample_rate": asset.sample_rate,
        "bit_depth": asset.bit_depth,
        "channels": asset.channels,
        "duration": clock(asset.duration_s),
        "duration_s": asset.duration_s,
        "integrated": integrated,
        "true_peak": true_peak,
        "over": _over_full_scale(asset, true_peak, report),
        "lra": _num(report.get("loudness_range_lu")),
        "plot": [
            {"label": label, "value": value, "unit": unit, "width": _bar(value), "y": i * 9}
            for i, (label, value, unit) in enumerate(figures)
        ],
        "mini_wave": mini_wave(asset),
    }


def _over_full_scale(asset: Asset, true_peak: float | None, report: dict[str, Any]) -> str:
    """What an engineer must know about peaks over full scale, or "": a float file keeps them
    (a 16- or 24-bit copy, or a player, will clip them); a fixed-point one has clipped."""
    clipped = report.get("clipped_samples")
    floating = (asset.bit_depth or 0) >= 32 and (asset.format or "").lower() in ("wav", "aiff")
    if not floating and isinstance(clipped, int) and clipped > 0:
        return f"{clipped:,} samples at full scale"
    if true_peak is not None and true_peak > 0.0:
        return f"peaks {true_peak:+.1f} dBTP over full scale"
    return ""


def mini_wave(asset: Asset, bars: int = 120) -> list[dict[str, float]]:
    """A tiny server-drawn waveform (SVG bars) from the coarsest peaks level."""
    level = peaks_level(asset, 0)  # one small read of the stored peaks file
    if level is None:
        return []
    data = (level.get("data") or [[]])[0]
    pairs = len(data) // 2
    if not pairs:
        return []
    step = max(1, pairs // bars)
    out: list[dict[str, float]] = []
    for i in range(0, pairs - step + 1, step):
        chunk = data[2 * i : 2 * (i + step)]
        top = max(abs(v) for v in chunk) if chunk else 0.0
        out.append({"x": len(out) * 2, "h": round(max(0.5, top * 20), 2)})
    return out


# More of a song's stored files, listed by apps above pages (which pages may not import):
# reviewlinks adds its marked copies. Each source answers rows {"name", "detail", "state",
# "asset_id"} for what that user may see of the song.
SongFiles = Callable[[Any, Any], list[dict[str, Any]]]
_song_file_sources: list[SongFiles] = []


def register_song_files(source: SongFiles) -> None:
    """List more of a song's files on its Audio panel (called from an app's ready())."""
    if source not in _song_file_sources:
        _song_file_sources.append(source)


def _song_audio_context(song: Any) -> dict[str, Any]:
    stems = Stem.objects.filter(song=song).select_related("asset").order_by("id")
    takes = Take.objects.filter(song=song).select_related("asset").order_by("part", "number")
    mixes = Mix.objects.filter(song=song).select_related("asset").order_by("-number")
    asset_ids = [x.asset_id for x in [*stems, *takes, *mixes] if x.asset_id]
    running = {
        j.asset_id: j
        for j in Job.objects.filter(
            asset_id__in=asset_ids, state__in=[JobState.QUEUED, JobState.RUNNING]
        )
    }
    return {
        "stems": [
            {
                "obj": s,
                "a": asset_facts(s.asset),
                "job": running.get(s.asset_id),
                "key": f"stem:{s.pk}",
                "label": s.instrument or f"Stem {s.pk}",
            }
            for s in stems
        ],
        "takes": [
            {
                "obj": t,
                "a": asset_facts(t.asset),
                "job": running.get(t.asset_id),
                "key": f"take:{t.pk}",
                "label": f"{t.part} · take {t.number}",
            }
            for t in takes
        ],
        "mixes": [
            {"obj": m, "a": asset_facts(m.asset), "job": running.get(m.asset_id)} for m in mixes
        ],
    }


@page
def song_audio(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id)
    project, role = member_project(request, song.project_id)
    ctx = page_context(project, role, song=song) | _song_audio_context(song)
    ctx["more_files"] = [row for source in _song_file_sources for row in source(song, request.user)]
    return render(request, "audio/_song_audio.html", ctx)


@page
def asset_preview(request: HttpRequest, asset_id: int) -> HttpResponse:
    """The upload row's result: the mini waveform and figures once the analysis is in."""
    try:
        asset = Asset.objects.visible_to(request.user).get(pk=asset_id)
    except Asset.DoesNotExist:
        raise NotFound("asset not found") from None
    project, role = member_project(request, asset.project_id)
    mix = Mix.objects.filter(asset=asset).order_by("-id").first()
    return render(
        request,
        "audio/_asset_preview.html",
        page_context(project, role, asset=asset, a=asset_facts(asset), mix=mix),
    )


def version_options(song: Any, *, exclude: str) -> list[dict[str, Any]]:
    """Every version of the song the player can put on B, grouped: mix versions, masters and
    reference tracks, each with its asset and loudness (the loudness match needs it)."""
    groups: list[dict[str, Any]] = []
    light = ("asset__peaks_index",)  # the B side needs the loudness, not the waveform
    mixes = (
        Mix.objects.filter(song=song).exclude(asset=None).select_related("asset").defer(*light)
    ).order_by("-number")
    masters = (
        Master.objects.filter(song=song).exclude(asset=None).select_related("asset").defer(*light)
    ).order_by("-number")
    refs = ReferenceTrack.objects.filter(song=song).select_related("asset").defer(*light)
    rows_by_group: list[tuple[str, list[tuple[str, str, Asset | None, bool]]]] = [
        (
            "Mix versions",
            [(f"mix:{m.pk}", f"Mix {m.number}", m.asset, m.is_approved) for m in mixes],
        ),
        (
            "Masters",
            [(f"master:{m.pk}", f"Master {m.number}", m.asset, m.is_approved) for m in masters],
        ),
        ("Reference tracks", [(f"ref:{r.pk}", f"Ref · {r}", r.asset, False) for r in refs]),
    ]
    for label, rows in rows_by_group:
        options = []
        for key, name, asset, approved in rows:
            if key == exclude or asset is None:
                continue
            options.append(
                {
                    "key": key,
                    "kind": key.split(":")[0],
                    "label": name,
                    "asset": asset.pk,
                    "lufs": _num((asset.analysis or {}).get("integrated_lufs")),
                    "ready": asset.analysis is not None,
                    "duration_s": asset.duration_s or 0.0,
                    "approved": approved,
                }
            )
        if options:
            groups.append({"label": label, "options": options})
    return groups


def pick_b(groups: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    """The B version: the one asked for (?b=master:3, or a bare mix id as before), else the
    first of the list."""
    flat = [o for g in groups for o in g["options"]]
    if wanted and wanted.isdigit():
        wanted = f"mix:{wanted}"
    return next((o for o in flat if o["key"] == wanted), flat[0] if flat else None)


def player_response(
    request: HttpRequest,
    version: Mix | Master,
    review: Callable[[str], dict[str, Any]],
) -> HttpResponse:
    """The player page of a version (a mix or a master: A/B against any other version or a
    reference track), or its figures fragment, refetched when its analysis finishes.
    `review(role)` gives the version's own review parts (comments, verdicts)."""
    kind = "mix" if isinstance(version, Mix) else "master"
    project, role = member_project(request, version.project_id)
    if is_htmx(request) and request.GET.get("part") == "figures":
        ctx = page_context(project, role, **{kind: version}, a=asset_facts(version.asset))
        return render(request, "audio/_player_figures.html", ctx)
    key = f"{kind}:{version.pk}"
    groups = version_options(version.song, exclude=key)
    ctx = page_context(
        project,
        role,
        mix=version if kind == "mix" else None,
        master=version if kind == "master" else None,
        version=version,
        version_key=key,
        version_label=f"{kind.capitalize()} {version.number}",
        song=version.song,
        a=asset_facts(version.asset),
        b_groups=groups,
        b=pick_b(groups, request.GET.get("b")),
        **review(role),
    )
    return render(request, "audio/player.html", ctx)


@page
def mix_player(request: HttpRequest, mix_id: int) -> HttpResponse:
    try:
        mix = Mix.objects.visible_to(request.user).select_related("song", "asset").get(pk=mix_id)
    except Mix.DoesNotExist:
        raise NotFound("mix not found") from None
    return player_response(
        request,
        mix,
        lambda role: comments_context(request, mix) | review_context(request, mix, role),
    )


@page
@require_http_methods(["GET", "POST"])
def project_downloads(request: HttpRequest, project_id: int) -> HttpResponse:
    """The producers' setting of whether viewers may download the project's files (the members
    page's "Downloads" card): GET the card, POST `viewers_may_download` = on | off."""
    project, role = member_project(request, project_id, C.PROJECT_EDIT)
    if request.method == "POST":
        value = request.POST.get("viewers_may_download", "")
        if value not in ("on", "off"):
            raise Invalid(
                "Viewers' downloads: choose whether viewers may download files or only play them",
                fields={"viewers_may_download": ["on or off"]},
            )
        project = asset_services.project_set_viewers_may_download(
            actor=request.user, project=project, allowed=value == "on"
        )
        if not is_htmx(request):
            return redirect("project-members", project.pk)
    return render(request, "audio/_download_setting.html", page_context(project, role))


urlpatterns = [
    path("p/<int:project_id>/downloads/", project_downloads, name="project-downloads"),
    path("songs/<int:song_id>/audio/", song_audio, name="song-audio"),
    path("assets/<int:asset_id>/preview/", asset_preview, name="asset-preview"),
    path("mixes/<int:mix_id>/", mix_player, name="mix-player"),
]
