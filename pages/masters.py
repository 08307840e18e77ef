"""The song's "Master" tab: its masters, its reference tracks, the form that asks for a new
master, and for a chosen master its before/after figures, spectra, EQ curve, gain reduction,
platform and lossy-encode tables, with its review; and the player for a master.

Writes go through the API (static/js/master.js posts `/api/masters/` and `/api/references/`,
uploads use the upload flow) or through sessions.services (verdicts, here). The page draws its
charts on the server as inline SVG from the master's report, which the engine wrote once: the
page never recomputes a figure, and every key of the report may be missing (an older report, a
failed lossy check), in which case the chart or row says so instead.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from audio.engine.mastering.presets import PRESETS
from audio.models import Job, JobKind, JobState, Master, Mix, ReferenceTrack
from pages.audio import asset_facts, player_response
from pages.kit import (
    clock,
    form_error,
    int_or_none,
    is_htmx,
    member_project,
    page,
    page_context,
)
from sessions import services
from sessions.models import Approval
from studio.errors import Invalid, NotFound
from studio.roles import Capability as C
from studio.selectors import song_get_for_member

PRESET_LABELS = {
    "spotify": "Spotify",
    "apple": "Apple Music",
    "youtube": "YouTube",
    "amazon": "Amazon Music",
    "tidal": "TIDAL",
    "deezer": "Deezer",
    "cd": "CD (no normalisation)",
}
BIT_DEPTHS = (("24", "24-bit"), ("16", "16-bit (dithered)"))
# The form's stage controls when there is no earlier master: a gentle glue compressor on, the
# rest off (the reference match brings its own EQ and width).
STAGE_DEFAULTS: dict[str, Any] = {
    "eq_on": False,
    "low_db": 0.0,
    "high_db": 0.0,
    "compressor_on": True,
    "threshold_db": -18.0,
    "ratio": 2.0,
    "saturation_on": False,
    "drive_db": 3.0,
    "width_on": False,
    "width": 100.0,
}
DEFAULTS: dict[str, Any] = {
    "preset": "spotify",
    "target_lufs": None,
    "ceiling_dbtp": None,
    "intensity": 100,
    "references": [],
    "bit_depth": "24",
}
LOW_SHELF_HZ, HIGH_SHELF_HZ = 100.0, 10000.0  # the form's two shelves
# The figures compared before and after: (label, report keys in order of preference, unit).
FIGURES = (
    ("Integrated", ("integrated_lufs",), "LUFS"),
    ("Loudness range", ("loudness_range_lu", "lra"), "LU"),
    ("True peak", ("true_peak_accurate_dbtp", "true_peak_dbtp"), "dBTP"),
    ("True peak (BS.1770 4x)", ("true_peak_dbtp",), "dBTP"),
    ("Sample peak", ("sample_peak_dbfs",), "dBFS"),
    ("Crest factor", ("crest_factor_db", "crest_db", "crest"), "dB"),
)
_HEAVY = ("asset__peaks_index",)

# Chart geometry (SVG user units; the SVG scales to its box).
W, H = 600.0, 220.0
PAD_L, PAD_R, PAD_T, PAD_B = 40.0, 10.0, 10.0, 24.0
F_LO, F_HI = 20.0, 20000.0


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _first(report: dict[str, Any] | None, keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = _num((report or {}).get(key))
        if value is not None:
            return value
    return None


def _x_freq(hz: float) -> float:
    span = math.log10(F_HI) - math.log10(F_LO)
    frac = (math.log10(max(F_LO, min(F_HI, hz))) - math.log10(F_LO)) / span
    return round(PAD_L + frac * (W - PAD_L - PAD_R), 1)


def _y(db: float, lo: float, hi: float) -> float:
    frac = (db - lo) / (hi - lo) if hi > lo else 0.5
    return round(PAD_T + (1 - max(0.0, min(1.0, frac))) * (H - PAD_T - PAD_B), 1)


def _freq_ticks() -> list[dict[str, Any]]:
    out = []
    for hz, label in ((31.5, "31"), (125, "125"), (500, "500"), (2000, "2k"), (8000, "8k")):
        out.append({"x": _x_freq(hz), "label": label})
    out += [{"x": _x_freq(20000), "label": "20k"}]
    return out


def _db_ticks(lo: float, hi: float, step: float) -> list[dict[str, Any]]:
    ticks = []
    value = math.ceil(lo / step) * step
    while value <= hi + 1e-9:
        label = f"{round(value, 1):+g}" if abs(value) > 1e-9 else "0"
        ticks.append({"y": _y(value, lo, hi), "label": label})
        value += step
    return ticks


def spectrum_bands(spectrum: Any) -> list[tuple[float, float]]:
    """(centre Hz, dB) pairs of an analyze `spectrum` ({centres_hz, levels_db}), skipping the
    bands that measured nothing."""
    if not isinstance(spectrum, dict):
        return []
    centres = spectrum.get("centres_hz") or []
    levels = spectrum.get("levels_db") or []
    pairs = []
    for hz, db in zip(centres, levels, strict=False):
        f, d = _num(hz), _num(db)
        if f is not None and d is not None and f > 0:
            pairs.append((f, d))
    return pairs


def _relative(pairs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Levels relative to the curve's total power: the tonal balance, whatever its loudness, so
    a quiet mix and a loud reference can be compared band by band."""
    total = sum(10 ** (d / 10) for _, d in pairs)
    if total <= 0:
        return pairs
    ref = 10 * math.log10(total)
    return [(f, d - ref) for f, d in pairs]


