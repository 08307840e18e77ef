"""The CLI contract: JSON and exit 0, or one 'error:' line and exit 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audio.engine.io import write_mp3, write_wav
from tests.audio.engine.files import wav_bytes
from tests.audio.engine.signals import sine

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
REQUIRED = [
    "duration_s",
    "sample_rate",
    "channels",
    "integrated_lufs",
    "loudness_range_lu",
    "momentary_max_lufs",
    "short_term_max_lufs",
    "true_peak_dbtp",
    "sample_peak_dbfs",
]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audio.engine", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_analyze_prints_one_json_object(tmp_path: Path) -> None:
    """analyze FILE prints the required keys; --peaks adds the waveform peaks."""
    path = tmp_path / "a.wav"
    write_wav(path, sine(48000, 4, -23.0), 48000)
    done = cli("analyze", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    report = json.loads(done.stdout)
    assert all(key in report for key in REQUIRED)
    assert "peaks" not in report
    assert report["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    with_peaks = json.loads(cli("analyze", str(path), "--peaks").stdout)
    assert with_peaks["peaks"]["levels"]


def test_silent_file_gives_null_loudness(tmp_path: Path) -> None:
    """Silence is not an error: integrated_lufs is null."""
    path = tmp_path / "s.wav"
    path.write_bytes(wav_bytes(frames=48000))
    done = cli("analyze", str(path))
    assert done.returncode == 0
    assert json.loads(done.stdout)["integrated_lufs"] is None


def test_mp3_is_quiet_on_stderr(tmp_path: Path) -> None:
    """libsndfile's MP3 notes never reach stderr."""
    path = tmp_path / "a.mp3"
    write_mp3(path, sine(44100, 2, -10.0), 44100)
    done = cli("analyze", str(path))
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: file not found"),
        (b"not audio at all", "error: not a WAV, AIFF, FLAC, MP3 or Ogg Vorbis file"),
        (
            wav_bytes()[:24] + b"\xff\xff\xff\xff" + wav_bytes()[28:],
            "error: sample rate 4294967295 Hz outside 8000-192000",
        ),
        (wav_bytes()[:22] + b"\xff\xff" + wav_bytes()[24:], "error: 65535 channels outside 1-8"),
        (wav_bytes()[:100], "error: data chunk claims"),
        (b"", "error: the file is empty"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """Missing, unsupported, absurd and truncated files: exit 2, one 'error:' line."""
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    done = cli("analyze", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(message), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_usage_errors_and_help() -> None:
    """Usage mistakes are exit 2 with one 'error:' line; --help explains and exits 0."""
    done = cli()
    assert done.returncode == 2 and done.stderr.startswith("error:")
    assert done.stderr.count("\n") == 1
    helped = cli("analyze", "--help")
    assert helped.returncode == 0 and "--peaks" in helped.stdout and "JSON" in helped.stdout
