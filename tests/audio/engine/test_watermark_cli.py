"""``python -m audio.engine watermark``: the contract's reports, the strength criterion measured
on the written file, bad input (exit 2, one ``error:`` line, no file left), the same bytes
twice, progress lines."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.engine.io import read_all, write_mp3, write_wav
from audio.engine.loudness import measure
from audio.engine.watermark import mark
from tests.audio.engine.test_watermark_signals import music

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
RATE = 44100
KEY = "label secret"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audio.engine", "watermark", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("wm")
    src = folder / "mix.wav"
    write_wav(src, music(RATE, 70, seed=21), RATE, 24)
    out = folder / "marked.wav"
    done = run("embed", str(src), str(out), "--key", KEY, "--id", "4242")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return {"src": src, "out": out, "report": folder / "report.json", "folder": folder} | {
        "stdout": _keep(folder, done.stdout)
    }


def _keep(folder: Path, text: str) -> Path:
    path = folder / "embed.json"
    path.write_text(text)
    return path


def test_help_exits_0() -> None:
    for args in ((), ("embed",), ("detect",)):
        done = run(*args, "--help")
        assert done.returncode == 0
    assert "--ids" in run("detect", "--help").stdout
    assert "--id" in run("embed", "--help").stdout


def test_embed_report_and_strength_criterion(files: dict[str, Path]) -> None:
    """Report {id, strength, snr_db}; the file differs >= 35 dB below the programme (overall
    and in every 0.1 s window that holds sound), loudness within 0.1 LU, same rate, channels
    and length."""
    report = json.loads(files["stdout"].read_text())
    assert set(report) == {"id", "strength", "snr_db"}
    assert report["id"] == 4242
    assert 0 < report["strength"] <= mark.MAX_STRENGTH
    src, out = read_all(files["src"]), read_all(files["out"])
    assert out.sample_rate == src.sample_rate and out.samples.shape == src.samples.shape
    x = src.samples.astype(np.float64)
    d = out.samples.astype(np.float64) - x
    snr = 10 * np.log10(np.square(x).sum() / np.square(d).sum())
    assert snr >= 35.0
    assert abs(snr - report["snr_db"]) < 0.05
    win = RATE // 10
    n = x.shape[1] // win * win
    px = np.square(x[:, :n]).sum(axis=0).reshape(-1, win).sum(axis=1)
    pd = np.square(d[:, :n]).sum(axis=0).reshape(-1, win).sum(axis=1)
    sounding = px > win * 1e-8  # above -80 dBFS
    assert sounding.sum() > 0.8 * len(px)
    per_window = 10 * np.log10(px[sounding] / np.maximum(pd[sounding], 1e-30))
    assert per_window.min() >= 35.0, per_window.min()
    before = measure(src.samples, RATE).integrated_lufs
    after = measure(out.samples, RATE).integrated_lufs
    assert before is not None and after is not None
    assert abs(after - before) < 0.1
    print(
        f"snr {snr:.2f} dB, worst window {per_window.min():.2f} dB, "
        f"loudness change {after - before:+.4f} LU, strength {report['strength']}"
    )


def test_detect_reports(files: dict[str, Path], tmp_path: Path) -> None:
    """Found with the key (blind and among ids), not found unmarked, with another key, or
    when 4242 was not issued."""
    # a leaked copy: MP3 128k of a 60 s excerpt
    marked = read_all(files["out"])
    leak = tmp_path / "leak.mp3"
    write_mp3(leak, marked.samples[:, 5 * RATE : 65 * RATE], RATE, quality=128)
    cases = [
        ((str(leak), "--key", KEY), {"found": True, "id": 4242}),
        ((str(leak), "--key", KEY, "--ids", "1,4242,4243"), {"found": True, "id": 4242}),
        ((str(leak), "--key", KEY, "--ids", "4241,4243, 9"), {"found": False, "id": None}),
        ((str(leak), "--key", KEY + "x"), {"found": False, "id": None}),
        ((str(files["src"]), "--key", KEY), {"found": False, "id": None}),
        ((str(files["src"]), "--key", KEY, "--ids", "4242"), {"found": False, "id": None}),
    ]
    for args, expected in cases:
        done = run("detect", *args)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert set(report) == {"found", "id", "confidence"}
        assert {k: report[k] for k in expected} == expected, (args, report)
        assert 0.0 <= report["confidence"] <= 1.0
        assert (report["confidence"] > 0.9) == report["found"]


def test_same_bytes_twice_and_progress(files: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again.wav"
    done = run("embed", str(files["src"]), str(again), "--key", KEY, "--id", "4242", "--progress")
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith("progress ") for line in lines)
    assert lines[-1] == "progress 1.00"
    digest = hashlib.sha256
    assert digest(again.read_bytes()).digest() == digest(files["out"].read_bytes()).digest()
    other = tmp_path / "other.wav"
    assert run("embed", str(files["src"]), str(other), "--key", KEY, "--id", "4243").returncode == 0
    assert digest(other.read_bytes()).digest() != digest(files["out"].read_bytes()).digest()


def test_float_input_is_written_as_float(tmp_path: Path) -> None:
    src = tmp_path / "f.wav"
    sf.write(src, music(RATE, 8, seed=2).T, RATE, subtype="FLOAT")
    out = tmp_path / "o.wav"
    assert run("embed", str(src), str(out), "--key", "k", "--id", "1").returncode == 0
    assert sf.info(out).subtype == "FLOAT"


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("embed", "{src}", "{out}", "--key", "k", "--id", "-1"), "--id: -1"),
        (("embed", "{src}", "{out}", "--key", "k", "--id", "4294967296"), "--id: 4294967296"),
        (("embed", "{src}", "{out}", "--key", "k", "--id", "x"), "--id"),
        (("embed", "{src}", "{out}", "--key", "", "--id", "1"), "--key"),
        (("embed", "{src}", "{out}", "--id", "1"), "--key"),
        (("embed", "{src}", "{folder}/o.mp3", "--key", "k", "--id", "1"), "o.mp3"),
        (("embed", "{folder}/missing.wav", "{out}", "--key", "k", "--id", "1"), "missing.wav"),
        (("embed", "{bad}", "{out}", "--key", "k", "--id", "1"), "bad.wav"),
        (("detect", "{src}", "--key", "k", "--ids", "1,x"), "--ids: 'x'"),
        (("detect", "{src}", "--key", "k", "--ids", "1,-5"), "--ids: -5"),
        (("detect", "{folder}/missing.wav", "--key", "k"), "missing.wav"),
        (("detect", "{src}"), "--key"),
        (("frobnicate", "{src}"), "frobnicate"),
    ],
)
def test_bad_input_exits_2(args: tuple[str, ...], names: str, tmp_path: Path) -> None:
    """One ``error:`` line naming the field or file and the value; no output left behind."""
    src = tmp_path / "src.wav"
    write_wav(src, music(RATE, 2, seed=1), RATE, 16)
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    before = set(tmp_path.iterdir())
    filled = [
        a.format(src=src, out=tmp_path / "out.wav", folder=tmp_path, bad=tmp_path / "bad.wav")
        for a in args
    ]
    done = run(*filled)
    assert done.returncode == 2, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert names in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert set(tmp_path.iterdir()) == before