def spectra_chart(series: list[tuple[str, str, Any]]) -> dict[str, Any] | None:
    """The 1/3-octave spectra drawn together: series of (key, label, spectrum). Each curve is
    relative to its own total level (the tonal balance) on a log frequency axis."""
    curves = []
    for key, label, spectrum in series:
        pairs = _relative(spectrum_bands(spectrum))
        if len(pairs) >= 2:
            curves.append((key, label, pairs))
    if not curves:
        return None
    hi = 0.0
    lo = -48.0
    lines = []
    for key, label, pairs in curves:
        points = " ".join(f"{_x_freq(f)},{_y(d, lo, hi)}" for f, d in pairs)
        loudest = max(pairs, key=lambda p: p[1])
        lines.append(
            {
                "key": key,
                "label": label,
                "points": points,
                "bands": len(pairs),
                "peak_hz": loudest[0],
                "table": [{"hz": f, "db": round(d, 1)} for f, d in pairs],
            }
        )
    return {
        "lines": lines,
        "freq_ticks": _freq_ticks(),
        "db_ticks": _db_ticks(lo, hi, 12),
        "bands": [f for f, _ in curves[0][2]],
    }


def eq_chart(curve: Any) -> dict[str, Any] | None:
    """The EQ the chain applied ([[hz, db], ...]): a line around 0 dB, at least +/- 6 dB."""
    pairs = []
    for row in curve or []:
        if isinstance(row, list | tuple) and len(row) == 2:
            f, d = _num(row[0]), _num(row[1])
            if f is not None and d is not None and f > 0:
                pairs.append((f, d))
    if len(pairs) < 2:
        return None
    span = max(6.0, math.ceil(max(abs(d) for _, d in pairs) / 3) * 3)
    points = " ".join(f"{_x_freq(f)},{_y(d, -span, span)}" for f, d in pairs)
    biggest = max(pairs, key=lambda p: abs(p[1]))
    return {
        "points": points,
        "zero": _y(0.0, -span, span),
        "freq_ticks": _freq_ticks(),
        "db_ticks": _db_ticks(-span, span, span / 2),
        "max_hz": biggest[0],
        "max_db": round(biggest[1], 1),
        "flat": all(abs(d) < 0.05 for _, d in pairs),
        "table": [{"hz": f, "db": round(d, 2)} for f, d in pairs],
    }


