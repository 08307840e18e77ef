"""``python -m audio.engine``: the engine's command line, for scripts, jobs and benchmarks.

Contract: a report is one JSON object on stdout and exit 0; bad input (missing, corrupt,
unsupported, over a limit) is exit 2 with one ``error: ...`` line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from audio.engine.analysis import analyze_file
from audio.engine.deliver import cli as deliver_cli
from audio.engine.errors import AudioError
from audio.engine.formats import labels_sentence
from audio.engine.mastering import cli as master_cli
from audio.engine.render import cli as render_cli
from audio.engine.watermark import cli as watermark_cli

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage mistakes follow the same one-line ``error:`` rule as bad input."""
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m audio.engine",
        description="Studio's audio engine. Bad input exits 2 with one 'error:' line on stderr.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    analyze = commands.add_parser(
        "analyze",
        help="measure a file: loudness (BS.1770-4/EBU R128), true peak, levels, spectrum",
        description=(
            "Print one JSON object: duration_s, sample_rate, channels, integrated_lufs (null "
            "when silent), loudness_range_lu, momentary_max_lufs, short_term_max_lufs, "
            "true_peak_dbtp, sample_peak_dbfs, RMS, crest factor, DC offset, stereo "
            "correlation, clipped samples, head/tail silence and a 1/3-octave spectrum. "
            f"Accepts {labels_sentence('and')} (WAV incl. extensible and RF64, AIFF incl. "
            "AIFC) up to 60 minutes, 1-8 channels, 8-192 kHz; a file that decodes to far more "
            "audio than its size holds is refused as a decompression bomb."
        ),
    )
    analyze.add_argument("file", metavar="FILE", help="audio file to analyse")
    analyze.add_argument(
        "--peaks",
        action="store_true",
        help="also include waveform peaks (min/max pairs at several zoom levels, as "
        "wavesurfer.js accepts them)",
    )
    render_cli.add_parser(commands)
    master_cli.add_parser(commands)
    deliver_cli.add_parser(commands)
    watermark_cli.add_parser(commands)
    return parser


def _analyze(args: argparse.Namespace) -> int:
    report = analyze_file(args.file, with_peaks=args.peaks).to_dict()
    if not args.peaks:
        report.pop("peaks", None)
    sys.stdout.write(json.dumps(report, allow_nan=False) + "\n")
    sys.stdout.flush()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "render":
            return render_cli.run(args)
        if args.command == "master":
            return master_cli.run(args)
        if args.command == "deliver":
            return deliver_cli.run(args)
        if args.command == "watermark":
            return watermark_cli.run(args)
    except AudioError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug, not bad input: still no traceback on the contract
        sys.stderr.write(f"error: internal error ({type(exc).__name__}: {exc})\n")
        return EXIT_INTERNAL
    return EXIT_BAD_INPUT
