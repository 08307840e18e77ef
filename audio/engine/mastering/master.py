"""``master``: a file to a target loudness under a true-peak ceiling, measured on the final
quantised samples.

Passes, each streaming in fixed blocks (memory does not grow with length, apart from the
limiter's per-unit peak and energy: 8 bytes per 16 frames, about 86 MB for an hour at 48 kHz):

1. Read the input (analysing it), run the chain stages, and keep the pre-limiter signal in a
   temporary raw float32 file beside OUT (optionally also written as OUT's stem +
   ``.prelimiter.wav``).
2. Detection: the limiter's unit peaks (samples and 4x values between them) and the
   K-weighted energy of each unit.
3. Search: the drive into the limiter is found by regula falsi (Illinois; at most
   ``MAX_ITERATIONS``, bracketed, so it cannot diverge) on the integrated loudness of the
   limited output, predicted from the unit energies times the limiter's unit gains. Loudness rises
   monotonically with drive, so the bracket always holds the answer. The bracket's top is
   the drive that needs ``MAX_LIMITING_DB`` of limiting: a target beyond it is not met, and
   the loudest result within it is written instead.
4. Output: drive, limit, trim, quantise (plain rounding for 24 bit, TPDF dither once, last,
   for 16), and measure what was written with the analyzer (BS.1770-4 loudness and the
   accurate true-peak meter). If the true peak is over the ceiling the static trim is
   lowered by the excess; if the loudness is off by more than ``LOUDNESS_TOLERANCE_LU`` the
   prediction's bias is removed and the search run again. At most ``MAX_PASSES`` writes.
5. Lossy check: the written master is encoded to MP3 at 320 kbit/s (LAME, through
   pedalboard) beside the write pass, in ``MP3_PIECES`` overlapping pieces cut at MP3 frame
   boundaries, a thread each (one core each), reading the stored blocks from a spool so the
   writer never waits for LAME; each piece is decoded by libsndfile to its exact span and
   measured on its own frames only, so the spliced figures are sample-accurate. AAC at
   256 kbit/s where pedalboard has an AAC encoder on this platform (otherwise the report
   says ``"aac": {"available": false, "reason": ...}``).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio.engine.analysis import CLIP_LEVEL, AnalysisReport, Analyzer
from audio.engine.errors import AudioError, EmptyAudio, Unreadable
from audio.engine.io import BLOCK_FRAMES, DEFAULT_LIMITS, Limits, PathLike, probe, read_blocks
from audio.engine.loudness import _KWeighting, channel_weights, integrated_loudness
from audio.engine.mastering.limiter import (
    UnitGains,
    peak_db,
    sample_gains,
    unit_frames,
    unit_peaks,
)
from audio.engine.mastering.presets import platforms_report
from audio.engine.mastering.reference import match, profile, spectrum_of
from audio.engine.mastering.stages import PHASES, Chain
from audio.engine.mastering.truepeak import COARSE_HALF, FINE_HALF, AccurateTruePeak
from audio.engine.render.wav import WavWriter
from audio.engine.types import ProgressFn

MAX_ITERATIONS = 12
MAX_PASSES = 4
MAX_LIMITING_DB = 12.0
LOUDNESS_TOLERANCE_LU = 0.1  # re-run when further than this (the contract allows 0.2)
DETECTION_MARGIN_DB = 0.3  # the limiter aims this far under the ceiling (4x detection under-reads)
RELEASE_DB_PER_S = 60.0
MP3_RATES = (32000, 44100, 48000)


class MasterInvalid(AudioError):
    code = "audio.master_invalid"


@dataclass(frozen=True)
class MasterSettings:
    target_lufs: float = -14.0
    ceiling_dbtp: float = -1.0
    bit_depth: str = "24"
    prelimiter: bool = False
    chain: Chain = field(default_factory=Chain)
    release_db_per_s: float = RELEASE_DB_PER_S
    lossy_check: bool = True
    references: tuple[str, ...] = ()
    intensity: float = 100.0
    target_from_reference: bool = True  # False when --target-lufs was given
    reference_weights: tuple[float, ...] = ()  # relative, one per reference; () = equal
    tone_weight: float = 100.0  # % of the tone correction (on top of the intensity)
    width_weight: float = 100.0  # % of the width correction (on top of the intensity)

    def check(self) -> None:
        if not -30.0 <= self.target_lufs <= -5.0:
            raise MasterInvalid(f"--target-lufs: {self.target_lufs} is outside -30..-5")
        if not -9.0 <= self.ceiling_dbtp <= 0.0:
            raise MasterInvalid(f"--ceiling-dbtp: {self.ceiling_dbtp} is outside -9..0")
        if not 0.0 <= self.intensity <= 100.0:
            raise MasterInvalid(f"--intensity: {self.intensity} is outside 0-100")
        for flag, value in (
            ("--match-tone", self.tone_weight),
            ("--match-width", self.width_weight),
        ):
            if not 0.0 <= value <= 100.0:
                raise MasterInvalid(f"{flag}: {value:g} is outside 0-100")
        if self.reference_weights:
            if len(self.reference_weights) != len(self.references):
                raise MasterInvalid(
                    f"--reference-weights: {len(self.reference_weights)} weights for "
                    f"{len(self.references)} references"
                )
            w = self.reference_weights
            if not all(math.isfinite(v) and v >= 0 for v in w) or not sum(w) > 0:
                raise MasterInvalid("--reference-weights: weights must be >= 0, not all 0")
        if self.bit_depth not in ("32f", "24", "16"):
            raise MasterInvalid(f"--bit-depth: {self.bit_depth!r} is not 32f, 24 or 16")
        if self.chain.eq_phase not in PHASES:
            raise MasterInvalid(f"--eq-phase: {self.chain.eq_phase!r} is not minimum or linear")
        mb = self.chain.multiband
        if mb is not None and not 20.0 <= mb.low_hz < mb.high_hz / 1.5 <= 20000.0 / 1.5:
            raise MasterInvalid(
                f"--multiband: crossovers {mb.low_hz:g} and {mb.high_hz:g} Hz must lie in "
                "20..20000 Hz with the upper at least 1.5 times the lower"
            )

    def check_rate(self, sample_rate: int) -> None:
        """What needs the input's rate: crossovers and EQ bands under its Nyquist."""
        mb = self.chain.multiband
        if mb is not None and mb.high_hz >= 0.45 * sample_rate:
            raise MasterInvalid(
                f"--multiband: the upper crossover {mb.high_hz:g} Hz is too close to the "
                f"input's Nyquist ({sample_rate / 2:g} Hz)"
            )


