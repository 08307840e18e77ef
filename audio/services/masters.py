"""Masters and reference tracks: the checks of a master request, the `master` job's start, and
the reference songs a song is mastered towards.

A master request names a version of the song with audio (uploaded, or rendered) and settings:
a platform preset and/or an explicit target and ceiling, reference tracks of the same song (with
relative weights), the matching intensity and its tone and width shares, the chain's stages (EQ
bands and their phase, a three-band and a single-band compressor, saturation, width) and the bit
depth. Every field is checked here, once,
before a job exists, and every problem is answered together as a 400 whose `fields` name it by
its path (`stages.eq[1].freq`, `references[0]`); the engine's own check (MasterInvalid) runs on
the result as a backstop. The cleaned request is the job's one parameter (`settings`) and, once
the job has run, the Master's `settings`.

Where the target comes from: an explicit `target_lufs`; else the preset's loudness; else, with
references, the references' loudness (the engine measures it); else -14 LUFS. The ceiling is the
explicit one, else the preset's, else -1 dBTP. Widths are percent (0 mono, 100 unchanged, 200).

A reference track is an audio Asset of the project attached to one song; it is private to the
project like any asset and is never a source of a mix (a spec's sources are stems, takes and
mixes only).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from django.db import transaction

from audio.engine.mastering.master import MasterInvalid, MasterSettings
from audio.engine.mastering.presets import PRESETS
from audio.engine.mastering.stages import EQ_TYPES, PHASES, Chain, Compressor, EqBand, Multiband
from audio.models import Asset, Job, JobKind, Mix, ReferenceTrack
from audio.payloads import reference_payload
from audio.services import jobs
from audio.services.assets import require_audio
from eventlog.services import event_record, project_lock
from studio.errors import Conflict, Invalid
from studio.models import Song
from studio.roles import Capability
from studio.selectors import require_capability

DEFAULT_TARGET_LUFS = -14.0
DEFAULT_CEILING_DBTP = -1.0
TARGET_RANGE = (-30.0, -5.0)
CEILING_RANGE = (-9.0, 0.0)
INTENSITY_RANGE = (0.0, 100.0)
WIDTH_RANGE = (0.0, 200.0)  # percent
BIT_DEPTHS = ("24", "16")
MAX_REFERENCES = 4
MAX_EQ_BANDS = 12
SETTINGS_MAX_JSON = 20000
# The request's fields of an EQ band: name -> (engine field, low, high, default).
EQ_FIELDS: dict[str, tuple[str, float, float, float | None]] = {
    "freq": ("freq_hz", 20.0, 20000.0, None),
    "gain_db": ("gain_db", -12.0, 12.0, 0.0),
    "q": ("q", 0.1, 10.0, 0.707),
}
# The compressor's fields and their ranges; the defaults are the engine's dataclass's.
COMPRESSOR_RANGES: dict[str, tuple[float, float]] = {
    "threshold_db": (-60.0, 0.0),
    "ratio": (1.0, 20.0),
    "attack_ms": (0.1, 200.0),
    "release_db_per_s": (1.0, 200.0),
    "knee_db": (0.0, 24.0),
    "makeup_db": (-12.0, 24.0),
}
SATURATION_RANGE = (0.0, 24.0)  # drive_db
CROSSOVER_RANGE = (20.0, 20000.0)  # Hz, the upper at least 1.5x the lower
MULTIBAND_BANDS = ("low", "mid", "high")
MATCH_RANGE = (0.0, 100.0)  # percent of the tone / width correction, on top of the intensity
WEIGHT_RANGE = (0.0, 1000.0)
NYQUIST_MARGIN = 0.45  # an EQ band or crossover stays under 0.45 x the mix's sample rate
TOP_FIELDS = (
    "preset",
    "target_lufs",
    "ceiling_dbtp",
    "references",
    "reference_weights",
    "intensity",
    "match_tone",
    "match_width",
    "stages",
    "bit_depth",
)
STAGE_FIELDS = ("eq", "eq_phase", "multiband", "compressor", "saturation", "width")


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# --- reference tracks --------------------------------------------------------------------------


def reference_add(*, actor: Any, song: Song, asset: Asset, title: str = "") -> ReferenceTrack:
    """Attach an uploaded audio asset of the song's project as a reference of the song
    (`reference.added`). 400 for another project's asset or a file that is not audio; 409 when
    the song has that reference already."""
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.MIX_EDIT, song_id=song.pk
    )
    if asset.project_id != song.project_id:
        raise Invalid(
            "the asset belongs to another project",
            code="cross_project",
            fields={"asset": ["not found in this song's project"]},
        )
    require_audio(asset)
    cleaned = " ".join(str(title or "").split())[:200]
    if not cleaned:
        cleaned = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", asset.original_name or "").strip()[:200]
    with transaction.atomic():
        project_lock(song.project_id)
        existing = ReferenceTrack.objects.filter(song=song, asset=asset).first()
        if existing is not None:
            raise Conflict(
                f"'{song.title}' has this file as a reference already",
                code="reference_exists",
                fields={"asset": [f"already reference {existing.pk}"]},
            )
        ref = ReferenceTrack.objects.create(
            project_id=song.project_id,
            song=song,
            asset=asset,
            title=cleaned,
            added_by=_user(actor),
        )
        event_record(
            project=song.project_id,
            type="reference.added",
            payload={"reference": reference_payload(ref)},
            actor=actor,
        )
    return ref


def reference_remove(*, actor: Any, reference: ReferenceTrack) -> None:
    """Detach a reference (`reference.removed`). The asset stays (other rows may use it), and
    masters made with it keep their settings and report as they are."""
    require_capability(
        user=actor,
        project_id=reference.project_id,
        capability=Capability.MIX_EDIT,
        song_id=reference.song_id,
    )
    with transaction.atomic():
        project_lock(reference.project_id)
        payload = reference_payload(reference)
        ReferenceTrack.objects.filter(pk=reference.pk).delete()
        event_record(
            project=payload["project"],
            type="reference.removed",
            payload={"reference": payload},
            actor=actor,
        )


# --- checking a master request ------------------------------------------------------------------


class _Errors:
    """Collects every problem by its path, so one 400 names them all."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)

    def number(
        self, path: str, value: Any, low: float, high: float, *, unit: str = ""
    ) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, "must be a number")
            return None
        if not math.isfinite(value):
            self.add(path, "must be a finite number")
            return None
        if not low <= value <= high:
            self.add(path, f"must be from {low:g} to {high:g}{unit}")
            return None
        return float(value)

    def unknown(self, path: str, given: dict[str, Any], known: tuple[str, ...]) -> None:
        for name in sorted(set(given) - set(known)):
            where = f"{path}.{name}" if path else str(name)
            self.add(where, f"unknown field (use {', '.join(known)})")


