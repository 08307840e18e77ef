"""The song's mixer page ("Mix" tab): channel strips, clip timeline and master of the song's
draft mix spec, edited by engineers and producers and followed live by everyone.

The page is a shell: the spec itself is read and saved by static/js/mixer.js through the mix
API (`GET/PUT /api/mixes/<id>/spec/`, `POST .../render/`, `POST .../preview/`). The server
sends what the script cannot ask for cheaply: the song's sources with their lengths, the
effects allowlist with each parameter's range, the spec's limits and the last render's figures.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from audio.engine.render.effects import EFFECTS
from audio.engine.render.spec import (
    FADE_SHAPES,
    GAIN_MAX_DB,
    GAIN_MIN_DB,
    MAX_BUSES,
    MAX_FX,
    MAX_POINTS,
    MAX_SENDS,
    PITCH_MAX,
    PITCH_MIN,
    STRETCH_MAX,
    STRETCH_MIN,
)
from audio.models import Asset, Job, JobKind, JobState, Mix, MixState, Stem, Take
from pages.kit import clock, member_project, page, page_context
from studio.roles import Capability, role_can
from studio.selectors import song_get_for_member

# An asset's analysis and peaks index are JSON: the mixer needs only its lengths and figures.
_HEAVY = ("asset__peaks_index", "asset__analysis")


def _source(name: str, label: str, asset: Asset | None) -> dict[str, Any] | None:
    if asset is None or not asset.sample_rate or not asset.frames:
        return None
    return {
        "name": name,
        "label": label,
        "asset": asset.pk,
        "frames": int(asset.frames),
        "sample_rate": int(asset.sample_rate),
        "duration_s": float(asset.duration_s or asset.frames / asset.sample_rate),
    }


def mixer_sources(song: Any) -> list[dict[str, Any]]:
    """Everything of the song a clip may play: stems, takes, rendered or uploaded mixes."""
    stems = Stem.objects.filter(song=song).select_related("asset").defer(*_HEAVY).order_by("id")
    takes = (
        Take.objects.filter(song=song)
        .select_related("asset")
        .defer(*_HEAVY)
        .order_by("part", "number")
    )
    mixes = Mix.objects.filter(song=song).exclude(asset=None).select_related("asset").defer(*_HEAVY)
    rows = [_source(f"stem:{s.pk}", s.instrument or f"Stem {s.pk}", s.asset) for s in stems]
    rows += [
        _source(
            f"take:{t.pk}",
            f"{t.part or 'Take'} · take {t.number}{' ★' if t.is_keeper else ''}",
            t.asset,
        )
        for t in takes
    ]
    rows += [_source(f"mix:{m.pk}", f"Mix {m.number}", m.asset) for m in mixes]
    out = [r for r in rows if r is not None]
    drawn = set(
        Asset.objects.filter(pk__in=[r["asset"] for r in out])
        .exclude(peaks_name="")
        .values_list("pk", flat=True)
    )
    for row in out:
        row["peaks"] = row["asset"] in drawn  # the clip draws its waveform once analysed
    return out


def effects_allowlist() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        kind: {
            name: {
                "lo": p.lo,
                "hi": p.hi,
                "default": p.default,
                "unit": p.unit,
                "choices": list(p.choices),
            }
            for name, p in params.items()
        }
        for kind, params in EFFECTS.items()
    }


def last_render(mixes: list[Mix]) -> dict[str, Any] | None:
    """The figures of the newest version with audio: its render report (peak, true peak,
    loudness) or, for an upload, its analysis."""
    for mix in mixes:
        if mix.asset is None:
            continue
        job = (
            Job.objects.filter(mix=mix, kind=JobKind.RENDER, state=JobState.DONE)
            .order_by("-id")
            .first()
        )
        report = dict(((job.result or {}).get("report") or {}) if job else {})
        analysis = mix.asset.analysis or {}
        report.setdefault("integrated_lufs", analysis.get("integrated_lufs"))
        report.setdefault("true_peak_dbtp", analysis.get("true_peak_dbtp"))
        report.setdefault("sample_peak_dbfs", analysis.get("sample_peak_dbfs"))
        return {"mix": mix.pk, "number": mix.number, "rendered": job is not None, **report}
    return None


@page
def song_mixer(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id)
    project, role = member_project(request, song.project_id)
    song.project = project
    mixes = list(
        Mix.objects.filter(song=song)
        .select_related("asset")
        .defer("asset__peaks_index")
        .order_by("-number")
    )
    draft = next((m for m in mixes if m.state == MixState.DRAFT), None)
    with_spec = next((m for m in mixes if m.state != MixState.DRAFT and m.spec is not None), None)
    shown = draft or with_spec
    render_job = (
        Job.objects.filter(mix=draft, kind=JobKind.RENDER)
        .exclude(state__in=[JobState.DONE, JobState.FAILED, JobState.CANCELLED])
        .order_by("-id")
        .first()
        if draft
        else None
    )
    rendered = [m for m in mixes if m.asset_id]
    data = {
        "song": song.pk,
        "mix": shown.pk if shown else None,
        "mix_number": shown.number if shown else None,
        "draft": draft.pk if draft else None,
        "parent_candidate": with_spec.pk if with_spec else None,
        "previous": rendered[0].pk if rendered else None,
        "render_job": render_job.pk if render_job else None,
        "can_edit": role_can(role, Capability.MIX_EDIT),
        "sources": mixer_sources(song),
        "effects": effects_allowlist(),
        "limits": {
            "gain_min_db": GAIN_MIN_DB,
            "gain_max_db": GAIN_MAX_DB,
            "stretch": [STRETCH_MIN, STRETCH_MAX],
            "pitch": [PITCH_MIN, PITCH_MAX],
            "fade_shapes": list(FADE_SHAPES),
            "max_fx": MAX_FX,
            "max_sends": MAX_SENDS,
            "max_buses": MAX_BUSES,
            "max_points": MAX_POINTS,
        },
        "last_render": last_render(rendered),
        "preview_s": 20.0,
    }
    ctx = page_context(
        project,
        role,
        song=song,
        shown=shown,
        draft=draft,
        with_spec=with_spec,
        rendered=rendered,
        mixer=data,
        last=data["last_render"],
        last_duration=clock(rendered[0].asset.duration_s) if rendered and rendered[0].asset else "",
    )
    return render(request, "audio/mixer.html", ctx)


urlpatterns = [
    path("songs/<int:song_id>/mix/", song_mixer, name="song-mixer"),
]