def gain_reduction_chart(gr: Any, fallback_max: float | None) -> dict[str, Any] | None:
    """The limiter's gain reduction over time ({interval_s, db: [...]}): an area hanging from
    0 dB, its depth scaled to the largest reduction (at least 1 dB)."""
    if not isinstance(gr, dict):
        return None
    step = _num(gr.get("interval_s"))
    values = [max(0.0, abs(v)) for v in (_num(x) for x in gr.get("db") or []) if v is not None]
    if not step or step <= 0 or len(values) < 2:
        return None
    deepest = max(values)
    depth = max(1.0, math.ceil(deepest))
    length = step * (len(values) - 1)
    x0, x1 = PAD_L, W - PAD_R

    def x_at(i: int) -> float:
        return round(x0 + (i * step / length) * (x1 - x0), 1)

    top = PAD_T
    pts = [f"{x_at(i)},{_y(-v, -depth, 0.0)}" for i, v in enumerate(values)]
    area = f"{x0},{top} " + " ".join(pts) + f" {x1},{top}"
    ticks = []
    n = 4
    for k in range(n + 1):
        t = length * k / n
        ticks.append({"x": round(x0 + (x1 - x0) * k / n, 1), "label": clock(t)})
    over = sum(1 for v in values if v >= 0.1)
    return {
        "area": area,
        "line": " ".join(pts),
        "depth": depth,
        "db_ticks": _db_ticks(-depth, 0.0, depth / 2),
        "time_ticks": ticks,
        "max_db": round(fallback_max if fallback_max is not None else deepest, 2),
        "limiting_share": round(100 * over / len(values)),
        "duration": clock(length),
    }


