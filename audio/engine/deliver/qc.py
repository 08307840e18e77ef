"""The QC report: every check a CD plant or a distributor would make, with its measured value.

Each check is ``pass``, ``warn`` or ``fail`` with the value it measured and the limit it was held
to. Checks are pure functions of measured figures (``TrackFigures``, ``AlbumFigures``), so a
test can make each one fail from a crafted input. A ``fail`` does not stop a delivery: the
report's ``status`` (its first field) and ``fails`` (the failed checks, before anything else)
say so at the top, and within every list the fails come first, then the warnings.

Limits, and why:
- duration and CD limits: the Red Book's (4 s a track, 99 tracks, 79:57, 2 s before track 1;
  the release is refused before delivery for these, so here they document the result);
- format: 44.1 kHz, 16 bit, stereo, whole CD frames, FLAC and MP3 decoding to the track's
  exact length;
- sample peak: fail at full scale (-0.0009 dBFS, as the analysis counts clipping), warn above
  -0.1 dBFS; true peak (the accurate meter): fail above 0 dBTP (overs in every DAC and codec),
  warn above -1 dBTP (the ceiling Spotify, Apple and most stores ask for);
- integrated loudness: fail when silent, warn outside -20..-7 LUFS; loudness range: warn under
  3 LU (flattened), fail under 1 LU (judged on tracks of 30 s or more);
- each platform's playback gain (its preset): warn when turned down by more than 6 dB (loudness
  bought with distortion that the service then takes away), fail by more than 10 dB;
- clipped samples: on-sample (fail from 1), inter-sample (warn from 1, fail from 100), and after
  the MP3 encode (the same: on-sample fail from 1, inter-sample warn from 1, fail from 100);
- DC offset: warn above 0.001 (-60 dBFS), fail above 0.01 (-40 dBFS) on any channel;
- head and tail silence: warn above 1 s of head or 5 s of tail, fail above 10 s or an all-silent
  track;
- ISRC and UPC: fail when missing (a distributor refuses the release; invalid ones never get
  here), ISRCs unique;
- loudness spread across the album: warn above 4 LU between the loudest and quietest track,
  fail above 8 LU.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from audio.engine.deliver.redbook import (
    CD_CHANNELS,
    CD_RATE,
    FRAME_SAMPLES,
    FRAMES_PER_SECOND,
    MAX_PROGRAMME_FRAMES,
    MAX_TRACKS,
    MIN_FIRST_PREGAP_FRAMES,
    MIN_TRACK_S,
    clock,
)
from audio.engine.mastering.presets import PRESETS, playback_gain_db

PASS, WARN, FAIL = "pass", "warn", "fail"
_ORDER = {FAIL: 0, WARN: 1, PASS: 2}

FULL_SCALE_DBFS = 20 * math.log10(0.9999)
SAMPLE_PEAK_WARN_DBFS = -0.1
TRUE_PEAK_FAIL_DBTP = 0.0
TRUE_PEAK_WARN_DBTP = -1.0
LOUDNESS_RANGE_LUFS = (-20.0, -7.0)
LRA_WARN_LU, LRA_FAIL_LU = 3.0, 1.0
LRA_MIN_S = 30.0
TURN_DOWN_WARN_DB, TURN_DOWN_FAIL_DB = 6.0, 10.0
INTERSAMPLE_FAIL = 100
DC_WARN, DC_FAIL = 0.001, 0.01
HEAD_WARN_S, TAIL_WARN_S, SILENCE_FAIL_S = 1.0, 5.0, 10.0
SPREAD_WARN_LU, SPREAD_FAIL_LU = 4.0, 8.0


@dataclass(frozen=True)
class Check:
    id: str
    status: str
    value: Any
    limit: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "value": self.value,
            "limit": self.limit,
            "message": self.message,
        }


@dataclass(frozen=True)
class Mp3Figures:
    frames: int
    sample_peak_dbfs: float | None
    true_peak_dbtp: float | None
    clipped_samples: int
    intersample_clipped: int


@dataclass(frozen=True)
class TrackFigures:
    """What was measured on one track's final 16-bit samples (and its encodes)."""

    number: int
    title: str
    isrc: str | None
    samples: int
    sample_rate: int = CD_RATE
    channels: int = CD_CHANNELS
    bit_depth: int = 16
    sample_peak_dbfs: float | None = None
    true_peak_dbtp: float | None = None
    integrated_lufs: float | None = None
    loudness_range_lu: float | None = None
    clipped_samples: int = 0
    intersample_clipped: int = 0
    dc_offset: tuple[float, ...] = (0.0, 0.0)
    head_silence_s: float = 0.0
    tail_silence_s: float = 0.0
    flac_frames: int | None = None
    mp3: Mp3Figures | None = None

    @property
    def duration_s(self) -> float:
        return self.samples / self.sample_rate


