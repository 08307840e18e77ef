"""``python -m audio.engine watermark embed|detect``: the command line of ``watermark``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from audio.engine.progress_lines import ProgressPrinter
from audio.engine.watermark import code
from audio.engine.watermark.run import WatermarkInvalid, detect_file, embed_file


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "watermark",
        help="hide a recipient's 32-bit id in the audio, or find it in a copy",
        description=(
            "embed: hide a 32-bit id (with a CRC-16, convolutionally coded) in IN, keyed by "
            "KEY, as a spread-spectrum change of the 1-6 kHz STFT magnitudes repeated every "
            "3 s, kept 37 dB under the programme's power in every 0.1 s window; OUT is a WAV "
            "at IN's rate, channels and length. detect: look for KEY's mark in FILE (any "
            "format analyze reads), robust to MP3 at 128 kbit/s, gain changes, resampling, "
            "cuts, a mono downmix and speed or tempo changes within 3 %; it answers found "
            "false rather than guess."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    embed = actions.add_parser(
        "embed",
        help="write a marked copy of IN to OUT",
        description=(
            "Write IN marked with --id under --key to OUT (WAV: 24-bit, or 32-bit float for a "
            'float input; same rate, channels and length). Prints {"id", "strength" (the '
            'mean modulation depth of the marked windows), "snr_db" (programme power over '
            "the power of the difference written, >= 35)}."
        ),
    )
    embed.add_argument("input", metavar="IN", help="the audio to mark (any format analyze reads)")
    embed.add_argument("out", metavar="OUT", help="the WAV file to write")
    embed.add_argument("--key", required=True, help="the secret the mark is drawn from")
    embed.add_argument(
        "--id", required=True, type=int, help=f"the recipient's id, 0..{code.MAX_ID}"
    )
    embed.add_argument(
        "--progress",
        action="store_true",
        help="print 'progress 0.42' lines on stderr, at most four a second",
    )
    detect = actions.add_parser(
        "detect",
        help="find the id marked in FILE under --key",
        description=(
            'Look for --key\'s mark in FILE. Prints {"found", "id" (null unless found), '
            '"confidence" (0..1, 0.5 where the weakest test sits at its threshold)}. With '
            "--ids, attributes among those ids only: the best must clear its threshold and "
            "lead the second by a margin, else found is false."
        ),
    )
    detect.add_argument("file", metavar="FILE", help="the copy to examine")
    detect.add_argument("--key", required=True, help="the secret the mark was drawn from")
    detect.add_argument("--ids", metavar="N,N,...", help="the ids that were issued")
    detect.add_argument(
        "--progress",
        action="store_true",
        help="print 'progress 0.42' lines on stderr, at most four a second",
    )


def parse_ids(text: str) -> list[int]:
    ids = []
    for part in text.split(","):
        try:
            ids.append(int(part.strip()))
        except ValueError:
            raise WatermarkInvalid(f"--ids: {part.strip()!r} is not an integer id") from None
    return ids


def run(args: argparse.Namespace) -> int:
    """Embed or detect, print the report; bad input raises ``AudioError`` (the caller's exit 2)."""
    progress = ProgressPrinter() if args.progress else None
    if args.action == "embed":
        report = embed_file(args.input, Path(args.out), args.key, args.id, on_progress=progress)
    else:
        ids = parse_ids(args.ids) if args.ids is not None else None
        report = detect_file(args.file, args.key, ids, on_progress=progress)
    sys.stdout.write(json.dumps(report, allow_nan=False) + "\n")
    sys.stdout.flush()
    return 0
