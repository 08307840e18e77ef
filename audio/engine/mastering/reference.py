"""Reference matching: tone (a smoothed spectral-ratio EQ), width and loudness toward one or
several reference tracks, by an intensity from 0 to 100 %.

Both the mix and each reference are measured in one streaming pass (``Profile``): the
programme is cut into 1 s pieces; for each piece the mid (L+R)/2 and side (L-R)/2 RMS and the
mid's 1/3-octave band powers are kept (32 numbers a piece, so an hour costs under 1 MB). Only
the loudest pieces count (those whose mid RMS is at or above the RMS over all pieces), so
quiet intros and fades do not pull the match. Several references are averaged (their band
levels in dB, their side-to-mid ratios in dB, their loudness in LUFS), after normalising each
to the same mid RMS.

- Tone: the reference's band levels minus the mix's, each relative to its own mean level,
  smoothed across neighbouring bands (1-2-1), limited to +-12 dB, times the intensity. It is
  applied as a minimum-phase FIR (cepstral method from the curve), so it adds no delay.
- Width: the side is scaled so the side-to-mid ratio of the loudest pieces moves toward the
  reference's, by the intensity (in dB).
- Loudness: the master's target is the references' mean integrated loudness unless
  ``--target-lufs`` is given.
- Weights: each reference has a relative weight in every average; the tone and the width
  corrections each have their own weight (0-100 %), applied on top of the intensity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio.engine.analysis import THIRD_OCTAVE_NOMINAL
from audio.engine.io import BLOCK_FRAMES, DEFAULT_LIMITS, Limits, PathLike, probe, read_blocks
from audio.engine.loudness import LoudnessMeter

Floats = npt.NDArray[np.float64]

PIECE_S = 1.0
PIECE_FFT = 8192
BAND_CENTRES = np.array([1000.0 * 2 ** (k / 3) for k in range(-16, 14)])  # 25 Hz .. 20 kHz
MAX_MATCH_DB = 12.0
FIR_TAPS = 2048
FIR_GRID = 16384


@dataclass(frozen=True)
class Profile:
    """Loudest-pieces figures of one programme."""

    mid_rms: float
    side_rms: float
    bands_db: tuple[float, ...]  # mid power per 1/3-octave band, dB, on BAND_CENTRES
    side_bands_db: tuple[float, ...]  # the same for the side
    integrated_lufs: float | None
    pieces: int
    loud_pieces: int
    # mean square of the mid per 1/3-octave band over all pieces (the analyzer's spectrum)
    spectrum_ms: tuple[float, ...] = ()


def _band_edges(rate: int) -> list[tuple[int, int]]:
    freqs = np.fft.rfftfreq(PIECE_FFT, 1.0 / rate)
    edges = []
    for fc in BAND_CENTRES:
        band = np.flatnonzero((freqs >= fc / 2 ** (1 / 6)) & (freqs < fc * 2 ** (1 / 6)))
        edges.append((int(band[0]), int(band[-1]) + 1) if len(band) else (0, 0))
    return edges


def profile(path: PathLike, limits: Limits = DEFAULT_LIMITS, *, loudness: bool = True) -> Profile:
    """Measure a file (mono counts as mid only) in one streaming pass; ``loudness=False``
    skips the integrated loudness (the mix's: the master measures it in its own pass)."""
    info = probe(path, limits)
    rate = info.sample_rate
    piece = round(PIECE_S * rate)
    edges = _band_edges(rate)
    window = np.hanning(PIECE_FFT)
    # Only the integrated loudness is used: no true peak (its 4x oversampling is a third of
    # the pass).
    meter = LoudnessMeter(rate, info.channels, series=False, true_peak=False) if loudness else None
    mids: list[float] = []
    sides: list[float] = []
    bands: list[Floats] = []
    carry = np.zeros((2, 0))
    for block in read_blocks(path, BLOCK_FRAMES, limits, info=info):
        x = block.astype(np.float64)
        if meter is not None:
            meter.process(block, as_float64=x)
        if x.shape[0] >= 2:
            ms = np.stack([(x[0] + x[1]) / 2, (x[0] - x[1]) / 2])
        else:
            ms = np.stack([x[0], np.zeros(x.shape[1])])
        carry = np.concatenate([carry, ms], axis=1)
        while carry.shape[1] >= piece:
            _piece(carry[:, :piece], window, edges, mids, sides, bands)
            carry = carry[:, piece:]
    if carry.shape[1] >= PIECE_FFT or not mids:
        _piece(carry, window, edges, mids, sides, bands)
    mid = np.array(mids)
    overall = math.sqrt(float(np.mean(mid**2)))
    loud = mid >= overall * (1 - 1e-9)
    if not loud.any():
        loud = np.ones(len(mid), dtype=bool)
    side = np.array(sides)
    every = np.array(bands)
    power = np.mean(every[loud], axis=0)  # (2, bands): mid, side
    bands_db = 10 * np.log10(np.maximum(power, 1e-20))
    # As analysis.Analyzer._bands: one-sided mean square, Hann-compensated (Parseval).
    spectrum = 2.0 * np.mean(every[:, 0], axis=0) / (PIECE_FFT * float(np.sum(window**2)))
    return Profile(
        mid_rms=math.sqrt(float(np.mean(mid[loud] ** 2))),
        side_rms=math.sqrt(float(np.mean(side[loud] ** 2))),
        bands_db=tuple(float(v) for v in bands_db[0]),
        side_bands_db=tuple(float(v) for v in bands_db[1]),
        integrated_lufs=meter.report().integrated_lufs if meter is not None else None,
        pieces=len(mid),
        loud_pieces=int(loud.sum()),
        spectrum_ms=tuple(float(v) for v in spectrum),
    )


def spectrum_of(
    profiles: list[Profile], rate: int, weights: list[float] | None = None
) -> dict[str, list[float | None]]:
    """The references' whole-programme 1/3-octave spectrum in the analyze report's form
    (``centres_hz`` nominal, ``levels_db``; bands up to Nyquist), averaged in dB (weighted)."""
    centres: list[float | None] = []
    levels: list[float | None] = []
    w = np.asarray(weights if weights is not None else [1.0] * len(profiles), dtype=np.float64)
    for i, fc in enumerate(BAND_CENTRES):
        if fc * 2 ** (1 / 6) > rate / 2:
            break
        values = np.array([p.spectrum_ms[i] for p in profiles])
        centres.append(float(THIRD_OCTAVE_NOMINAL[i]))
        if (values <= 0).any():
            levels.append(None)
        else:
            levels.append(float(np.average(10 * np.log10(values), weights=w)))
    return {"centres_hz": centres, "levels_db": levels}


def _piece(
    ms: Floats,
    window: Floats,
    edges: list[tuple[int, int]],
    mids: list[float],
    sides: list[float],
    bands: list[Floats],
) -> None:
    n = ms.shape[1]
    mids.append(math.sqrt(float(np.mean(ms[0] ** 2))) if n else 0.0)
    sides.append(math.sqrt(float(np.mean(ms[1] ** 2))) if n else 0.0)
    seg = ms
    if seg.shape[1] < PIECE_FFT:
        seg = np.pad(seg, ((0, 0), (0, PIECE_FFT - seg.shape[1])))
    usable = seg.shape[1] // PIECE_FFT * PIECE_FFT
    frames = seg[:, :usable].reshape(2, -1, PIECE_FFT) * window
    power = (np.abs(np.fft.rfft(frames, axis=2)) ** 2).mean(axis=1)  # (2, bins)
    bands.append(np.array([[p[a:b].sum() if b > a else 0.0 for a, b in edges] for p in power]))


@dataclass(frozen=True)
class Match:
    """The correction toward the references, already scaled by the intensity."""

    curve: tuple[tuple[float, float], ...]  # (hz, dB) at 1/3-octave centres
    side_gain: float
    target_lufs: float | None
    side_to_mid_db: tuple[float, float]  # (mix, references)


def usable_bands(rate: int) -> npt.NDArray[np.bool_]:
    """Bands under Nyquist that hold at least one FFT bin of a piece."""
    return np.array([b > a for a, b in _band_edges(rate)]) & (
        rate / 2 > BAND_CENTRES * 2 ** (1 / 6)
    )


def _relative(bands_db: Floats, rate: int) -> Floats:
    usable = usable_bands(rate)
    rel = bands_db - np.mean(bands_db[usable])
    return np.where(usable, rel, 0.0)


def match(
    mix: Profile,
    references: list[Profile],
    intensity: float,
    rate: int,
    *,
    weights: list[float] | None = None,
    tone: float = 100.0,
    width: float = 100.0,
) -> Match:
    """Tone curve, side gain and loudness that move ``mix`` toward the references.

    ``weights`` (relative, one per reference; equal when None) weight every average: band
    levels and side-to-mid ratios in dB, loudness in LUFS. ``tone`` and ``width`` (0-100 %)
    scale the tone and the width corrections on top of ``intensity``; width 0 keeps the mix's
    side-to-mid ratio as it is after the tone curve."""
    w = np.asarray(weights if weights is not None else [1.0] * len(references), dtype=np.float64)
    k_tone = intensity / 100.0 * tone / 100.0
    k_width = intensity / 100.0 * width / 100.0
    rels = [_relative(np.array(r.bands_db), rate) for r in references]
    ref_rel = np.average(rels, axis=0, weights=w)
    diff = ref_rel - _relative(np.array(mix.bands_db), rate)
    smooth = np.convolve(np.pad(diff, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    usable = usable_bands(rate)
    curve = np.clip(smooth, -MAX_MATCH_DB, MAX_MATCH_DB) * k_tone * usable

    def ratio_db(p: Profile) -> float:
        return 20 * math.log10(max(p.side_rms, 1e-12) / max(p.mid_rms, 1e-12))

    mix_ratio = ratio_db(mix)
    ref_ratio = float(np.average([ratio_db(r) for r in references], weights=w))
    # The tone curve changes mid and side by their own spectra: predict the mix's ratio
    # after it (band powers times the curve's power gain), and correct the width from there.
    gain = 10 ** (curve / 10)
    mid_p = 10 ** (np.array(mix.bands_db) / 10) * usable
    side_p = 10 ** (np.array(mix.side_bands_db) / 10) * usable
    change = 10 * math.log10(
        max(float((side_p * gain).sum()), 1e-30) / max(float(side_p.sum()), 1e-30)
    ) - 10 * math.log10(max(float((mid_p * gain).sum()), 1e-30) / max(float(mid_p.sum()), 1e-30))
    # The width weight moves the ratio that far (in dB) from the mix's toward the references'.
    side_db = float(
        np.clip(k_width * (ref_ratio - mix_ratio) - change, -MAX_MATCH_DB, MAX_MATCH_DB)
    )
    if mix.side_rms <= 1e-9:  # a mono mix has no side to scale
        side_db = 0.0
    louds = [(r.integrated_lufs, x) for r, x in zip(references, w, strict=True)]
    known = [(v, x) for v, x in louds if v is not None and x > 0]
    target = (
        float(np.average([v for v, _ in known], weights=[x for _, x in known])) if known else None
    )
    return Match(
        curve=tuple(
            (float(f), round(float(g), 4)) for f, g in zip(BAND_CENTRES, curve, strict=True)
        ),
        side_gain=10 ** (side_db / 20),
        target_lufs=target,
        side_to_mid_db=(mix_ratio, ref_ratio),
    )


def curve_db_at(curve: tuple[tuple[float, float], ...], freqs: Floats) -> Floats:
    """The curve interpolated on log frequency, held flat beyond its ends."""
    hz = np.array([c[0] for c in curve])
    db = np.array([c[1] for c in curve])
    return np.asarray(np.interp(np.log2(np.maximum(freqs, 1.0)), np.log2(hz), db))


def minimum_phase_fir(curve: tuple[tuple[float, float], ...], rate: int) -> Floats:
    """FIR_TAPS taps whose magnitude follows ``curve``, minimum phase (no delay): the real
    cepstrum of the log magnitude, folded onto positive time, exponentiated back."""
    freqs = np.asarray(np.fft.rfftfreq(FIR_GRID, 1.0 / rate), dtype=np.float64)
    log_mag = curve_db_at(curve, freqs) / 20 * math.log(10)
    cep = np.fft.irfft(log_mag, FIR_GRID)
    fold = np.zeros(FIR_GRID)
    fold[0] = cep[0]
    fold[1 : FIR_GRID // 2] = 2 * cep[1 : FIR_GRID // 2]
    fold[FIR_GRID // 2] = cep[FIR_GRID // 2]
    h = np.fft.irfft(np.exp(np.fft.rfft(fold)), FIR_GRID)[:FIR_TAPS]
    fade = np.hanning(2 * (FIR_TAPS // 4))[FIR_TAPS // 4 :]  # taper the last quarter
    h[-len(fade) :] *= fade
    return np.asarray(h)


class FirFilter:
    """Streaming FIR by overlap-add: each block is cut into segments of ``nfft - taps + 1``
    frames, each one FFT convolution, the tail carried to the next block. ``nfft`` is the
    power of two at or above 4x the taps: a cheap size for the FFT that keeps the segments
    long next to the taps (for 2048 taps, about 3x faster per block than one FFT of the
    whole block, whose size has large prime factors and falls out of the cache). numpy's
    FFT: a master matched to a reference then never imports scipy (0.4 s)."""

    def __init__(self, taps: Floats, channels: int) -> None:
        self.taps = taps
        self.tail = np.zeros((channels, len(taps) - 1))
        self.nfft = 1 << max(1, (4 * len(taps) - 1).bit_length())
        self.spectrum = np.fft.rfft(taps, self.nfft)

    def process(self, block: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        m = block.shape[1]
        if m == 0:
            return block
        k = len(self.taps)
        hop = self.nfft - k + 1
        y = np.zeros((block.shape[0], m + k - 1))
        y[:, : k - 1] = self.tail
        for a in range(0, m, hop):
            seg = block[:, a : a + hop].astype(np.float64)
            n = seg.shape[1] + k - 1
            z = np.fft.irfft(np.fft.rfft(seg, self.nfft, axis=1) * self.spectrum, self.nfft, axis=1)
            y[:, a : a + n] += z[:, :n]
        self.tail = y[:, m:].copy()
        return np.asarray(y[:, :m], dtype=np.float32)