@dataclass(frozen=True)
class AlbumFigures:
    tracks: Sequence[TrackFigures]
    programme_frames: int
    first_pregap_frames: int
    upc: str | None
    isrcs_unique: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _worst(*statuses: str) -> str:
    return min(statuses, key=lambda s: _ORDER[s])


def track_checks(t: TrackFigures) -> list[Check]:
    out: list[Check] = []
    add = out.append
    short = t.samples < MIN_TRACK_S * t.sample_rate
    add(
        Check(
            "duration",
            FAIL if short else PASS,
            round(t.duration_s, 3),
            f">= {MIN_TRACK_S} s (Red Book)",
            f"{t.duration_s:.2f} s" + (" is too short for a CD track" if short else ""),
        )
    )
    fmt_ok = (t.sample_rate, t.channels, t.bit_depth) == (CD_RATE, CD_CHANNELS, 16)
    aligned = t.samples % FRAME_SAMPLES == 0
    add(
        Check(
            "format",
            PASS if fmt_ok and aligned else FAIL,
            {
                "sample_rate": t.sample_rate,
                "channels": t.channels,
                "bit_depth": t.bit_depth,
                "cd_frames": t.samples / FRAME_SAMPLES,
            },
            "44100 Hz, 2 channels, 16 bit, whole 588-sample CD frames",
            "CD audio" if fmt_ok and aligned else "not Red Book audio",
        )
    )
    decoded = {"flac": t.flac_frames, "mp3": t.mp3.frames if t.mp3 else None}
    wrong = {k: v for k, v in decoded.items() if v is not None and v != t.samples}
    add(
        Check(
            "decoded_length",
            FAIL if wrong else PASS,
            {"samples": t.samples, **decoded},
            "FLAC and MP3 decode to the track's exact length",
            ", ".join(f"{k} decodes to {v} samples, not {t.samples}" for k, v in wrong.items())
            or "exact",
        )
    )
    peak = t.sample_peak_dbfs
    status = PASS
    if peak is not None and peak >= FULL_SCALE_DBFS:
        status = FAIL
    elif peak is not None and peak > SAMPLE_PEAK_WARN_DBFS:
        status = WARN
    add(Check("sample_peak", status, _r(peak), "< -0.1 dBFS", f"{_show(peak)} dBFS"))
    tp = t.true_peak_dbtp
    status = PASS
    if tp is not None and tp > TRUE_PEAK_FAIL_DBTP:
        status = FAIL
    elif tp is not None and tp > TRUE_PEAK_WARN_DBTP:
        status = WARN
    add(Check("true_peak", status, _r(tp), "<= -1 dBTP (fail above 0)", f"{_show(tp)} dBTP"))
    lufs = t.integrated_lufs
    lo, hi = LOUDNESS_RANGE_LUFS
    if lufs is None:
        status, text = FAIL, "silent: no integrated loudness"
    else:
        status = PASS if lo <= lufs <= hi else WARN
        text = f"{lufs:.1f} LUFS"
    add(Check("integrated_loudness", status, _r(lufs, 1), f"{lo:g} to {hi:g} LUFS", text))
    lra = t.loudness_range_lu
    status, text = PASS, f"{_show(lra, 1)} LU"
    if t.duration_s < LRA_MIN_S:
        text += f" (a track under {LRA_MIN_S:g} s has too few short-term windows to judge)"
    elif lra is not None and lra < LRA_FAIL_LU:
        status = FAIL
    elif lra is not None and lra < LRA_WARN_LU:
        status = WARN
    add(Check("loudness_range", status, _r(lra, 1), ">= 3 LU", text))
    for name, preset in PRESETS.items():
        if preset.lufs is None:
            continue
        gain = playback_gain_db(preset, lufs, tp)
        status = PASS
        if -gain > TURN_DOWN_FAIL_DB:
            status = FAIL
        elif -gain > TURN_DOWN_WARN_DB:
            status = WARN
        add(
            Check(
                f"playback_gain.{name}",
                status,
                gain,
                f"turned down by at most {TURN_DOWN_WARN_DB:g} dB",
                f"{name} plays it at {gain:+.1f} dB (its reference {preset.lufs:g} LUFS)",
            )
        )
    add(
        Check(
            "clipped_samples",
            FAIL if t.clipped_samples else PASS,
            t.clipped_samples,
            "0 samples at full scale",
            f"{t.clipped_samples} clipped samples",
        )
    )
    over = t.intersample_clipped
    status = FAIL if over >= INTERSAMPLE_FAIL else WARN if over else PASS
    add(
        Check(
            "intersample_clipped",
            status,
            over,
            "0 reconstructed peaks over full scale",
            f"{over} inter-sample overs",
        )
    )
    if t.mp3 is not None:
        m = t.mp3
        add(
            Check(
                "mp3_clipped_samples",
                FAIL if m.clipped_samples else PASS,
                m.clipped_samples,
                "0 samples at full scale in the decoded MP3",
                f"{m.clipped_samples} clipped after the MP3 encode "
                f"(peak {_show(m.sample_peak_dbfs)} dBFS)",
            )
        )
        add(
            Check(
                "mp3_intersample_clipped",
                FAIL
                if m.intersample_clipped >= INTERSAMPLE_FAIL
                else WARN
                if m.intersample_clipped
                else PASS,
                m.intersample_clipped,
                "0 inter-sample overs in the decoded MP3",
                f"{m.intersample_clipped} inter-sample overs after the MP3 encode "
                f"(true peak {_show(m.true_peak_dbtp)} dBTP)",
            )
        )
    dc = max((abs(v) for v in t.dc_offset), default=0.0)
    status = FAIL if dc > DC_FAIL else WARN if dc > DC_WARN else PASS
    add(
        Check(
            "dc_offset",
            status,
            [round(v, 6) for v in t.dc_offset],
            f"|offset| <= {DC_WARN:g} (-60 dBFS)",
            f"largest {dc:.6f}",
        )
    )
    silent = t.head_silence_s >= t.duration_s
    head = t.head_silence_s
    status = FAIL if silent or head > SILENCE_FAIL_S else WARN if head > HEAD_WARN_S else PASS
    add(
        Check(
            "head_silence",
            status,
            round(head, 3),
            f"<= {HEAD_WARN_S:g} s under -60 dBFS",
            "the track is silent" if silent else f"{head:.2f} s before the first sound",
        )
    )
    tail = t.tail_silence_s
    status = FAIL if silent or tail > SILENCE_FAIL_S else WARN if tail > TAIL_WARN_S else PASS
    add(
        Check(
            "tail_silence",
            status,
            round(tail, 3),
            f"<= {TAIL_WARN_S:g} s under -60 dBFS",
            "the track is silent" if silent else f"{tail:.2f} s after the last sound",
        )
    )
    add(
        Check(
            "isrc",
            PASS if t.isrc else FAIL,
            t.isrc,
            "an ISRC (CC-XXX-YY-NNNNN)",
            "valid" if t.isrc else "no ISRC: distributors refuse a track without one",
        )
    )
    return _sorted(out)


