"""``python -m audio.engine deliver RELEASE.json OUTDIR``: the command line of ``deliver``.

A track's ``source`` and the ``artwork`` are file paths, absolute or relative to the release
file's folder. OUTDIR must not exist (or be an empty folder); it appears only when whole.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from audio.engine.deliver.release import FORMATS, MP3_BITRATES, Release, ReleaseInvalid
from audio.engine.deliver.run import deliver
from audio.engine.errors import AudioError
from audio.engine.io import read_spec_file
from audio.engine.progress_lines import ProgressPrinter

MAX_RELEASE_BYTES = 4 * 1024 * 1024


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "deliver",
        help="make a release's CD and distribution files (WAV, CUE, DDP, FLAC, MP3, QC)",
        description=(
            "Deliver a release (JSON, version 1: title, artist, upc, label, p_line, c_line, "
            "artwork, formats, mp3_bitrate, tracks [{source, title, artist, isrc, pregap_s, "
            "trim_start_s, trim_end_s, fade_in_s, fade_out_s, watermark_id}]) into OUTDIR: "
            "wav/NN Title.wav, album.wav + album.cue, ddp/ (DDP 2.0), flac/, mp3/ (tagged, "
            "with the cover), qc.json + qc.html and manifest.json (every file's size and "
            "SHA-256). Sources at any rate and depth are resampled (soxr VHQ) to 44.1 kHz, "
            "trimmed, faded and TPDF-dithered to 16 bit once, last; every track start and "
            "length falls on a 588-sample CD frame. Refused before any file is written: a bad "
            "ISRC (or one used twice), a UPC/EAN with a wrong GS1 check digit, a first pregap "
            "under 2 s, a track under 4 s, over 99 tracks or over 79:57 in all. "
            f"formats: {', '.join(FORMATS)}; mp3_bitrate: "
            f"{', '.join(str(b) for b in MP3_BITRATES)}. A QC fail does not stop delivery; "
            "qc.json says it at the top. Prints one JSON summary; bad input exits 2 with one "
            "'error:' line and leaves no OUTDIR."
        ),
    )
    parser.add_argument("release", metavar="RELEASE.json", help="the release")
    parser.add_argument("outdir", metavar="OUTDIR", help="the folder to make (must not exist)")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="print 'progress 0.42' lines on stderr, at most four a second",
    )


def read_release(path: Path) -> Release:
    return Release.from_json(read_spec_file(path, limit=MAX_RELEASE_BYTES, what="release"))


def run(args: argparse.Namespace) -> int:
    """Deliver, print the summary; every bad input raises ``AudioError`` (the caller's exit 2)."""
    path = Path(args.release)
    try:
        release = read_release(path)
        summary = deliver(
            release,
            path.resolve().parent,
            Path(args.outdir),
            on_progress=ProgressPrinter() if args.progress else None,
        )
    except ReleaseInvalid as exc:
        raise AudioError(exc.one_line(), code=exc.code) from None
    sys.stdout.write(json.dumps(summary, allow_nan=False) + "\n")
    sys.stdout.flush()
    return 0
