"""A 60-minute stereo master in bounded memory (marked slow: minutes on two idle cores, over
half an hour on a loaded machine).

Each length is mastered in a fresh child process, with the lossy checks, and the child reads
its own peak resident memory (VmHWM: per process image, where a child's ru_maxrss would start
from the forking parent's). What may grow with length is the limiter's per-unit detection (8
bytes per 16 frames: 74 MB more for 56 more minutes at 44.1 kHz) and the per-interval
figures; everything else streams. A master that held its programme would need 1.3 GB more at
60 minutes (float32 stereo) and fail this by far.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.audio.engine.signals import programme

pytestmark = [pytest.mark.engine, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
RATE = 44100
SEGMENT_S = 30
UNIT_BYTES_PER_FRAME = 8 / 16  # the limiter's detection: peak and energy per 16-frame unit
SLACK_MIB = 40.0

CHILD = """
import json, re, sys, time
def hwm():
    status = open('/proc/self/status').read()
    return int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) / 1024
from pathlib import Path
from audio.engine.mastering.master import MasterSettings, master_file
import pedalboard.io, scipy.signal, scipy.fft  # imported before the baseline
before = hwm()
start = time.perf_counter()
report = master_file(sys.argv[1], sys.argv[2], MasterSettings(target_lufs=-18.0))
print(json.dumps({'before_mib': before, 'peak_mib': hwm(), 'seconds': time.perf_counter() - start,
                  'frames': report['output']['frames'], 'met': report['target_met'],
                  'tp': report['output']['true_peak_accurate_dbtp'],
                  'lufs': report['output']['integrated_lufs'],
                  'timeline': len(report['gain_reduction']['db']),
                  'mp3': report['lossy']['mp3_320']['true_peak_dbtp']}))
"""


def _write_long(path: Path, minutes: int) -> None:
    """``minutes`` of stereo: a 30 s programme repeated, each repeat at its own level."""
    segment = programme(RATE, SEGMENT_S, seed=11, level=0.5).T
    gains = 0.6 + 0.4 * np.abs(np.sin(np.arange(minutes * 60 // SEGMENT_S)))
    with soundfile.SoundFile(path, "w", RATE, 2, subtype="PCM_24") as f:
        for gain in gains:
            f.write(segment * gain)


def _master(tmp_path: Path, minutes: int) -> dict[str, float]:
    src = tmp_path / f"in{minutes}.wav"
    _write_long(src, minutes)
    out = tmp_path / f"out{minutes}.wav"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=7200,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    src.unlink()
    out.unlink()
    return figures


def test_a_60_minute_master_stays_in_bounded_memory(tmp_path: Path) -> None:
    short = _master(tmp_path, 4)
    long = _master(tmp_path, 60)
    assert long["frames"] == 60 * 60 * RATE
    assert long["met"] and abs(long["lufs"] + 18.0) <= 0.2 and long["tp"] <= -1.0
    assert long["timeline"] == 60 * 60 * 2
    assert long["mp3"] is not None  # the lossy check ran on the whole hour
    growth = (long["peak_mib"] - long["before_mib"]) - (short["peak_mib"] - short["before_mib"])
    allowed = (long["frames"] - short["frames"]) * UNIT_BYTES_PER_FRAME / 2**20 + SLACK_MIB
    print(
        f"4 min: {short['peak_mib'] - short['before_mib']:.0f} MiB over imports, "
        f"{short['seconds']:.0f} s; 60 min: {long['peak_mib'] - long['before_mib']:.0f} MiB, "
        f"{long['seconds']:.0f} s; growth {growth:.0f} MiB (allowed {allowed:.0f})"
    )
    assert growth <= allowed