class _Raw:
    """A temporary raw float32 file of (frames, channels), read back by frame range."""

    def __init__(self, folder: Path, channels: int) -> None:
        self.path = folder / f".master.{secrets.token_hex(8)}.raw"
        self.channels = channels
        self.frames = 0
        try:
            self.fh: BinaryIO = open(self.path, "w+b")  # noqa: SIM115 (closed in close())
        except OSError as exc:
            raise Unreadable(f"{folder}: cannot write there ({exc.strerror})") from None

    def append(self, block: npt.NDArray[np.float32]) -> None:
        try:
            self.fh.seek(self.frames * self.channels * 4)  # reads may have moved it (a spool)
            self.fh.write(np.ascontiguousarray(block.T, dtype="<f4").tobytes())
        except OSError as exc:
            raise Unreadable(f"{self.path.parent}: cannot write ({exc.strerror})") from None
        self.frames += block.shape[1]

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        """Frames start..stop-1 as (channels, n); zeros outside the programme."""
        out = np.zeros((self.channels, stop - start), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.frames)
        if hi > lo:
            self.fh.seek(lo * self.channels * 4)
            data = np.frombuffer(self.fh.read((hi - lo) * self.channels * 4), dtype="<f4")
            out[:, lo - start : hi - start] = data.reshape(hi - lo, self.channels).T
        return out

    def close(self) -> None:
        self.fh.close()
        self.path.unlink(missing_ok=True)


@dataclass
class _Detection:
    """Per-unit figures of the pre-limiter signal: 8 bytes per unit, all that is kept."""

    rate: int
    unit: int
    peaks_db: npt.NDArray[np.float32]
    energy: npt.NDArray[np.float32]  # K-weighted, channel-weighted energy per unit
    frames_per_group: npt.NDArray[np.float64]  # frames per 100 ms loudness group

    def groups_of(self, first: int, count: int) -> npt.NDArray[np.int64]:
        return (np.arange(first, first + count, dtype=np.int64) * self.unit * 10) // self.rate


