"""``python -m audio.engine master IN OUT``: the command line of ``master``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from audio.engine.errors import AudioError
from audio.engine.mastering.master import MasterInvalid, MasterSettings, master_file
from audio.engine.mastering.presets import PRESETS
from audio.engine.mastering.stages import (
    BANDS,
    EQ_TYPES,
    PHASES,
    Chain,
    Compressor,
    EqBand,
    Multiband,
)
from audio.engine.progress_lines import ProgressPrinter


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "master",
        help="master a file to a loudness target under a true-peak ceiling",
        description=(
            "Master IN into OUT (WAV, same rate, channels and length): the chain's stages, "
            "then the engine's true-peak limiter driven by a bisection search so the output "
            "is within 0.2 LU of the target with its true peak (accurate meter, within "
            "0.05 dB of 32x oversampling, measured on the final quantised samples) at or "
            "under the ceiling. More than 12 dB of limiting needed: the loudest result within "
            "12 dB is written and the report says target_met false and why. Prints one JSON "
            "report: input and output analyses, target_lufs, ceiling_dbtp, target_met, "
            "gain_reduction_max_db, gain_reduction (the limiter's largest reduction per "
            "half second), stages, eq_curve, reference, spectra (1/3-octave levels of input, "
            "output and reference), platforms (each service's playback gain) and lossy (an "
            "MP3 320 encode and decode: peaks, clipped samples; AAC 256 the same where an "
            "encoder is here, else available false and why)."
        ),
    )
    parser.add_argument("input", metavar="IN", help="the mix to master (any format analyze reads)")
    parser.add_argument("out", metavar="OUT", help="the WAV file to write")
    parser.add_argument(
        "--target-lufs", type=float, help="integrated loudness to reach (-30..-5); default -14"
    )
    parser.add_argument("--ceiling-dbtp", type=float, help="true-peak ceiling (-9..0); default -1")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="a platform's LUFS and ceiling (cd: no normalisation, the default target); "
        "explicit --target-lufs / --ceiling-dbtp override it",
    )
    parser.add_argument(
        "--reference",
        action="append",
        metavar="REF",
        help="match the tonal balance (a smoothed 1/3-octave spectral-ratio EQ), width "
        "(side-to-mid ratio) and loudness of REF's loudest pieces; repeatable (averaged); the "
        "target then comes from the reference(s) unless --target-lufs is given",
    )
    parser.add_argument(
        "--intensity",
        type=float,
        default=100.0,
        help="0-100 %% of the matching correction (with --reference); default 100",
    )
    parser.add_argument(
        "--reference-weights",
        metavar="W1,W2,...",
        help="relative weights of the references, one per --reference in order (>= 0, not "
        "all 0; default equal): each weighs in the averaged tone, width and loudness",
    )
    parser.add_argument(
        "--match-tone",
        type=float,
        default=100.0,
        metavar="P",
        help="0-100 %% of the tonal (EQ) correction toward the reference(s), on top of "
        "--intensity; default 100",
    )
    parser.add_argument(
        "--match-width",
        type=float,
        default=100.0,
        metavar="P",
        help="0-100 %% of the width correction toward the reference(s), on top of "
        "--intensity (0 keeps the mix's side-to-mid ratio); default 100",
    )
    parser.add_argument(
        "--eq",
        action="append",
        metavar="TYPE:HZ:DB[:Q]",
        help="a parametric EQ band, minimum phase (TYPE peak, lowshelf, highshelf, highpass, "
        "lowpass; 20-20000 Hz, -12..12 dB, Q 0.1-10); repeatable; off by default",
    )
    parser.add_argument(
        "--eq-phase",
        choices=PHASES,
        default="minimum",
        help="minimum (default: IIR bands and a minimum-phase match FIR, no delay, phase "
        "shifts where the curve bends) or linear (one symmetric FIR of about 0.19 s for the "
        "bands and the match curve: no phase shift, a little pre-ringing before transients at "
        "strong low boosts; its delay is compensated, so OUT stays the same length and sample-"
        "aligned with IN)",
    )
    parser.add_argument(
        "--multiband",
        metavar="LOW_HZ:HIGH_HZ",
        help="three-band compressor before the single-band one: bands split at LOW_HZ and "
        "HIGH_HZ (20-20000, the upper at least 1.5x the lower) by Linkwitz-Riley 24 dB/oct "
        "crossovers that sum flat when nothing is compressed; each band is compressed alone "
        "(defaults -18 dB 2:1 with attack/release 30 ms 20 dB/s low, 10 ms 40 dB/s mid, "
        "3 ms 60 dB/s high; see --multiband-low/-mid/-high); off by default",
    )
    for name in BANDS:
        parser.add_argument(
            f"--multiband-{name}",
            metavar="THRESHOLD_DB:RATIO[:ATTACK_MS[:RELEASE_DB_PER_S]]",
            help=f"the {name} band's compressor (with --multiband; same fields and ranges as "
            f"--compressor; write it as --multiband-{name}=-20:3)",
        )
    parser.add_argument(
        "--compressor",
        metavar="THRESHOLD_DB:RATIO[:ATTACK_MS[:RELEASE_DB_PER_S]]",
        help="single-band compressor before the limiter (threshold -60..0, ratio 1-20, "
        "attack 0.1-200 ms, release 1-200 dB/s; linked peak detection, 6 dB soft knee); off "
        "by default; write it as --compressor=-18:2 (the value starts with a minus)",
    )
    parser.add_argument(
        "--saturation",
        type=float,
        metavar="DRIVE_DB",
        help="tanh soft clip at 4x oversampling with DRIVE_DB (0-24) into it and the inverse "
        "after; off by default",
    )
    parser.add_argument(
        "--width",
        type=float,
        default=100.0,
        help="stereo width in %% (side level: 0 mono, 100 unchanged, up to 200); default 100",
    )
    parser.add_argument(
        "--prelimiter",
        action="store_true",
        help="also write the signal before the limiter as OUT's stem + .prelimiter.wav",
    )
    parser.add_argument(
        "--bit-depth",
        choices=("32f", "24", "16"),
        default="24",
        help="24 (default, rounded), 16 (TPDF-dithered once, last) or 32f",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="print 'progress 0.42' lines on stderr, at most four a second",
    )


def _numbers(flag: str, text: str, count: tuple[int, int]) -> list[float]:
    parts = text.split(":")
    if not count[0] <= len(parts) <= count[1]:
        raise MasterInvalid(f"{flag}: {text!r} has {len(parts)} fields, not {count[0]}-{count[1]}")
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise MasterInvalid(f"{flag}: {text!r} holds a field that is not a number") from None


def _in(flag: str, name: str, value: float, lo: float, hi: float) -> float:
    if not lo <= value <= hi:
        raise MasterInvalid(f"{flag}: {name} {value:g} is outside {lo:g}..{hi:g}")
    return value


def parse_eq(text: str) -> EqBand:
    kind, _, rest = text.partition(":")
    if kind not in EQ_TYPES:
        raise MasterInvalid(f"--eq: {kind!r} is not one of {', '.join(EQ_TYPES)}")
    values = _numbers("--eq", rest, (1, 3))
    freq = _in("--eq", "frequency", values[0], 20.0, 20000.0)
    gain = _in("--eq", "gain", values[1], -12.0, 12.0) if len(values) > 1 else 0.0
    q = _in("--eq", "Q", values[2], 0.1, 10.0) if len(values) > 2 else 0.707
    return EqBand(kind, freq, gain, q)


def parse_compressor(
    text: str, flag: str = "--compressor", default: Compressor | None = None
) -> Compressor:
    base = default or Compressor()
    values = _numbers(flag, text, (2, 4))
    return Compressor(
        threshold_db=_in(flag, "threshold", values[0], -60.0, 0.0),
        ratio=_in(flag, "ratio", values[1], 1.0, 20.0),
        attack_ms=_in(flag, "attack", values[2], 0.1, 200.0) if len(values) > 2 else base.attack_ms,
        release_db_per_s=_in(flag, "release", values[3], 1.0, 200.0)
        if len(values) > 3
        else base.release_db_per_s,
    )


def parse_multiband(args: argparse.Namespace) -> Multiband | None:
    """--multiband LOW:HIGH and the bands' own compressors over the defaults."""
    bands = {name: getattr(args, f"multiband_{name}") for name in BANDS}
    if args.multiband is None:
        given = [f"--multiband-{name}" for name, text in bands.items() if text]
        if given:
            raise MasterInvalid(f"{given[0]}: needs --multiband LOW_HZ:HIGH_HZ")
        return None
    low, high = _numbers("--multiband", args.multiband, (2, 2))
    base = Multiband(low_hz=low, high_hz=high)

    def band(name: str) -> Compressor:
        default: Compressor = getattr(base, name)
        text = bands[name]
        return parse_compressor(text, f"--multiband-{name}", default) if text else default

    return Multiband(low, high, band("low"), band("mid"), band("high"))


