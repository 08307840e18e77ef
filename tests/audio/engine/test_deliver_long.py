"""Streaming: an album of 20 tracks does not need 20 tracks in memory. A 20-track album peaks
at about the memory of a 2-track album of the same tracks (each delivered in a fresh child
process, all formats), where holding the tracks would add 10 MiB a track."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from audio.engine.io import write_wav
from tests.audio.engine.signals import programme

pytestmark = [pytest.mark.engine, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SECONDS = 30  # 10 MiB a track as float32 stereo at 44.1 kHz, 5 MiB as 16-bit PCM

CHILD = (
    "import json, re, sys\n"
    "def hwm():\n"
    "    return int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read())"
    ".group(1)) / 1024\n"
    "from audio.engine.cli import main\n"
    "import audio.engine.deliver.run, pedalboard, mutagen.id3, mutagen.flac\n"
    "before = hwm()\n"
    "code = main(['deliver', sys.argv[1], sys.argv[2]])\n"
    "print(json.dumps({'code': code, 'before': before, 'peak': hwm()}), file=sys.stderr)\n"
)


def peak_mib(folder: Path, tracks: int, name: str) -> float:
    release = {
        "version": 1,
        "title": "Long",
        "artist": "Ava",
        "upc": "036000291452",
        "tracks": [
            {"source": f"m{i % 4}.wav", "title": f"T{i}", "isrc": f"USRC1760{7800 + i}"}
            for i in range(tracks)
        ],
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(release))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(folder / name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3000,
        check=True,
    )
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    assert figures["code"] == 0
    return float(figures["peak"])


def test_twenty_tracks_peak_like_two(tmp_path: Path) -> None:
    for i in range(4):
        write_wav(tmp_path / f"m{i}.wav", programme(48000, SECONDS, seed=i), 48000, 24)
    two = peak_mib(tmp_path, 2, "two")
    twenty = peak_mib(tmp_path, 20, "twenty")
    album = tmp_path / "twenty/album.wav"
    assert album.stat().st_size > 20 * SECONDS * 44100 * 4
    assert re.search(r"TRACK 20 AUDIO", (tmp_path / "twenty/album.cue").read_text())
    assert twenty - two < 20, (two, twenty)  # holding 18 more tracks would add 90-180 MiB