def _eq_bands(errors: _Errors, value: Any, nyquist: float) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("stages.eq", "must be a list of bands")
        return []
    if len(value) > MAX_EQ_BANDS:
        errors.add("stages.eq", f"at most {MAX_EQ_BANDS} bands")
        return []
    bands = []
    for i, band in enumerate(value):
        path = f"stages.eq[{i}]"
        if not isinstance(band, dict):
            errors.add(path, "must be an object {kind, freq, gain_db, q}")
            continue
        errors.unknown(path, band, ("kind", *EQ_FIELDS))
        kind = band.get("kind")
        if kind not in EQ_TYPES:
            errors.add(f"{path}.kind", f"choose one of {', '.join(EQ_TYPES)}")
        cleaned: dict[str, Any] = {"kind": kind}
        for name, (_engine, low, high, default) in EQ_FIELDS.items():
            if band.get(name) is None:
                if default is None:
                    errors.add(f"{path}.{name}", "this field is required")
                cleaned[name] = default
                continue
            unit = " Hz" if name == "freq" else " dB" if name == "gain_db" else ""
            cleaned[name] = errors.number(f"{path}.{name}", band[name], low, high, unit=unit)
        if cleaned.get("freq") is not None and cleaned["freq"] >= nyquist:
            errors.add(f"{path}.freq", f"must be under {nyquist:g} Hz for this mix's rate")
        bands.append(cleaned)
    return bands


