"""Engine benchmark (not a test): ``python -m tests.bench.bench_engine``.

Reports, as ratios against peers measured in the same run, on a generated 4-minute stereo
44.1 kHz 24-bit programme: full analysis in a warm process vs ffmpeg ``ebur128=peak=true``
(whole process) and vs pyloudnorm (integrated only, in process, audio already in memory); and
the peak memory of analysing a 4-minute and a 60-minute file, each in a fresh child process.
Targets: analysis <= 0.5x ffmpeg; peak memory < 100 MiB and flat from 4 to 60 minutes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import soundfile as sf

from audio.engine.analysis import analyze_file
from audio.engine.io import read_all, write_wav

ROOT = Path(__file__).resolve().parents[2]
RATE = 44100
# VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from the forking parent's.
MEMORY_CHILD = (
    "import json, re, sys\n"
    "def hwm():\n"
    "    status = open('/proc/self/status').read()\n"
    "    return int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) / 1024\n"
    "from audio.engine.analysis import analyze_file\n"
    "before = hwm()\n"
    "analyze_file(sys.argv[1], with_peaks=True)\n"
    "print(json.dumps({'imports_mib': before, 'peak_mib': hwm()}))\n"
)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def child_memory(path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def make_files(folder: Path) -> tuple[Path, Path]:
    from tests.audio.engine.signals import programme

    four = folder / "prog-4min.wav"
    x = programme(RATE, 240, seed=7, level=0.9)
    write_wav(four, x, RATE, 24)
    hour = folder / "prog-60min.wav"
    with sf.SoundFile(hour, "w", RATE, 2, "PCM_24") as out:
        block = read_all(four).samples.T
        for _ in range(15):
            out.write(block)
    return four, hour


def main() -> None:
    ffmpeg = shutil.which("ffmpeg")
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        four, hour = make_files(Path(tmp))
        analyze_file(four)  # warm: imports, caches
        studio = best_of(3, lambda: analyze_file(four, with_peaks=True))
        report = analyze_file(four, with_peaks=False)
        rows = [
            f"material: 4-minute stereo {RATE} Hz 24-bit programme; "
            f"I {report.integrated_lufs:.2f} LUFS, LRA {report.loudness_range_lu:.2f} LU, "
            f"TP {report.true_peak_dbtp:.2f} dBTP"
        ]
        if ffmpeg:
            cmd = [
                ffmpeg,
                "-hide_banner",
                "-nostats",
                "-i",
                str(four),
                "-af",
                "ebur128=peak=true",
                "-f",
                "null",
                "-",
            ]
            peer = best_of(3, lambda: subprocess.run(cmd, capture_output=True, check=True))
            rows.append(
                f"analysis_vs_ffmpeg_ebur128: {studio / peer:.2f}x "
                f"(studio {studio:.2f} s, ffmpeg {peer:.2f} s; target <= 0.5x)"
            )
        else:
            rows.append("analysis_vs_ffmpeg_ebur128: skipped (no ffmpeg on PATH)")
        try:
            import pyloudnorm

            data = read_all(four).samples.T.astype("float64")
            meter = pyloudnorm.Meter(RATE)
            peer = best_of(3, lambda: meter.integrated_loudness(data))
            rows.append(
                f"analysis_vs_pyloudnorm_integrated: {studio / peer:.2f}x "
                f"(studio full analysis {studio:.2f} s, pyloudnorm {peer:.2f} s)"
            )
        except ImportError:
            rows.append("analysis_vs_pyloudnorm_integrated: skipped (pyloudnorm missing)")
        mem4, mem60 = child_memory(four), child_memory(hour)
        rows.append(
            f"peak_memory_4min: {mem4['peak_mib']:.0f} MiB "
            f"(of which imports {mem4['imports_mib']:.0f} MiB; target < 100)"
        )
        rows.append(
            f"peak_memory_60min: {mem60['peak_mib']:.0f} MiB "
            f"(ratio 60/4 min {mem60['peak_mib'] / mem4['peak_mib']:.2f}x; target 1.0x)"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
