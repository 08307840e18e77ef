"""``python -m audio.engine render SPEC.json OUT.wav``: the command line of ``render``.

A clip's ``source`` here is a file path, absolute or relative to the spec file's folder.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from audio.engine.errors import AudioError, Unreadable
from audio.engine.io import read_spec_file
from audio.engine.progress_lines import ProgressPrinter
from audio.engine.render import BIT_DEPTHS, MixSpec, RangeInvalid, SpecInvalid, render
from audio.engine.render.spec import MAX_BUSES, MAX_CLIPS, MAX_MINUTES, MAX_TRACKS

MAX_SPEC_BYTES = 64 * 1024 * 1024
_RANGE = re.compile(r"(\d+):(\d+)")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "render",
        help="render a mix spec (JSON, version 1) to a WAV file",
        description=(
            "Render a mix spec to OUT.wav (stereo, at the spec's sample_rate) and print one "
            "JSON report: duration_s, sample_rate, channels, frames, sample_peak_dbfs, "
            "true_peak_dbtp, integrated_lufs, clipped_samples, samples_sha256, render_s, "
            "tracks [{id, peak_dbfs}]. A clip's source is a file path, absolute or relative "
            f"to the spec file. Limits: {MAX_TRACKS} tracks, {MAX_BUSES} buses, {MAX_CLIPS} "
            f"clips, {MAX_MINUTES} minutes. The same spec and sources give the same bytes. "
            "A bad spec exits 2 with one 'error:' line naming the JSON path and the value, "
            "and leaves no output file."
        ),
    )
    parser.add_argument("spec", metavar="SPEC.json", help="the mix spec")
    parser.add_argument("out", metavar="OUT.wav", help="the WAV file to write")
    parser.add_argument(
        "--bit-depth",
        choices=BIT_DEPTHS,
        default="32f",
        help="32f (default: float, peaks over 0 dBFS kept), 24 or 16 (clipped at full "
        "scale and counted; 16 is TPDF-dithered)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="print 'progress 0.42' lines on stderr, at most four a second",
    )
    parser.add_argument(
        "--range",
        metavar="START:END",
        help="render only frames START to END (a preview), with the full render's samples",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="keep decoded sources and stretched clips here for the next render",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="worker threads (the output is the same)"
    )


def _read_spec(path: Path) -> MixSpec:
    return MixSpec.from_json(read_spec_file(path, limit=MAX_SPEC_BYTES, what="spec"))


def _parse_range(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    found = _RANGE.fullmatch(text.strip())
    if not found:
        raise RangeInvalid(f"range: {text!r} is not START:END in frames")
    return int(found.group(1)), int(found.group(2))


def run(args: argparse.Namespace) -> int:
    """Render, print the report; every bad input raises ``AudioError`` (the caller's exit 2)."""
    spec_path = Path(args.spec)
    out = Path(args.out)
    if args.threads < 1 or args.threads > 64:
        raise AudioError(f"--threads: {args.threads} is outside 1-64")
    frame_range = _parse_range(args.range)
    if out.is_dir():
        raise Unreadable(f"{out}: is a folder, not a file to write")
    try:
        spec = _read_spec(spec_path)
    except SpecInvalid as exc:
        raise _one_line(exc) from None
    base = spec_path.resolve().parent
    sources = {name: base / name for name in spec.source_names()}
    try:
        report = render(
            spec,
            sources,
            out,
            bit_depth=args.bit_depth,
            cache_dir=args.cache_dir,
            threads=args.threads,
            on_progress=ProgressPrinter() if args.progress else None,
            frame_range=frame_range,
        )
    except SpecInvalid as exc:
        raise _one_line(exc) from None
    sys.stdout.write(json.dumps(report, allow_nan=False) + "\n")
    sys.stdout.flush()
    return 0


def _one_line(exc: SpecInvalid) -> AudioError:
    """The first problem, and how many more there are, on one line."""
    more = len(exc.problems) - 1
    text = exc.problems[0].replace("\n", " ")
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return AudioError(text, code=exc.code)