def _detect(raw: _Raw, rate: int) -> _Detection:
    unit = unit_frames(rate)
    frames = raw.frames
    units = -(-frames // unit)
    peaks = np.empty(units, dtype=np.float32)
    energy = np.empty(units, dtype=np.float32)
    kw = _KWeighting(rate, raw.channels)
    weights = np.asarray(channel_weights(raw.channels), dtype=np.float64)
    for start in range(0, units * unit, BLOCK_FRAMES):
        stop = min(start + BLOCK_FRAMES, units * unit)
        ext = raw.read(start - COARSE_HALF + 1, stop + COARSE_HALF)
        u0 = start // unit
        peaks[u0 : stop // unit] = peak_db(unit_peaks(ext, unit))
        x = ext[:, COARSE_HALF - 1 : COARSE_HALF - 1 + (stop - start)].astype(np.float64)
        e = weights @ np.square(kw.process(x))
        energy[u0 : stop // unit] = e.reshape(-1, unit).sum(axis=1)
    groups = (units * unit * 10) // rate + 1 if units else 0
    edges = (np.arange(groups + 1, dtype=np.int64) * rate) // 10
    edges = np.minimum(edges, units * unit)
    return _Detection(rate, unit, peaks, energy, np.diff(edges).astype(np.float64))


STEP_UNITS = BLOCK_FRAMES // 16  # units fed to the gain curve at a time


def _gain_chunks(
    det: _Detection, drive: float, threshold: float, release: float
) -> Iterator[tuple[int, npt.NDArray[np.float64]]]:
    """(first unit, gains) in order, streamed from the unit peaks."""
    curve = UnitGains(drive, threshold, release)
    done = 0
    for u in range(0, len(det.peaks_db), STEP_UNITS):
        gains = curve.feed(det.peaks_db[u : u + STEP_UNITS].astype(np.float64))
        if len(gains):
            yield done, gains
            done += len(gains)
    gains = curve.finish()
    if len(gains):
        yield done, gains


def _loudness_of(group_e: npt.NDArray[np.float64], det: _Detection) -> float | None:
    if len(group_e) < 4:
        total = float(group_e.sum()) / max(float(det.frames_per_group.sum()), 1.0)
        return integrated_loudness(np.array([total])) if total > 0 else None
    blocks = np.convolve(group_e, np.ones(4), mode="valid")
    frames = np.convolve(det.frames_per_group, np.ones(4), mode="valid")
    return integrated_loudness(blocks / np.maximum(frames, 1.0))


def _predict(
    det: _Detection, drive: float, threshold: float, release: float, *, limit: bool = True
) -> tuple[float | None, float]:
    """Integrated loudness of the limited output, and the smallest gain, streamed."""
    group_e = np.zeros(len(det.frames_per_group))
    smallest = 1.0
    scale = 10 ** (drive / 10)
    if not limit:
        for u in range(0, len(det.energy), STEP_UNITS):
            e = det.energy[u : u + STEP_UNITS].astype(np.float64) * scale
            group_e += np.bincount(det.groups_of(u, len(e)), e, minlength=len(group_e))
        return _loudness_of(group_e, det), smallest
    for first, gains in _gain_chunks(det, drive, threshold, release):
        e = det.energy[first : first + len(gains)].astype(np.float64) * np.square(gains) * scale
        group_e += np.bincount(det.groups_of(first, len(e)), e, minlength=len(group_e))
        smallest = min(smallest, float(gains.min()))
    return _loudness_of(group_e, det), smallest


@dataclass
class _Plan:
    drive: float
    smallest_gain: float
    predicted: float | None
    met: bool
    reason: str | None
    iterations: int


def _search(det: _Detection, target: float, threshold: float, release: float) -> _Plan:
    """Bracketed search on the drive: loudness is monotonic in it, the bracket never loses the
    root."""
    top_peak = float(det.peaks_db.max()) if len(det.peaks_db) else -240.0
    unlimited, _ = _predict(det, 0.0, threshold, release, limit=False)
    if unlimited is None or top_peak < -200:
        raise EmptyAudio("the input is silent (no loudness to master)")
    hi = threshold + MAX_LIMITING_DB - top_peak  # the drive that needs 12 dB of limiting
    lo = min(target - unlimited, hi) - 1.0

    def loudness(drive: float) -> tuple[float, float]:
        value, smallest = _predict(det, drive, threshold, release)
        return (value if value is not None else -200.0), smallest

    hi_l, hi_g = loudness(hi)
    if hi_l < target:
        return _Plan(
            hi,
            hi_g,
            hi_l,
            False,
            f"the target needs more than {MAX_LIMITING_DB:g} dB of limiting under the "
            f"ceiling; the loudest master within that reaches about {hi_l:.1f} LUFS",
            1,
        )
    lo_l, lo_g = loudness(lo)
    best = (lo, lo_g, lo_l) if abs(lo_l - target) < abs(hi_l - target) else (hi, hi_g, hi_l)
    iterations = 2
    # Regula falsi with the Illinois rule: loudness is close to linear in the drive (in dB),
    # so the secant through the bracket's ends lands near the root and a search takes about
    # 4 predictions instead of bisection's 12. The bracket still always holds the root.
    lo_w, hi_w = lo_l - target, hi_l - target  # the ends' (weighted) errors
    side = 0
    while iterations < MAX_ITERATIONS and hi - lo > 0.001 and abs(best[2] - target) > 0.005:
        mid = (lo + hi) / 2
        if hi_w > lo_w:
            mid = min(max(lo - lo_w * (hi - lo) / (hi_w - lo_w), lo), hi)
        if not lo < mid < hi:
            mid = (lo + hi) / 2
        mid_l, mid_g = loudness(mid)
        iterations += 1
        if abs(mid_l - target) < abs(best[2] - target):
            best = (mid, mid_g, mid_l)
        if mid_l < target:
            lo, lo_w = mid, mid_l - target
            hi_w = hi_w / 2 if side == -1 else hi_w  # the same end kept twice: halve it
            side = -1
        else:
            hi, hi_w = mid, mid_l - target
            lo_w = lo_w / 2 if side == 1 else lo_w
            side = 1
    return _Plan(best[0], best[1], best[2], True, None, iterations)


class _GainWindow:
    """Unit gains for the write pass, streamed: holds only the units around the block."""

    def __init__(self, det: _Detection, plan: _Plan, threshold: float, release: float) -> None:
        self.chunks = _gain_chunks(det, plan.drive, threshold, release)
        self.first = 0  # unit index of held[0]
        self.held = np.zeros(0)
        self.total = len(det.peaks_db)

    def get(self, lo: int, hi: int) -> npt.NDArray[np.float64]:
        """Gains of units lo..hi-1 (1.0 outside the programme); lo never goes back."""
        while self.first + len(self.held) < min(hi, self.total):
            _, gains = next(self.chunks)
            self.held = np.concatenate([self.held, gains])
        keep = max(0, lo - self.first)
        self.held = self.held[keep:]
        self.first += keep
        out = np.ones(hi - lo)
        a, b = max(lo, 0), min(hi, self.total)
        if b > a:
            out[a - lo : b - lo] = self.held[a - self.first : b - self.first]
        return out


GR_INTERVAL_S = 0.5  # the gain-reduction timeline's resolution (two values a second)


class _Timeline:
    """The limiter's largest gain reduction (dB, >= 0) per interval, from the very per-sample
    gains the write pass applies: 8 bytes per half second."""

    def __init__(self, rate: int, frames: int) -> None:
        self.per = max(1, round(GR_INTERVAL_S * rate))
        self.rate = rate
        self.worst = np.ones(-(-frames // self.per))

    def feed(self, start: int, gains: npt.NDArray[np.float64]) -> None:
        first = start // self.per
        edges = np.arange(first * self.per, start + len(gains), self.per) - start
        edges[0] = 0
        lows = np.minimum.reduceat(gains, edges)
        np.minimum(
            self.worst[first : first + len(lows)], lows, out=self.worst[first : first + len(lows)]
        )

    def report(self) -> dict[str, Any]:
        db = np.maximum(0.0, -20 * np.log10(np.maximum(self.worst, 1e-12)))
        return {
            "interval_s": round(self.per / self.rate, 6),
            "db": [round(float(v), 2) + 0.0 for v in db],
        }


def _blocks_of(raw: _Raw) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    for start in range(0, raw.frames, BLOCK_FRAMES):
        yield start, raw.read(start, min(start + BLOCK_FRAMES, raw.frames))


def _write(
    raw: _Raw,
    det: _Detection,
    plan: _Plan,
    curve: tuple[float, float],
    trim_db: float,
    out: Path,
    bit_depth: str,
    seed: int,
    mp3: _Mp3Beside | None = None,
) -> tuple[WavWriter, AnalysisReport, _Timeline]:
    rate = det.rate
    timeline = _Timeline(rate, raw.frames)
    writer = WavWriter(out, rate, raw.channels, bit_depth, seed)
    analyzer = Analyzer(rate, raw.channels, expected_frames=raw.frames, with_peaks=False)
    unit = det.unit
    scale = 10 ** ((plan.drive - trim_db) / 20)
    window = _GainWindow(det, plan, *curve)
    try:
        for start, x in _blocks_of(raw):
            u0 = start // unit
            units = -(-x.shape[1] // unit)
            around = window.get(u0 - 1, u0 + units + 1)
            g = sample_gains(around[1:], 0, unit, x.shape[1], around[0], around[-1])
            timeline.feed(start, g)
            y = (x.astype(np.float64) * (g * scale)).astype(np.float32)
            stored = writer.write(y, start)
            if mp3 is not None:
                mp3.feed(stored)
            analyzer.feed(stored)
    except BaseException:
        writer.abort()
        if mp3 is not None:
            mp3.abort()
        raise
    return writer, analyzer.finish(), timeline


def _seed(digest: bytes, settings: MasterSettings) -> int:
    h = hashlib.sha256(digest + repr(settings).encode())
    return int.from_bytes(h.digest()[:8], "little")


def _measure_decoded(blocks: Iterator[npt.NDArray[np.float32]], channels: int) -> dict[str, Any]:
    """Sample peak, accurate true peak, and on-sample and inter-sample clipped samples (as
    Apple's afclip counts them) of a decoded stream. The inter-sample count reuses the
    meter's own 4x estimates of every interval, so the decode is interpolated once."""
    meter = AccurateTruePeak(channels)
    peak = 0.0
    clipped = 0
    for block in blocks:
        meter.feed(block)
        top = float(np.abs(block).max(initial=0.0))
        peak = max(peak, top)
        if top >= CLIP_LEVEL:
            clipped += int(np.count_nonzero(np.abs(block) >= CLIP_LEVEL))
    true_peak = meter.dbtp()
    return {
        "sample_peak_dbfs": 20 * math.log10(peak) if peak > 0 else None,
        "true_peak_dbtp": true_peak,
        "clipped_samples": clipped,
        "intersample_clipped": meter.over_intervals,
    }


MP3_FRAME = 1152  # samples per MPEG-1 Layer III frame
MP3_PIECES = 2  # encoded at once, a thread each (a constant: the figures never depend on the host)
MP3_MIN_PIECE_S = 30.0  # a programme under MP3_PIECES of these is encoded whole
MP3_OVERLAP = 8 * MP3_FRAME  # encoded past each inner cut; that decode is only context


@dataclass(frozen=True)
class Mp3Piece:
    """Programme frames [start, stop) are encoded; the decode's [keep_start, keep_stop) is
    measured. Pieces are cut at MP3 frame boundaries and overlap by ``MP3_OVERLAP`` on each
    inner side, so the measured frames never come from an encoder's start or end."""

    start: int
    stop: int
    keep_start: int
    keep_stop: int


def mp3_pieces(frames: int, rate: int) -> list[Mp3Piece]:
    """The pieces of a programme of ``frames`` frames (one when it is short)."""
    if frames < MP3_PIECES * MP3_MIN_PIECE_S * rate:
        return [Mp3Piece(0, frames, 0, frames)]
    inner = [round(frames * k / MP3_PIECES / MP3_FRAME) * MP3_FRAME for k in range(1, MP3_PIECES)]
    cuts = [0, *inner, frames]
    return [
        Mp3Piece(max(0, a - MP3_OVERLAP), min(frames, b + MP3_OVERLAP), a, b)
        for a, b in itertools.pairwise(cuts)
    ]


def _window(
    blocks: Iterator[npt.NDArray[np.float32]], lo: int, hi: int
) -> Iterator[npt.NDArray[np.float32]]:
    """Frames lo..hi-1 of a stream of (channels, n) blocks."""
    pos = 0
    for block in blocks:
        n = block.shape[1]
        a, b = max(lo - pos, 0), min(hi - pos, n)
        if b > a:
            yield block[:, a:b]
        pos += n
        if pos >= hi:
            return


@dataclass
class _PieceFigures:
    peak: float  # linear sample peak of the kept frames
    true_peaks: npt.NDArray[np.float64]  # linear, per channel, of the kept intervals
    clipped: int
    over: int


Reader = Callable[[int, int], "npt.NDArray[np.float32] | None"]  # None: cancelled


def _mp3_piece(
    read: Reader, piece: Mp3Piece, frames: int, rate: int, channels: int, tmp: Path
) -> _PieceFigures | None:
    """Encode one piece (LAME at 320 kbit/s, through pedalboard), decode it with libsndfile
    (which removes LAME's delay and padding, so decoded frame i is programme frame
    piece.start + i), and measure the kept frames. A piece that starts inside the programme
    gives its meter the 64 decoded samples before them as history; one that ends inside it
    feeds 64 more and reads only the intervals those complete, so every interval of the
    programme is measured once, on one continuous decode. None when ``read`` is cancelled."""
    from pedalboard.io import AudioFile  # heavy: only when a master runs

    with AudioFile(str(tmp), "w", rate, channels, quality="320") as f:
        for a in range(piece.start, piece.stop, BLOCK_FRAMES):
            block = read(a, min(a + BLOCK_FRAMES, piece.stop))
            if block is None:
                return None
            f.write(block)
    head = piece.keep_start - piece.start
    kept = piece.keep_stop - piece.keep_start
    last = piece.keep_stop == frames
    history = None
    if head:
        before = list(_window(read_blocks(tmp, BLOCK_FRAMES), head - FINE_HALF, head))
        history = np.concatenate(before, axis=1)
    meter = AccurateTruePeak(channels, history)
    peak, clipped, pos = 0.0, 0, 0
    stop = head + kept + (0 if last else FINE_HALF)
    for block in _window(read_blocks(tmp, BLOCK_FRAMES), head, stop):
        meter.feed(block)
        own = block[:, : max(0, kept - pos)]  # the context after the cut is not this piece's
        pos += block.shape[1]
        top = float(np.abs(own).max(initial=0.0))
        peak = max(peak, top)
        if top >= CLIP_LEVEL:
            clipped += int(np.count_nonzero(np.abs(own) >= CLIP_LEVEL))
    true_peaks = meter.peaks() if last else meter.evaluated_peaks()
    return _PieceFigures(peak, true_peaks, clipped, meter.over_intervals)


class _Mp3Check:
    """The MP3 320 check of a programme: its pieces encoded, decoded and measured at once, a
    thread each (pedalboard releases the GIL while LAME encodes, libsndfile while it decodes),
    each reading its frames through ``read``; ``result`` joins them into one report."""

    def __init__(
        self, read: Reader, frames: int, rate: int, channels: int, folder: Path, name: str
    ) -> None:
        self.frames, self.rate, self.channels = frames, rate, channels
        self.pieces = mp3_pieces(frames, rate)
        self.tmps = [folder / f".{name}.{secrets.token_hex(8)}.mp3" for _ in self.pieces]
        self.figures: list[_PieceFigures | None] = [None] * len(self.pieces)
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._run, args=(i, read), name=f"master-mp3-{i}", daemon=True)
            for i in range(len(self.pieces))
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, i: int, read: Reader) -> None:
        try:
            self.figures[i] = _mp3_piece(
                read, self.pieces[i], self.frames, self.rate, self.channels, self.tmps[i]
            )
        except BaseException as exc:  # handed to the caller by result()
            self.errors.append(exc)
        finally:
            self.tmps[i].unlink(missing_ok=True)

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def result(self) -> dict[str, Any]:
        self.join()
        if self.errors:
            raise self.errors[0]
        figures = [f for f in self.figures if f is not None]
        if len(figures) != len(self.pieces):
            raise RuntimeError("the MP3 check ended without a result")
        peak = max(f.peak for f in figures)
        top = max(float(f.true_peaks.max(initial=0.0)) for f in figures)
        return {
            "sample_peak_dbfs": 20 * math.log10(peak) if peak > 0 else None,
            "true_peak_dbtp": 20 * math.log10(top) if top > 0 else None,
            "clipped_samples": sum(f.clipped for f in figures),
            "intersample_clipped": sum(f.over for f in figures),
        }


def lossy_check(path: Path, rate: int, channels: int) -> dict[str, Any]:
    """MP3 320 through LAME (pedalboard) of a written file, in the pieces ``mp3_pieces``
    gives, decoded to the exact length by libsndfile."""
    if rate not in MP3_RATES:
        return {"skipped": f"MP3 needs 32, 44.1 or 48 kHz, not {rate} Hz"}
    frames = probe(path).frames

    def read(start: int, stop: int) -> npt.NDArray[np.float32]:
        with sf.SoundFile(str(path)) as snd:
            snd.seek(start)
            data = snd.read(stop - start, dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T)

    return _Mp3Check(read, frames, rate, channels, path.parent, path.name).result()


class _Spool:
    """The write pass's stored blocks in a temporary raw file, read by the MP3 pieces at
    their own pace: the writer never waits for LAME, and each reader holds one block (the
    price is a second float32 copy of the output on disk while the pass runs)."""

    def __init__(self, folder: Path, channels: int) -> None:
        self.raw = _Raw(folder, channels)
        self.ready = threading.Condition()
        self.cancelled = False

    def append(self, block: npt.NDArray[np.float32]) -> None:
        with self.ready:
            self.raw.append(block)
            self.ready.notify_all()

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32] | None:
        with self.ready:
            while self.raw.frames < stop and not self.cancelled:
                self.ready.wait()
            return None if self.cancelled else self.raw.read(start, stop)

    def cancel(self) -> None:
        with self.ready:
            self.cancelled = True
            self.ready.notify_all()

    def close(self) -> None:
        self.raw.close()


class _Mp3Beside:
    """The MP3 320 check run beside the write pass, so the master does not wait for LAME
    after it: the pieces' threads encode the stored (quantised) blocks as the pass writes
    them, the same frames ``lossy_check`` reads from the file (the same figures). A pass
    that is redone aborts it."""

    def __init__(self, out: Path, frames: int, rate: int, channels: int) -> None:
        self.spool = _Spool(out.parent, channels)
        self.check = _Mp3Check(self.spool.read, frames, rate, channels, out.parent, out.name)

    def feed(self, stored: npt.NDArray[np.float32]) -> None:
        self.spool.append(stored)

    def finish(self) -> dict[str, Any]:
        try:
            return self.check.result()
        finally:
            self.spool.close()

    def abort(self) -> None:
        """Stop and remove the encode; harmless after finish()."""
        self.spool.cancel()
        self.check.join()
        self.spool.close()


AAC_KBPS = 256  # what Apple's and most stores' AAC delivery uses


def aac_encoder(folder: Path) -> str | None:
    """None when an AAC encoder is here, else why not. The only one the engine may use is
    pedalboard's (ffmpeg and sox serve the tests as oracles, never the engine). pedalboard
    documents writing AIFF, FLAC, MP3, OGG and WAV, and reading AAC only on some platforms;
    whether it writes .m4a is asked of it, with a tiny file removed at once, so a version
    that can is used without a change here."""
    from pedalboard.io import AudioFile  # heavy: only when a master runs

    probe_path = folder / f".aac-probe.{secrets.token_hex(8)}.m4a"
    try:
        with AudioFile(str(probe_path), "w", 44100, 1, quality=f"{AAC_KBPS} kbps") as f:
            f.write(np.zeros((1, 4410), dtype=np.float32))
        return None
    except (ValueError, RuntimeError, OSError) as exc:
        return (
            f"no AAC encoder here: pedalboard cannot write .m4a ({exc}); it writes AIFF, "
            "FLAC, MP3, OGG and WAV only, and the engine uses no other encoder (ffmpeg and "
            "sox are test oracles, not part of the engine)"
        )
    finally:
        probe_path.unlink(missing_ok=True)


def aac_check(path: Path, rate: int, channels: int) -> dict[str, Any]:
    """AAC at 256 kbit/s where an encoder is available here, decoded by the same codec."""
    reason = aac_encoder(path.parent)
    if reason is not None:
        return {"available": False, "reason": reason}
    from pedalboard.io import AudioFile  # heavy: only when a master runs

    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.m4a"
    try:
        with AudioFile(str(tmp), "w", rate, channels, quality=f"{AAC_KBPS} kbps") as f:
            for block in read_blocks(path, BLOCK_FRAMES):
                f.write(block)

        def decoded() -> Iterator[npt.NDArray[np.float32]]:
            with AudioFile(str(tmp)) as f:
                while f.tell() < f.frames:
                    yield np.asarray(f.read(BLOCK_FRAMES), dtype=np.float32)

        return {
            "available": True,
            "bitrate_kbps": AAC_KBPS,
            **_measure_decoded(decoded(), channels),
        }
    finally:
        tmp.unlink(missing_ok=True)


def _with_reference(
    src: PathLike, settings: MasterSettings, rate: int, limits: Limits
) -> tuple[MasterSettings, dict[str, Any] | None, dict[str, Any] | None]:
    """Measure the references and the mix; fold the match into the chain and the target.
    Also the references' spectrum, in the analyze report's form."""
    if not settings.references:
        return settings, None, None
    # The references are measured in a worker thread while this one measures the mix: the
    # passes are independent, and their numpy work (FFTs, filters, reads) releases the GIL.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="master-reference") as pool:
        pending = [pool.submit(profile, ref, limits) for ref in settings.references]
        try:
            mix = profile(src, limits, loudness=False)
        except BaseException:
            for job in pending:
                job.cancel()
            raise
        profiles = []
        for ref, job in zip(settings.references, pending, strict=True):
            try:
                profiles.append(job.result())
            except AudioError as exc:
                raise type(exc)(f"--reference: {ref}: {exc}") from None
    raw_weights = settings.reference_weights or (1.0,) * len(profiles)
    weights = [w / sum(raw_weights) for w in raw_weights]
    found = match(
        mix,
        profiles,
        settings.intensity,
        rate,
        weights=weights,
        tone=settings.tone_weight,
        width=settings.width_weight,
    )
    chain = replace(
        settings.chain,
        match_curve=found.curve,
        width=settings.chain.width * found.side_gain,
    )
    target = settings.target_lufs
    if settings.target_from_reference and found.target_lufs is not None:
        target = round(min(-5.0, max(-30.0, found.target_lufs)), 2)
    report = {
        "files": [os.path.basename(r) for r in settings.references],
        "intensity": settings.intensity,
        "weights": [round(w, 6) for w in weights],
        "tone_weight": settings.tone_weight,
        "width_weight": settings.width_weight,
        "integrated_lufs": [p.integrated_lufs for p in profiles],
        "target_from_reference": settings.target_from_reference,
        "side_to_mid_db": {"mix": found.side_to_mid_db[0], "reference": found.side_to_mid_db[1]},
        "side_gain_db": round(20 * math.log10(found.side_gain), 3),
        "loud_pieces": {"mix": mix.loud_pieces, "reference": [p.loud_pieces for p in profiles]},
    }
    return (
        replace(settings, chain=chain, target_lufs=target),
        report,
        spectrum_of(profiles, rate, weights),
    )


def master_file(
    src: PathLike,
    out: PathLike,
    settings: MasterSettings,
    *,
    limits: Limits = DEFAULT_LIMITS,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Master ``src`` into ``out`` (WAV); returns the report. Raises AudioError on bad input."""
    settings.check()
    began = time.monotonic()
    progress = on_progress or (lambda _f: None)
    out_path = Path(out)
    if out_path.is_dir():
        raise Unreadable(f"{out_path}: is a folder, not a file to write")
    info = probe(src, limits)
    rate, channels = info.sample_rate, info.channels
    settings.check_rate(rate)
    settings, reference, ref_spectrum = _with_reference(src, settings, rate, limits)
    raw = _Raw(out_path.parent, channels)
    pre_path = out_path.with_name(out_path.stem + ".prelimiter.wav")
    pre_writer: WavWriter | None = None
    mp3: _Mp3Beside | None = None
    writer: WavWriter | None = None
    try:
        if settings.prelimiter:
            pre_writer = WavWriter(pre_path, rate, channels, "32f", 0)
        analyzer = Analyzer(rate, channels, expected_frames=info.frames, with_peaks=False)
        digest = hashlib.sha256()
        chain = settings.chain.start(rate, channels)
        for block in read_blocks(src, BLOCK_FRAMES, limits, info=info):
            analyzer.feed(block)
            digest.update(block.tobytes())
            processed = chain.process(block)
            if processed.shape[1]:
                if pre_writer is not None:
                    pre_writer.write(processed, raw.frames)
                raw.append(processed)
            progress(0.3 * min(1.0, analyzer.frames / max(info.frames, 1)))
        tail = chain.finish()
        if tail.shape[1]:
            if pre_writer is not None:
                pre_writer.write(tail, raw.frames)
            raw.append(tail)
        input_report = analyzer.finish(info)
        det = _detect(raw, rate)
        progress(0.4)
        threshold = settings.ceiling_dbtp - DETECTION_MARGIN_DB
        release = settings.release_db_per_s * det.unit / rate
        target = settings.target_lufs
        bias = 0.0  # the prediction's error, measured on the written output
        trim = 0.0  # static trim after the limiter, from the measured true peak
        plan = _search(det, target, threshold, release)
        seed = _seed(digest.digest(), settings)
        passes = 0
        beside = settings.lossy_check and rate in MP3_RATES
        while True:
            passes += 1
            mp3 = _Mp3Beside(out_path, raw.frames, rate, channels) if beside else None
            writer, report, timeline = _write(
                raw, det, plan, (threshold, release), trim, out_path, settings.bit_depth, seed, mp3
            )
            progress(min(0.9, 0.4 + 0.15 * passes))
            tp = report.true_peak_accurate_dbtp
            lufs = report.integrated_lufs
            redo = False
            if tp is not None and tp > settings.ceiling_dbtp:
                trim += tp - settings.ceiling_dbtp + 0.005
                redo = True
            if plan.met and lufs is not None and abs(lufs - target) > LOUDNESS_TOLERANCE_LU:
                bias -= lufs - target
                redo = True
            if not redo or passes >= MAX_PASSES:
                break
            writer.abort()
            if mp3 is not None:
                mp3.abort()
            if passes < MAX_PASSES - 1:  # the last pass only trims: the ceiling comes first
                plan = _search(det, target + bias + trim, threshold, release)
        mp3_report = mp3.finish() if mp3 is not None else None
        writer.close()
        if pre_writer is not None:
            pre_writer.close()
            pre_writer = None
    except BaseException:
        if pre_writer is not None:
            pre_writer.abort()
        if mp3 is not None:
            mp3.abort()
        if writer is not None:
            writer.abort()
        raise
    finally:
        raw.close()
    lossy: dict[str, Any] = {}
    if settings.lossy_check:
        lossy = {
            "mp3_320": mp3_report
            if mp3_report is not None
            else lossy_check(out_path, rate, channels),
            "aac": aac_check(out_path, rate, channels),
        }
    progress(1.0)
    out_dict = report.to_dict()
    out_dict.update(
        format="wav", bit_depth=None if settings.bit_depth == "32f" else int(settings.bit_depth)
    )
    out_dict.pop("peaks", None)
    in_dict = input_report.to_dict()
    in_dict.pop("peaks", None)
    met = (
        plan.met
        and out_dict["integrated_lufs"] is not None
        and abs(out_dict["integrated_lufs"] - settings.target_lufs) <= 0.2
    )
    reason = plan.reason
    if plan.met and not met:
        reason = f"the output measures {out_dict['integrated_lufs']} LUFS after {passes} passes"
    gr = max(0.0, float(-20 * np.log10(plan.smallest_gain)))
    return {
        "input": in_dict,
        "output": out_dict,
        "target_lufs": settings.target_lufs,
        "ceiling_dbtp": settings.ceiling_dbtp,
        "target_met": met,
        "target_reason": reason,
        "gain_reduction_max_db": round(gr, 3),
        "gain_reduction": timeline.report(),
        "drive_db": round(plan.drive, 4),
        "trim_db": round(trim, 4),
        "search_iterations": plan.iterations,
        "passes": passes,
        "stages": settings.chain.describe(),
        "eq_curve": settings.chain.eq_curve(rate),
        "reference": reference,
        "spectra": {
            "input": in_dict["spectrum"],
            "output": out_dict["spectrum"],
            "reference": ref_spectrum,
        },
        "platforms": platforms_report(
            out_dict["integrated_lufs"], out_dict["true_peak_accurate_dbtp"]
        ),
        "lossy": lossy,
        "prelimiter": str(pre_path) if settings.prelimiter else None,
        "master_s": round(time.monotonic() - began, 3),
    }