def album_checks(a: AlbumFigures) -> list[Check]:
    out: list[Check] = []
    add = out.append
    n = len(a.tracks)
    add(
        Check(
            "track_count",
            PASS if 1 <= n <= MAX_TRACKS else FAIL,
            n,
            f"1-{MAX_TRACKS} (Red Book)",
            f"{n} tracks",
        )
    )
    long = a.programme_frames > MAX_PROGRAMME_FRAMES
    add(
        Check(
            "programme_duration",
            FAIL if long else PASS,
            round(a.programme_frames / FRAMES_PER_SECOND, 3),
            f"<= {clock(MAX_PROGRAMME_FRAMES)} with pregaps (Red Book)",
            f"{clock(a.programme_frames)} in all",
        )
    )
    ok = a.first_pregap_frames >= MIN_FIRST_PREGAP_FRAMES
    add(
        Check(
            "first_pregap",
            PASS if ok else FAIL,
            a.first_pregap_frames / FRAMES_PER_SECOND,
            ">= 2 s before track 1 (Red Book)",
            f"{a.first_pregap_frames / FRAMES_PER_SECOND:.2f} s",
        )
    )
    add(
        Check(
            "upc",
            PASS if a.upc else FAIL,
            a.upc,
            "a UPC-A or EAN-13 with its GS1 check digit",
            "valid" if a.upc else "no UPC/EAN: a plant and a distributor need the barcode",
        )
    )
    add(
        Check(
            "isrc_unique",
            PASS if a.isrcs_unique else FAIL,
            [t.isrc for t in a.tracks],
            "each ISRC on one track",
            "unique" if a.isrcs_unique else "an ISRC is repeated",
        )
    )
    levels = [t.integrated_lufs for t in a.tracks if t.integrated_lufs is not None]
    spread = max(levels) - min(levels) if levels else 0.0
    status = FAIL if spread > SPREAD_FAIL_LU else WARN if spread > SPREAD_WARN_LU else PASS
    add(
        Check(
            "loudness_spread",
            status,
            round(spread, 1),
            f"<= {SPREAD_WARN_LU:g} LU between the loudest and the quietest track",
            f"{spread:.1f} LU",
        )
    )
    peaks = [t.true_peak_dbtp for t in a.tracks if t.true_peak_dbtp is not None]
    top = max(peaks) if peaks else None
    status = PASS
    if top is not None and top > TRUE_PEAK_FAIL_DBTP:
        status = FAIL
    elif top is not None and top > TRUE_PEAK_WARN_DBTP:
        status = WARN
    add(Check("album_true_peak", status, _r(top), "<= -1 dBTP", f"{_show(top)} dBTP"))
    return _sorted(out)