def figures_table(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[dict[str, Any]]:
    rows = []
    for label, keys, unit in FIGURES:
        a, b = _first(before, keys), _first(after, keys)
        rows.append(
            {
                "label": label,
                "unit": unit,
                "before": a,
                "after": b,
                "change": round(b - a, 1) if a is not None and b is not None else None,
            }
        )
    return rows


def platforms_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per service: its reference, its ceiling, what it does to the master's level, and the
    loudness and peak the listener gets."""
    out = report.get("output") or {}
    lufs = _num(out.get("integrated_lufs"))
    peak = _first(out, ("true_peak_accurate_dbtp", "true_peak_dbtp"))
    rows = []
    for name, row in (report.get("platforms") or {}).items():
        if not isinstance(row, dict):
            continue
        gain = _num(row.get("playback_gain_db"))
        ceiling = _num(row.get("tp"))
        rows.append(
            {
                "name": name,
                "label": PRESET_LABELS.get(name, name.title()),
                "lufs": _num(row.get("lufs")),
                "ceiling": ceiling,
                "gain": gain,
                "heard_lufs": round(lufs + gain, 1)
                if lufs is not None and gain is not None
                else None,
                "over_ceiling": peak is not None and ceiling is not None and peak > ceiling,
                "source": row.get("source") or "",
            }
        )
    return rows


def lossy_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    labels = {"mp3_320": "MP3 320 kbit/s (LAME)", "aac": "AAC 256 kbit/s", "aac_256": "AAC"}
    rows = []
    for codec, row in (report.get("lossy") or {}).items():
        if not isinstance(row, dict):
            continue
        clipped = row.get("clipped_samples")
        between = row.get("intersample_clipped")
        # Not run: `skipped` (the rate), or `available: false` with the reason (no encoder).
        skipped = row.get("skipped") or (
            (row.get("reason") or "no encoder here") if row.get("available") is False else ""
        )
        rows.append(
            {
                "codec": codec,
                "label": labels.get(codec, codec.upper()),
                "skipped": skipped,
                "sample_peak": _num(row.get("sample_peak_dbfs")),
                "true_peak": _num(row.get("true_peak_dbtp")),
                "clipped": clipped if isinstance(clipped, int) else None,
                "intersample": between if isinstance(between, int) else None,
                "clean": clipped == 0 and between == 0,
                "measured": isinstance(clipped, int) and isinstance(between, int),
            }
        )
    return rows


def _report_spectra(master: Master, refs: list[ReferenceTrack]) -> list[tuple[str, str, Any]]:
    report = master.report or {}
    spectra = report.get("spectra") or {}
    mix_spec = spectra.get("input") or (report.get("input") or {}).get("spectrum")
    out_spec = spectra.get("output") or (report.get("output") or {}).get("spectrum")
    if out_spec is None and master.asset is not None:
        out_spec = (master.asset.analysis or {}).get("spectrum")
    series: list[tuple[str, str, Any]] = [
        ("mix", f"Mix {master.mix.number} (before)", mix_spec),
        ("master", f"Master {master.number}", out_spec),
    ]
    ref_spec = spectra.get("reference")
    used = set(_ids((master.settings or {}).get("references")))
    named = [r for r in refs if r.pk in used]
    if ref_spec is not None:
        label = str(named[0]) if len(named) == 1 else f"References (average of {len(used)})"
        series.append(("reference", label, ref_spec))
    else:
        for ref in refs:
            if ref.pk in used and ref.asset is not None:
                series.append(("reference", str(ref), (ref.asset.analysis or {}).get("spectrum")))
                break
    return series


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in (int_or_none(x) for x in value) if v is not None]


def master_detail(master: Master, refs: list[ReferenceTrack]) -> dict[str, Any]:
    """Everything the page shows of one master, from its report (any key may be missing)."""
    report = master.report or {}
    settings = master.settings or {}
    preset = settings.get("preset") or ""
    return {
        "obj": master,
        "ready": master.asset_id is not None and bool(report),
        "preset": PRESET_LABELS.get(preset, preset),
        "target": _num(report.get("target_lufs")) or _num(settings.get("target_lufs")),
        "ceiling": _num(report.get("ceiling_dbtp")) or _num(settings.get("ceiling_dbtp")),
        "target_met": report.get("target_met"),
        "target_reason": report.get("target_reason") or "",
        "gr_max": _num(report.get("gain_reduction_max_db")),
        "figures": figures_table(report.get("input"), report.get("output")),
        "spectra": spectra_chart(_report_spectra(master, refs)),
        "eq": eq_chart(report.get("eq_curve")),
        "gr": gain_reduction_chart(
            report.get("gain_reduction"), _num(report.get("gain_reduction_max_db"))
        ),
        "platforms": platforms_table(report),
        "lossy": lossy_table(report),
        "references": [r for r in refs if r.pk in set(_ids(settings.get("references")))],
        "intensity": _num(settings.get("intensity")),
        "stages": stages_summary(settings.get("stages")),
    }


def stages_summary(stages: Any) -> list[str]:
    """The chain in words: "EQ (2 bands)", "Compression 2:1 from -18 dB", ..."""
    if not isinstance(stages, dict):
        return []
    out = []
    bands = stages.get("eq") or []
    if isinstance(bands, list) and bands:
        out.append(f"EQ ({len(bands)} band{'s' if len(bands) != 1 else ''})")
    comp = stages.get("compressor")
    if isinstance(comp, dict):
        ratio, threshold = _num(comp.get("ratio")), _num(comp.get("threshold_db"))
        words = "Compression"
        if ratio is not None:
            words += f" {ratio:g}:1"
        if threshold is not None:
            words += f" from {threshold:g} dB"
        out.append(words)
    sat = stages.get("saturation")
    if isinstance(sat, dict) and _num(sat.get("drive_db")) is not None:
        out.append(f"Saturation {_num(sat.get('drive_db')):g} dB")
    width = _num(stages.get("width"))
    if width is not None and width != 100:
        out.append(f"Width {width:g} %")
    return out


def stage_values(stages: Any) -> dict[str, Any]:
    """The form's stage controls from a master's stored stages; EQ bands other than the two
    shelves the form edits are kept as they were (`eq_other`, sent back untouched)."""
    values = dict(STAGE_DEFAULTS)
    if not isinstance(stages, dict):
        return values | {"eq_other": []}
    bands = [b for b in stages.get("eq") or [] if isinstance(b, dict)]
    other = []
    for band in bands:
        kind, freq = band.get("kind"), _num(band.get("freq"))
        if kind == "lowshelf" and freq == LOW_SHELF_HZ:
            values["low_db"] = _num(band.get("gain_db")) or 0.0
        elif kind == "highshelf" and freq == HIGH_SHELF_HZ:
            values["high_db"] = _num(band.get("gain_db")) or 0.0
        else:
            other.append(band)
    values["eq_on"] = bool(bands)
    comp = stages.get("compressor")
    values["compressor_on"] = isinstance(comp, dict)
    if isinstance(comp, dict):
        values["threshold_db"] = _num(comp.get("threshold_db")) or STAGE_DEFAULTS["threshold_db"]
        values["ratio"] = _num(comp.get("ratio")) or STAGE_DEFAULTS["ratio"]
    sat = stages.get("saturation")
    values["saturation_on"] = isinstance(sat, dict)
    if isinstance(sat, dict):
        values["drive_db"] = _num(sat.get("drive_db")) or STAGE_DEFAULTS["drive_db"]
    width = _num(stages.get("width"))
    values["width_on"] = width is not None and width != 100
    if width is not None:
        values["width"] = width
    return values | {"eq_other": other}


def _reference_rows(refs: list[ReferenceTrack]) -> list[dict[str, Any]]:
    return [{"obj": r, "a": asset_facts(r.asset)} for r in refs]


def _form_values(last: Master | None, mixes: list[Mix]) -> dict[str, Any]:
    """The form's starting values: the last master's settings ("master again"), else the
    defaults; the mix is the approved one if any, else the last master's, else the newest."""
    values = dict(DEFAULTS)
    settings = (last.settings or {}) if last is not None else {}
    if last is not None:
        values["preset"] = settings.get("preset") or ""
        for key in ("intensity", "bit_depth"):
            if settings.get(key) not in (None, ""):
                values[key] = settings[key]
        if settings.get("target_from") in ("request", None):
            values["target_lufs"] = _num(settings.get("target_lufs"))
        values["ceiling_dbtp"] = _num(settings.get("ceiling_dbtp"))
        values["references"] = _ids(settings.get("references"))
        values["bit_depth"] = str(values["bit_depth"])
    preset = PRESETS.get(values["preset"] or "")
    if preset is not None:  # the fields show what the preset means; sent only when changed
        if values["target_lufs"] is None and preset.lufs is not None:
            values["target_lufs"] = preset.lufs
        if values["ceiling_dbtp"] is None:
            values["ceiling_dbtp"] = preset.ceiling_dbtp
    values["stages"] = stage_values(settings.get("stages") if last is not None else None)
    approved = next((m for m in mixes if m.is_approved), None)
    chosen = approved
    if chosen is None and last is not None:
        chosen = next((m for m in mixes if m.pk == last.mix_id), None)
    if chosen is None and mixes:
        chosen = mixes[0]
    values["mix"] = chosen.pk if chosen else None
    return values


def _references(song: Any) -> list[ReferenceTrack]:
    return list(ReferenceTrack.objects.filter(song=song).select_related("asset").order_by("id"))


def _masters(song: Any) -> QuerySet[Master]:
    return (
        Master.objects.filter(song=song)
        .select_related("mix", "asset", "created_by")
        .defer(*_HEAVY)
        .order_by("-number")
    )


def _running_job(song: Any) -> Job | None:
    return (
        Job.objects.filter(kind=JobKind.MASTER, mix__song=song)
        .filter(state__in=[JobState.QUEUED, JobState.RUNNING])
        .order_by("-id")
        .first()
    )


def master_review_context(request: HttpRequest, master: Master) -> dict[str, Any]:
    state = services.approval_state(master)
    latest: dict[int, Approval] = {}
    for approval in Approval.objects.filter(master=master).select_related("reviewer"):
        latest[approval.reviewer_id] = approval
    mine = latest.get(request.user.pk or 0)
    return {
        "approval": state,
        "verdicts": sorted(latest.values(), key=lambda a: a.reviewer.username),
        "my_verdict": mine.get_verdict_display() if mine else "",
    }


@page
def song_master(request: HttpRequest, song_id: int) -> HttpResponse:
    """The Master tab. ?m=<id> picks the master shown (default: the newest finished one);
    htmx asks for one part (?part=masters|references|detail) when an event says it changed."""
    song = song_get_for_member(user=request.user, song_id=song_id)
    project, role = member_project(request, song.project_id)
    song.project = project
    mixes = list(
        Mix.objects.filter(song=song)
        .exclude(asset=None)
        .select_related("asset")
        .defer(*_HEAVY)
        .order_by("-number")
    )
    masters = list(_masters(song))
    refs = _references(song)
    chosen_id = int_or_none(request.GET.get("m"))
    shown = next((m for m in masters if m.pk == chosen_id), None) or next(
        (m for m in masters if m.asset_id), masters[0] if masters else None
    )
    job = _running_job(song)
    mix_facts = asset_facts(mixes[0].asset) if mixes else None
    approved_mix = next((m for m in mixes if m.is_approved), None)
    if approved_mix is not None:
        mix_facts = asset_facts(approved_mix.asset)
    ctx = page_context(
        project,
        role,
        song=song,
        mixes=mixes,
        masters=masters,
        shown=shown,
        detail=master_detail(shown, refs) if shown is not None else None,
        references=_reference_rows(refs),
        compare_mix=approved_mix or (mixes[0] if mixes else None),
        compare=mix_facts,
        form=_form_values(masters[0] if masters else None, mixes),
        presets=[
            {
                "name": p.name,
                "label": PRESET_LABELS.get(p.name, p.name),
                "lufs": p.lufs,
                "ceiling": p.ceiling_dbtp,
                "source": p.source,
            }
            for p in PRESETS.values()
        ],
        bit_depths=BIT_DEPTHS,
        shelves={"low": LOW_SHELF_HZ, "high": HIGH_SHELF_HZ},
        job=job,
        **(master_review_context(request, shown) if shown is not None else {}),
    )
    part = request.GET.get("part")
    if is_htmx(request) and part in ("masters", "references", "detail"):
        return render(request, f"audio/_master_{part}.html", ctx)
    return render(request, "audio/master.html", ctx)


def _master_for(request: HttpRequest, master_id: int) -> Master:
    try:
        return (
            Master.objects.visible_to(request.user)
            .select_related("song", "mix", "asset")
            .get(pk=master_id)
        )
    except Master.DoesNotExist:
        raise NotFound("master not found") from None


@page
def master_review(request: HttpRequest, master_id: int) -> HttpResponse:
    """A master's verdicts (GET, refetched live) and a new verdict (POST): approve, or request
    changes with a note; the approval rule and the capability are the service's."""
    master = _master_for(request, master_id)
    if request.method == "POST":
        member_project(request, master.project_id, C.MASTER_APPROVE)
        try:
            services.approval_give(
                actor=request.user,
                verdict=request.POST.get("verdict", ""),
                master=master,
                note=request.POST.get("note", ""),
            )
        except Invalid as error:
            return form_error(request, error, "#master-review-error")
        master.refresh_from_db()
    project, role = member_project(request, master.project_id)
    ctx = page_context(project, role, master=master, song=master.song)
    ctx |= master_review_context(request, master)
    return render(request, "audio/_master_review.html", ctx)


@page
def master_player(request: HttpRequest, master_id: int) -> HttpResponse:
    """A master in the player, as a version: A/B against any mix, master or reference."""
    master = _master_for(request, master_id)
    return player_response(request, master, lambda _role: master_review_context(request, master))


urlpatterns = [
    path("songs/<int:song_id>/master/", song_master, name="song-master"),
    path("masters/<int:master_id>/", master_player, name="master-player"),
    path("masters/<int:master_id>/review/", master_review, name="master-review"),
]