def parse_weights(text: str | None) -> tuple[float, ...]:
    if text is None:
        return ()
    try:
        return tuple(float(p) for p in text.split(","))
    except ValueError:
        raise MasterInvalid(
            f"--reference-weights: {text!r} is not a comma-separated list of numbers"
        ) from None


def settings_from(args: argparse.Namespace) -> MasterSettings:
    """Preset first, explicit flags over it; every range checked with the flag's name."""
    if not 0.0 <= args.intensity <= 100.0:
        raise MasterInvalid(f"--intensity: {args.intensity} is outside 0-100")
    if not 0.0 <= args.width <= 200.0:
        raise MasterInvalid(f"--width: {args.width} is outside 0-200")
    saturation = args.saturation
    if saturation is not None:
        _in("--saturation", "drive", saturation, 0.0, 24.0)
    target, ceiling = -14.0, -1.0
    if args.preset:
        preset = PRESETS[args.preset]
        target = preset.lufs if preset.lufs is not None else target
        ceiling = preset.ceiling_dbtp
    if args.target_lufs is not None:
        target = args.target_lufs
    if args.ceiling_dbtp is not None:
        ceiling = args.ceiling_dbtp
    settings = MasterSettings(
        target_lufs=target,
        ceiling_dbtp=ceiling,
        bit_depth=args.bit_depth,
        prelimiter=args.prelimiter,
        references=tuple(args.reference or ()),
        intensity=args.intensity,
        target_from_reference=args.target_lufs is None,
        reference_weights=parse_weights(args.reference_weights),
        tone_weight=args.match_tone,
        width_weight=args.match_width,
        chain=Chain(
            eq=tuple(parse_eq(t) for t in args.eq or ()),
            multiband=parse_multiband(args),
            compressor=parse_compressor(args.compressor) if args.compressor else None,
            saturation_db=saturation,
            width=args.width / 100.0,
            eq_phase=args.eq_phase,
        ),
    )
    settings.check()
    return settings


def run(args: argparse.Namespace) -> int:
    """Master, print the report; bad input raises ``AudioError`` (the caller's exit 2)."""
    settings = settings_from(args)
    out = Path(args.out)
    if out.suffix.lower() not in (".wav", ".wave"):
        raise AudioError(f"OUT: {args.out}: the master is written as WAV (name it .wav)")
    report = master_file(
        args.input, out, settings, on_progress=ProgressPrinter() if args.progress else None
    )
    report["preset"] = args.preset
    sys.stdout.write(json.dumps(report, allow_nan=False) + "\n")
    sys.stdout.flush()
    return 0