def _compressor(
    errors: _Errors, value: Any, path: str = "stages.compressor", defaults: Compressor | None = None
) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(path, "must be an object or null")
        return None
    names = tuple(f.name for f in dataclasses.fields(Compressor) if f.name in COMPRESSOR_RANGES)
    errors.unknown(path, value, names)
    base = defaults or Compressor()
    cleaned: dict[str, float] = {}
    for name in names:
        low, high = COMPRESSOR_RANGES[name]
        if value.get(name) is None:
            cleaned[name] = float(getattr(base, name))
            continue
        got = errors.number(f"{path}.{name}", value[name], low, high)
        cleaned[name] = got if got is not None else float(getattr(base, name))
    return cleaned


def _multiband(errors: _Errors, value: Any, nyquist: float) -> dict[str, Any] | None:
    """Three bands split at `low_hz` and `high_hz`, each band's compressor over the engine's
    defaults for that band."""
    if value is None:
        return None
    path = "stages.multiband"
    if not isinstance(value, dict):
        errors.add(path, "must be an object {low_hz, high_hz, low, mid, high} or null")
        return None
    errors.unknown(path, value, ("low_hz", "high_hz", *MULTIBAND_BANDS))
    base = Multiband()
    cleaned: dict[str, Any] = {}
    for name in ("low_hz", "high_hz"):
        given = value.get(name)
        cleaned[name] = (
            float(getattr(base, name))
            if given is None
            else errors.number(f"{path}.{name}", given, *CROSSOVER_RANGE, unit=" Hz")
        )
    low, high = cleaned["low_hz"], cleaned["high_hz"]
    if low is not None and high is not None:
        if high < 1.5 * low:
            errors.add(f"{path}.high_hz", "must be at least 1.5 times low_hz")
        elif high >= nyquist:
            errors.add(f"{path}.high_hz", f"must be under {nyquist:g} Hz for this mix's rate")
    for band in MULTIBAND_BANDS:
        cleaned[band] = _compressor(
            errors, value.get(band) or {}, f"{path}.{band}", getattr(base, band)
        )
    return cleaned


