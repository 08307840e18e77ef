"""``python -m audio.engine deliver``: the summary and exit 0, progress lines, and for every bad
input (the release, a Red Book limit, a source, the artwork, OUTDIR) exit 2 with one ``error:``
line naming the field or file, no traceback, and no OUTDIR or staging folder left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio.engine.io import write_wav
from tests.audio.engine.deliver_fixtures import album_folder, base_release, png, write_float
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
RATE = 44100


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audio.engine", "deliver", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name == "out" or p.suffix == ".part")


def test_help_exits_0() -> None:
    done = cli("--help")
    assert done.returncode == 0
    for word in ("RELEASE.json", "OUTDIR", "--progress", "79:57", "DDP", "ISRC", "GS1"):
        assert word in done.stdout


def test_deliver_prints_the_summary_and_progress(tmp_path: Path) -> None:
    release = album_folder(tmp_path)
    done = cli(str(release), str(tmp_path / "out"), "--progress")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [t["number"] for t in summary["tracks"]] == [1, 2, 3]
    assert summary["tracks"][1]["isrc"] == "USRC17607840"
    assert summary["qc"]["status"] in ("pass", "warn", "fail")
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith("progress ") for line in lines)
    assert lines[-1] == "progress 1.00"
    fractions = [float(line.split()[1]) for line in lines]
    assert fractions == sorted(fractions)
    assert (tmp_path / "out/manifest.json").exists() and left(tmp_path) == ["out"]
    quiet = cli(str(release), str(tmp_path / "out2"))
    assert quiet.returncode == 0 and quiet.stderr == ""


def write_release(folder: Path, data: Any) -> Path:
    path = folder / "release.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.fixture
def masters(tmp_path: Path) -> Path:
    write_wav(tmp_path / "a.wav", programme(RATE, 5.0, seed=1), RATE, 16)
    write_wav(tmp_path / "short.wav", programme(RATE, 3.9, seed=2), RATE, 16)
    write_float(tmp_path / "six.wav", np.zeros((6, RATE * 5), dtype=np.float32), RATE)
    (tmp_path / "cover.png").write_bytes(png(8, 8))
    (tmp_path / "fake.png").write_bytes(b"GIF89a" + bytes(100))
    return tmp_path


def one(source: str = "a.wav", **extra: Any) -> list[dict[str, Any]]:
    return [{"source": source, "title": "A", "isrc": "USRC17607839", **extra}]


CASES: dict[str, tuple[Any, str]] = {
    "bad json": ("{", "error: release: malformed JSON at line 1"),
    "isrc": (
        base_release(one(isrc="USRC1760783X")),
        "error: tracks[0].isrc: 'USRC1760783X' is not an ISRC",
    ),
    "upc": (
        base_release(one(), upc="036000291453"),
        "error: upc: '036000291453' has a wrong GS1 check digit: 3, where 2 is expected",
    ),
    "pregap": (
        base_release(one(pregap_s=1.5)),
        "error: tracks[0].pregap_s: 1.5 s is under the 2 s pregap the first track",
    ),
    "short track": (
        base_release(one("short.wav")),
        "error: tracks[0]: 3.90 s after trims is shorter than the 4 s a CD track must last",
    ),
    "trimmed short": (
        base_release(one(trim_end_s=1.5)),
        "error: tracks[0]: 3.50 s after trims is shorter than the 4 s",
    ),
    "too many tracks": (
        base_release([{"source": "a.wav", "title": str(i)} for i in range(100)]),
        "error: tracks: 100 tracks is over the 99 a CD holds (Red Book)",
    ),
    "too long": (
        base_release([{"source": "a.wav", "title": str(i), "pregap_s": 50} for i in range(99)]),
        "error: tracks: the programme lasts 90:45 with its pregaps, over the 79:57",
    ),
    "missing source": (
        base_release(one("nope.wav")),
        "error: tracks[0].source: nope.wav: ",
    ),
    "six channels": (
        base_release(one("six.wav")),
        "error: tracks[0].source: six.wav: 6 channels; a master is mono or stereo",
    ),
    "missing artwork": (
        base_release(one(), artwork="none.png"),
        "error: artwork: none.png: file not found",
    ),
    "fake artwork": (
        base_release(one(), artwork="fake.png"),
        "error: artwork: fake.png is not a PNG image",
    ),
    "duplicate isrc": (
        base_release(one() + one()),
        "error: tracks[1].isrc: USRC17607839 is already the ISRC of tracks[0]",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line_and_leaves_nothing(masters: Path, case: str) -> None:
    data, message = CASES[case]
    if isinstance(data, dict) and data.get("artwork") == "cover.jpg":
        data["artwork"] = "cover.png"
    release = write_release(masters, data)
    done = cli(str(release), str(masters / "out"))
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(message), lines[0]
    assert left(masters) == []


def test_an_existing_outdir_is_refused(masters: Path) -> None:
    release = write_release(masters, base_release(one(), artwork="cover.png"))
    (masters / "out").mkdir()
    (masters / "out/keep.txt").write_text("mine")
    done = cli(str(release), str(masters / "out"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "already exists" in done.stderr
    assert sorted(p.name for p in (masters / "out").iterdir()) == ["keep.txt"]
    (masters / "out/keep.txt").unlink()
    assert cli(str(release), str(masters / "out")).returncode == 0  # an empty folder is fine


def test_a_missing_release_file(tmp_path: Path) -> None:
    done = cli(str(tmp_path / "none.json"), str(tmp_path / "out"))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "not found" in done.stderr