def _show(value: float | None, digits: int = 2) -> str:
    return "-inf" if value is None else f"{value:.{digits}f}"


def _sorted(checks: list[Check]) -> list[Check]:
    return sorted(checks, key=lambda c: _ORDER[c.status])  # stable: the listed order within


def report(album: AlbumFigures) -> dict[str, Any]:
    """The QC report: ``status`` and ``fails`` first; album, then tracks, each fails first."""
    album_list = album_checks(album)
    tracks = [(t, track_checks(t)) for t in album.tracks]
    every = [("album", c) for c in album_list] + [
        (f"track {t.number:02d}", c) for t, cs in tracks for c in cs
    ]
    counts = {s: sum(1 for _, c in every if c.status == s) for s in (FAIL, WARN, PASS)}
    status = _worst(PASS, *(c.status for _, c in every))
    headline = {
        FAIL: f"FAIL: {counts[FAIL]} check{'s' if counts[FAIL] != 1 else ''} failed; "
        "the files were delivered, but a plant or a distributor may refuse them",
        WARN: f"WARN: {counts[WARN]} warning{'s' if counts[WARN] != 1 else ''}, no failure",
        PASS: "PASS: every check passed",
    }[status]
    return {
        "status": status,
        "headline": headline,
        "fails": [{"where": w, **c.to_dict()} for w, c in every if c.status == FAIL],
        "counts": counts,
        "album": {"checks": [c.to_dict() for c in album_list], **album.extra},
        "tracks": [
            {
                "number": t.number,
                "title": t.title,
                "status": _worst(PASS, *(c.status for c in cs)),
                "checks": [c.to_dict() for c in cs],
            }
            for t, cs in tracks
        ],
    }


_STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:72em}"
    "table{border-collapse:collapse;width:100%;margin:0 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}"
    ".fail{background:#fdd}.warn{background:#ffe9b3}.pass{background:#e6f4e6}"
    ".banner{padding:.8em 1em;font-weight:bold;font-size:1.2em}"
)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    return "—" if value is None else str(value)


def _rows(checks: list[dict[str, Any]], where: str | None = None) -> str:
    out = []
    for c in checks:
        cells = [html.escape(c["where"])] if where is not None else []
        cells += [
            html.escape(c["status"].upper()),
            html.escape(c["id"]),
            html.escape(_value(c["value"])),
            html.escape(c["limit"]),
            html.escape(c["message"]),
        ]
        out.append(f'<tr class="{c["status"]}">' + "".join(f"<td>{x}</td>" for x in cells))
    return "\n".join(out)


def report_html(rep: dict[str, Any], title: str) -> str:
    """The same report as a page: the verdict at the top, then every fail, album, tracks."""
    head = "<tr><th>status</th><th>check</th><th>value</th><th>limit</th><th>measured</th></tr>"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>QC: {html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f'<div class="banner {rep["status"]}">{html.escape(rep["headline"])}</div>',
        f"<h1>QC report: {html.escape(title)}</h1>",
    ]
    if rep["fails"]:
        parts += [
            "<h2>Failed checks</h2><table>",
            "<tr><th>where</th>" + head[4:],
            _rows(rep["fails"], where=""),
            "</table>",
        ]
    parts += ["<h2>Album</h2><table>", head, _rows(rep["album"]["checks"]), "</table>"]
    for t in rep["tracks"]:
        parts += [
            f"<h2>Track {t['number']:02d}: {html.escape(t['title'])} "
            f"({html.escape(t['status'])})</h2><table>",
            head,
            _rows(t["checks"]),
            "</table>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