def _saturation(errors: _Errors, value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add("stages.saturation", "must be an object {drive_db} or null")
        return None
    errors.unknown("stages.saturation", value, ("drive_db",))
    if value.get("drive_db") is None:
        errors.add("stages.saturation.drive_db", "this field is required")
        return None
    drive = errors.number("stages.saturation.drive_db", value["drive_db"], *SATURATION_RANGE)
    return {"drive_db": drive} if drive is not None else None


def _references(errors: _Errors, song: Song, value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("references", "must be a list of reference track ids")
        return []
    if len(value) > MAX_REFERENCES:
        errors.add("references", f"at most {MAX_REFERENCES} references")
        return []
    ids: list[int] = []
    for i, ref in enumerate(value):
        if isinstance(ref, bool) or not isinstance(ref, int) or ref < 1:
            errors.add(f"references[{i}]", "must be a reference track id")
        elif ref in ids:
            errors.add(f"references[{i}]", "given twice")
        else:
            ids.append(ref)
    found = set(ReferenceTrack.objects.filter(song=song, pk__in=ids).values_list("pk", flat=True))
    for i, ref in enumerate(value):
        if ref in ids and ref not in found:
            errors.add(f"references[{i}]", f"{ref} is not a reference track of '{song.title}'")
    return ids


def _weights(errors: _Errors, value: Any, references: list[int]) -> list[float]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) != len(references):
        errors.add("reference_weights", "one number per reference, in the same order")
        return []
    weights = [
        errors.number(f"reference_weights[{i}]", w, *WEIGHT_RANGE) for i, w in enumerate(value)
    ]
    if all(w is not None for w in weights) and not sum(w or 0.0 for w in weights) > 0:
        errors.add("reference_weights", "not all 0")
    return [w or 0.0 for w in weights]


_ENGINE_FLAGS = {
    "--target-lufs": "target_lufs",
    "--ceiling-dbtp": "ceiling_dbtp",
    "--intensity": "intensity",
    "--bit-depth": "bit_depth",
    "--match-tone": "match_tone",
    "--match-width": "match_width",
    "--reference-weights": "reference_weights",
    "--eq-phase": "stages.eq_phase",
    "--multiband": "stages.multiband",
}


def master_settings_clean(*, song: Song, data: Any, sample_rate: int = 48000) -> dict[str, Any]:
    """The request's settings, checked and complete (defaults filled in), or Invalid naming
    every bad field. `data` is the request without `mix`; `sample_rate` is the mix's (EQ bands
    and crossovers stay under its Nyquist)."""
    nyquist = NYQUIST_MARGIN * sample_rate
    if not isinstance(data, dict):
        raise Invalid("expected a JSON object", fields={"non_field_errors": ["expected an object"]})
    errors = _Errors()
    errors.unknown("", data, ("mix", *TOP_FIELDS))
    preset_name = data.get("preset")
    preset = None
    if preset_name is not None:
        preset = PRESETS.get(preset_name) if isinstance(preset_name, str) else None
        if preset is None:
            errors.add("preset", f"choose one of {', '.join(PRESETS)}")
    target = ceiling = None
    if data.get("target_lufs") is not None:
        target = errors.number("target_lufs", data["target_lufs"], *TARGET_RANGE, unit=" LUFS")
    if data.get("ceiling_dbtp") is not None:
        ceiling = errors.number("ceiling_dbtp", data["ceiling_dbtp"], *CEILING_RANGE, unit=" dBTP")
    percents: dict[str, float] = {}
    for name, bounds in (
        ("intensity", INTENSITY_RANGE),
        ("match_tone", MATCH_RANGE),
        ("match_width", MATCH_RANGE),
    ):
        given = data.get(name)
        percents[name] = 100.0 if given is None else errors.number(name, given, *bounds) or 0.0
    bit_depth = data.get("bit_depth", "24")
    if bit_depth not in BIT_DEPTHS:
        errors.add("bit_depth", f"choose one of {', '.join(BIT_DEPTHS)}")
    references = _references(errors, song, data.get("references"))
    weights = _weights(errors, data.get("reference_weights"), references)
    stages_in = data.get("stages") or {}
    if not isinstance(stages_in, dict):
        errors.add("stages", "must be an object {eq, compressor, saturation, width}")
        stages_in = {}
    errors.unknown("stages", stages_in, STAGE_FIELDS)
    width = None
    if stages_in.get("width") is not None:
        width = errors.number("stages.width", stages_in["width"], *WIDTH_RANGE, unit=" %")
    eq_phase = stages_in.get("eq_phase") or "minimum"
    if eq_phase not in PHASES:
        errors.add("stages.eq_phase", f"choose one of {', '.join(PHASES)}")
    stages = {
        "eq": _eq_bands(errors, stages_in.get("eq"), nyquist),
        "eq_phase": eq_phase,
        "multiband": _multiband(errors, stages_in.get("multiband"), nyquist),
        "compressor": _compressor(errors, stages_in.get("compressor")),
        "saturation": _saturation(errors, stages_in.get("saturation")),
        "width": width,
    }
    if errors.fields:
        raise Invalid(_summary(errors.fields), code="master_invalid", fields=errors.fields)
    if target is not None:
        target_from = "request"
    elif preset is not None and preset.lufs is not None:
        target, target_from = preset.lufs, "preset"
    elif references:
        target_from = "references"
    else:
        target_from = "default"
    settings: dict[str, Any] = {
        "preset": preset.name if preset else None,
        "target_lufs": target if target is not None else DEFAULT_TARGET_LUFS,
        "target_from": target_from,
        "ceiling_dbtp": (
            ceiling
            if ceiling is not None
            else preset.ceiling_dbtp
            if preset is not None
            else DEFAULT_CEILING_DBTP
        ),
        "references": references,
        "reference_weights": weights,
        "intensity": percents["intensity"],
        "match_tone": percents["match_tone"],
        "match_width": percents["match_width"],
        "stages": stages,
        "bit_depth": bit_depth,
    }
    try:  # the engine's own checks, on what the job will run
        engine = engine_settings(settings, ["reference"] * len(references))
        engine.check()
        engine.check_rate(sample_rate)
    except MasterInvalid as exc:
        flag, _, rest = str(exc).partition(": ")
        field = _ENGINE_FLAGS.get(flag, "settings")
        raise Invalid(str(exc), code="master_invalid", fields={field: [rest or str(exc)]}) from None
    return settings


def _summary(fields: dict[str, list[str]]) -> str:
    return "; ".join(f"{k}: {v[0]}" for k, v in fields.items())[:1000]


def engine_settings(settings: dict[str, Any], reference_paths: list[str]) -> MasterSettings:
    """The engine's settings for a cleaned request, with the references' local files in the
    order of `settings["references"]`. The pre-limiter file is always written."""
    stages = settings.get("stages") or {}
    bands = tuple(
        EqBand(
            b["kind"], **{EQ_FIELDS[k][0]: float(b[k]) for k in EQ_FIELDS if b.get(k) is not None}
        )
        for b in stages.get("eq") or ()
    )
    comp = stages.get("compressor")
    sat = stages.get("saturation")
    width = stages.get("width")
    mb = stages.get("multiband")
    multiband = (
        Multiband(
            low_hz=float(mb["low_hz"]),
            high_hz=float(mb["high_hz"]),
            **{band: Compressor(**mb[band]) for band in MULTIBAND_BANDS},
        )
        if mb
        else None
    )
    return MasterSettings(
        target_lufs=float(settings["target_lufs"]),
        ceiling_dbtp=float(settings["ceiling_dbtp"]),
        bit_depth=str(settings["bit_depth"]),
        prelimiter=True,
        chain=Chain(
            eq=bands,
            eq_phase=str(stages.get("eq_phase") or "minimum"),
            multiband=multiband,
            compressor=Compressor(**comp) if comp else None,
            saturation_db=float(sat["drive_db"]) if sat else None,
            width=(float(width) if width is not None else 100.0) / 100.0,
        ),
        references=tuple(reference_paths),
        intensity=float(settings.get("intensity", 100.0)),
        target_from_reference=settings.get("target_from") == "references",
        reference_weights=tuple(float(w) for w in settings.get("reference_weights") or ()),
        tone_weight=float(settings.get("match_tone", 100.0)),
        width_weight=float(settings.get("match_width", 100.0)),
    )


# --- the job's start -----------------------------------------------------------------------------


def master_request(*, actor: Any, mix: Mix, settings: Any) -> Job:
    """Queue a `master` job of `mix` (202 in the API): the settings are checked whole (400
    naming each bad field); the mix must have audio (409 for a draft). The job makes Master N
    of the song when it finishes."""
    require_capability(
        user=actor, project_id=mix.project_id, capability=Capability.MIX_EDIT, song_id=mix.song_id
    )
    song = mix.song
    rate = Asset.objects.filter(mixes=mix).values_list("sample_rate", flat=True).first()
    cleaned = master_settings_clean(song=song, data=settings, sample_rate=rate or 48000)
    with transaction.atomic():
        project_lock(mix.project_id)
        locked = Mix.objects.select_related("asset").get(pk=mix.pk)
        if locked.asset is None:
            raise Conflict(
                f"{locked} has no audio yet: render it, then master it",
                code="mix_draft",
                fields={"mix": ["has no audio yet"]},
            )
        require_audio(locked.asset)
        return jobs.job_create(
            actor=actor,
            project=locked.project_id,
            kind=JobKind.MASTER,
            mix=locked,
            params={"settings": cleaned},
        )
