"""Watermark benchmark (not a test): ``python -m tests.bench bench_watermark``.

A 4-minute stereo programme (the watermark tests' generated music, 48 kHz, 24-bit WAV) is
marked by ``watermark embed`` in a child process; the marked file is encoded to MP3 at
128 kbit/s (LAME through pedalboard), decoded, cut by 20 s at both ends (3:20 left) and saved
as 16-bit WAV, and ``watermark detect`` looks for the mark in it in another child process,
blind and with 1000 issued ids; a second leak is played 2 % fast (resampled 51 -> 50, scipy)
before the same MP3 and cut. Wall time is the child's time inside the command (imports
excluded, as bench_deliver does). Targets (issue 15): embed <= 5 s, detect <= 10 s. There is no
peer in the same run: the watermarkers we know of are GPL (not allowed here), so the figures
are against the issue's targets. Measured here (2 shared cores, load about 2), with the speed
search on: embed 1.39 s, detect after the MP3 and the cut 1.86 s blind (1.06 s before the
search), 1.76 s among 1000 issued ids, 1.62 s for the copy played 2 % fast; found, confidence
1.0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RATE = 48000
MINUTES = 4
KEY = "bench key"
RECIPIENT = 271828

MAKE = (
    "import sys\n"
    "from audio.engine.io import write_wav\n"
    "from tests.audio.engine.test_watermark_signals import music\n"
    "write_wav(sys.argv[1], music(int(sys.argv[2]), 60 * int(sys.argv[3]), seed=5), "
    "int(sys.argv[2]), 24)\n"
)

ATTACK = (
    "import sys\n"
    "import soundfile as sf\n"
    "from scipy.signal import resample_poly\n"
    "from audio.engine.io import read_all, write_mp3, write_wav\n"
    "a = read_all(sys.argv[1])\n"
    "up, down = int(sys.argv[4]), int(sys.argv[5])\n"
    "x = resample_poly(a.samples, up, down, axis=1) if up != down else a.samples\n"
    "write_mp3(sys.argv[2], x, a.sample_rate, quality=128)\n"
    "x, r = sf.read(sys.argv[2], dtype='float32', always_2d=True)\n"
    "write_wav(sys.argv[3], x.T[:, 20 * r : -20 * r], r, 16)\n"
)

CHILD = (
    "import json, os, sys, time\n"
    "for name in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):\n"
    "    os.environ.setdefault(name, '1')\n"
    "from audio.engine.cli import main\n"
    "import audio.engine.watermark.run, soxr, pedalboard\n"
    "start = time.perf_counter()\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'wall_s': time.perf_counter() - start}), file=sys.stderr)\n"
)


def child(*args: str) -> tuple[dict[str, object], float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    timing = json.loads(done.stderr.strip().splitlines()[-1])
    assert timing["code"] == 0, done.stderr
    return json.loads(done.stdout), float(timing["wall_s"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src, out = folder / "track.wav", folder / "marked.wav"
        mp3, leak = folder / "leak.mp3", folder / "leak.wav"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", MAKE, str(src), str(RATE), str(MINUTES)], cwd=ROOT, check=True
        )
        print(
            f"made a {MINUTES}-minute 48 kHz stereo track in {time.perf_counter() - started:.1f} s"
        )
        report, embed_s = child(
            "watermark", "embed", str(src), str(out), "--key", KEY, "--id", str(RECIPIENT)
        )
        verdict = "meets" if embed_s <= 5.0 else "MISSES"
        print(f"embed: {embed_s:.2f} s ({verdict} the target <= 5 s); report {report}")
        subprocess.run(
            [sys.executable, "-c", ATTACK, str(out), str(mp3), str(leak), "1", "1"],
            cwd=ROOT,
            check=True,
        )
        attack = "MP3 128 kbit/s (LAME), decoded, first and last 20 s cut (3:20 left)"
        found, detect_s = child("watermark", "detect", str(leak), "--key", KEY)
        verdict = "meets" if detect_s <= 10.0 else "MISSES"
        print(f"detect after {attack}: {detect_s:.2f} s ({verdict} the target <= 10 s); {found}")
        ids = ",".join(str(i) for i in [*range(RECIPIENT - 500, RECIPIENT + 500)])
        found_ids, ids_s = child("watermark", "detect", str(leak), "--key", KEY, "--ids", ids)
        verdict = "meets" if ids_s <= 10.0 else "MISSES"
        print(f"detect with 1000 issued ids: {ids_s:.2f} s ({verdict} the target); {found_ids}")
        fast = folder / "fast.wav"
        subprocess.run(
            [sys.executable, "-c", ATTACK, str(out), str(mp3), str(fast), "50", "51"],
            cwd=ROOT,
            check=True,
        )
        found_fast, fast_s = child("watermark", "detect", str(fast), "--key", KEY)
        verdict = "meets" if fast_s <= 10.0 else "MISSES"
        print(f"detect played 2 % fast, then {attack}: {fast_s:.2f} s ({verdict}); {found_fast}")
        ids_found = [r.get("id") for r in (found, found_ids, found_fast)]
        if ids_found != [RECIPIENT] * 3:
            raise RuntimeError(f"the mark was not found: {found} {found_ids} {found_fast}")
