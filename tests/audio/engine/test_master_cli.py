"""``python -m audio.engine master``: help, bad input (exit 2, one ``error:`` line, no file
left), the same bytes twice, progress lines and the pre-limiter file."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from audio.engine.io import write_wav
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
RATE = 44100


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audio.engine", "master", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def mix(tmp_path: Path) -> Path:
    path = tmp_path / "mix.wav"
    write_wav(path, programme(RATE, 3.0, seed=7), RATE, 24)
    return path


def test_help_exits_0() -> None:
    done = run("--help")
    assert done.returncode == 0
    for flag in (
        "--target-lufs",
        "--ceiling-dbtp",
        "--preset",
        "--reference",
        "--intensity",
        "--prelimiter",
        "--bit-depth",
        "--progress",
        "--eq-phase",
        "--multiband",
        "--multiband-low",
        "--multiband-mid",
        "--multiband-high",
    ):
        assert flag in done.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--target-lufs", "-40"], "--target-lufs"),
        (["--target-lufs", "-4"], "--target-lufs"),
        (["--ceiling-dbtp", "0.5"], "--ceiling-dbtp"),
        (["--ceiling-dbtp", "-10"], "--ceiling-dbtp"),
        (["--preset", "napster"], "--preset"),
        (["--bit-depth", "8"], "--bit-depth"),
        (["--intensity", "150"], "--intensity"),
        (["--width", "-5"], "--width"),
        (["--target-lufs", "loud"], "--target-lufs"),
    ],
)
def test_bad_options_exit_2_and_leave_nothing(
    tmp_path: Path, mix: Path, args: list[str], named: str
) -> None:
    out = tmp_path / "out.wav"
    done = run(str(mix), str(out), *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix.wav"]


def test_bad_input_files_exit_2_and_leave_nothing(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnonsense" * 10)
    silent = tmp_path / "silent.wav"
    write_wav(silent, programme(RATE, 1.0) * 0, RATE, 24)
    for src in (tmp_path / "missing.wav", garbage, silent):
        done = run(str(src), str(tmp_path / "out.wav"), "--prelimiter")
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error:") and len(done.stderr.strip().splitlines()) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.wav", "silent.wav"]


def test_same_input_and_settings_give_the_same_bytes(tmp_path: Path, mix: Path) -> None:
    digests = []
    for name in ("a.wav", "b.wav"):
        done = run(str(mix), str(tmp_path / name), "--bit-depth", "16", "--preset", "spotify")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_report_progress_and_prelimiter(tmp_path: Path, mix: Path) -> None:
    out = tmp_path / "m.wav"
    done = run(str(mix), str(out), "--preset", "amazon", "--prelimiter", "--progress")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["target_lufs"], report["ceiling_dbtp"]) == (-14.0, -2.0)
    assert report["output"]["true_peak_accurate_dbtp"] <= -2.0
    assert report["output"]["frames"] == report["input"]["frames"]
    assert (tmp_path / "m.prelimiter.wav").exists()
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith("progress ") for line in lines)
    assert lines[-1] == "progress 1.00"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.prelimiter.wav", "m.wav", "mix.wav"]


def test_explicit_flags_override_the_preset(tmp_path: Path, mix: Path) -> None:
    done = run(str(mix), str(tmp_path / "o.wav"), "--preset", "apple", "--target-lufs", "-18")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["target_lufs"], report["ceiling_dbtp"]) == (-18.0, -1.0)
    assert abs(report["output"]["integrated_lufs"] + 18.0) <= 0.2


def test_the_whole_chain_still_meets_target_and_ceiling(tmp_path: Path, mix: Path) -> None:
    out = tmp_path / "chain.wav"
    done = run(
        str(mix),
        str(out),
        "--eq",
        "peak:1000:3:1",
        "--eq",
        "highpass:30",
        "--compressor=-20:2:5:40",
        "--saturation",
        "3",
        "--width",
        "120",
        "--bit-depth",
        "16",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [s["type"] for s in report["stages"]] == [
        "eq",
        "compressor",
        "saturation",
        "width",
        "limiter",
    ]
    assert report["output"]["frames"] == report["input"]["frames"]
    assert abs(report["output"]["integrated_lufs"] + 14.0) <= 0.2
    assert report["output"]["true_peak_accurate_dbtp"] <= -1.0
    assert {round(f): g for f, g in report["eq_curve"]}[1000] == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--eq", "bell:1000:3"], "--eq"),
        (["--eq", "peak:5:3"], "--eq"),
        (["--eq", "peak:1000:x"], "--eq"),
        (["--compressor=-20:50"], "--compressor"),
        (["--saturation", "30"], "--saturation"),
        (["--reference", "ref.wav"], "--reference"),
    ],
)
def test_bad_stage_settings_exit_2(tmp_path: Path, mix: Path, args: list[str], named: str) -> None:
    done = run(str(mix), str(tmp_path / "out.wav"), *args)
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and named in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix.wav"]
