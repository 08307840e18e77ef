"""Master benchmark (not a test): ``python -m tests.bench bench_master``.

Peer: Matchering 2.0.6, installed for this bench only, in its own virtual environment
(``var/bench/matchering-venv``, made here with ``python3 -m venv`` and pip on first use; never
a dependency of Studio). Material, synthesised here and written once as 24-bit 44.1 kHz
stereo WAVs: a 4-minute mix (a 30 s programme repeated at changing levels, its sections
levelled as a compressed mix's are, peaking at -6 dBFS) and a reference made from another
programme (brighter, wider, soft-clipped to -17 LUFS: under the loudest the matched mix reaches
with 12 dB of limiting). Both tools do the same job: match the mix to the reference (tone,
width, loudness) and limit it. Each run is a fresh child process that reads its own peak
resident memory (VmHWM); figures are ratios measured in the same run (the machine is noisy):

- wall time of the mastering call, ours / Matchering's. Target <= 0.3x. Ours includes what
  Matchering does not do: measuring the written master, the MP3 encode and decode check (run
  beside the write pass, in two overlapping pieces encoded at once, a thread each). The same
  check run alone, after the fact, is timed too: LAME's 320 kbit/s encode is a floor under
  our figure. The CPU time of each call (all its threads) is shown beside: on a machine
  whose cores are busy with other work, the wall time follows it.
- peak memory of the process, ours / Matchering's. Target <= 0.15x.
- the true peak of each output against our -1 dBTP ceiling, by our accurate meter (within
  0.05 dB of 32x oversampling), BS.1770-4's 4x figure, and ffmpeg's ``ebur128=peak=true``
  where ffmpeg is on PATH.
- the same at 20 minutes (Matchering refuses programmes over 15 minutes: its answer is shown).

Knobs: ``BENCH_MASTER_MINUTES`` (default 4), ``BENCH_MASTER_LONG_MINUTES`` (default 20).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
from scipy.signal import butter, sosfilt

from audio.engine.analysis import analyze_file
from audio.engine.loudness import LoudnessMeter
from tests.audio.engine.oracles import FFMPEG, ffmpeg_ebur128
from tests.audio.engine.signals import programme

ROOT = Path(__file__).resolve().parents[2]
RATE = 44100
SEGMENT_S = 30
CEILING = -1.0
REF_LUFS = -17.0
MATCHERING = "matchering==2.0.6"
VENV = ROOT / "var" / "bench" / "matchering-venv"
MINUTES = int(os.environ.get("BENCH_MASTER_MINUTES", "4"))
LONG_MINUTES = int(os.environ.get("BENCH_MASTER_LONG_MINUTES", "20"))

HWM = (
    "import json, os, re, sys, time\n"
    "def hwm():\n"
    "    status = open('/proc/self/status').read()\n"
    "    return int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) / 1024\n"
    "def cpu():\n"
    "    t = os.times()\n"
    "    return t.user + t.system\n"
)
OURS_CHILD = HWM + (
    "from audio.engine.memory import tune_malloc\n"
    "tune_malloc()  # as in the worker that masters and the engine's CLI\n"
    "from audio.engine.mastering.master import MasterSettings, master_file\n"
    "before = hwm()\n"
    "start, cpu0 = time.perf_counter(), cpu()\n"
    "settings = MasterSettings(references=(sys.argv[2],), ceiling_dbtp=float(sys.argv[4]))\n"
    "report = master_file(sys.argv[1], sys.argv[3], settings)\n"
    "took, cpu_s = time.perf_counter() - start, cpu() - cpu0\n"
    "peak = hwm()\n"
    "from pathlib import Path\n"
    "from audio.engine.mastering.master import aac_check, lossy_check\n"
    "again = time.perf_counter()\n"
    "lossy_check(Path(sys.argv[3]), 44100, 2)\n"
    "aac_check(Path(sys.argv[3]), 44100, 2)\n"
    "lossy_s = time.perf_counter() - again\n"
    "print(json.dumps({'imports_mib': before, 'peak_mib': peak, 'seconds': took,\n"
    "                  'cpu_s': cpu_s, 'lossy_s': lossy_s,\n"
    "                  'target_lufs': report['target_lufs'], 'met': report['target_met'],\n"
    "                  'passes': report['passes'], 'mp3': report['lossy']['mp3_320']}))\n"
)
MATCHERING_CHILD = HWM + (
    "import matchering as mg\n"
    "before = hwm()\n"
    "start, cpu0 = time.perf_counter(), cpu()\n"
    "try:\n"
    "    mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])\n"
    "except Exception as exc:\n"
    "    print(json.dumps({'error': f'{type(exc).__name__}: {exc}', 'peak_mib': hwm()}))\n"
    "    sys.exit(0)\n"
    "took, cpu_s = time.perf_counter() - start, cpu() - cpu0\n"
    "print(json.dumps({'imports_mib': before, 'peak_mib': hwm(), 'seconds': took,\n"
    "                  'cpu_s': cpu_s, 'version': mg.__version__}))\n"
)


# ---------------------------------------------------------------------------------------------
# Material


def _write(path: Path, segment: npt.NDArray[np.float32], minutes: int, vary: bool) -> None:
    repeats = max(1, minutes * 60 // SEGMENT_S)
    gains = 0.6 + 0.4 * np.abs(np.sin(np.arange(repeats))) if vary else np.ones(repeats)
    with sf.SoundFile(path, "w", RATE, 2, "PCM_24") as out:
        for g in gains:
            out.write((segment * g).T)


def _levelled(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each 8 s section of the programme brought to one RMS (a mix that was compressed)."""
    section = 8 * RATE
    out = x.copy()
    for a in range(0, x.shape[1], section):
        part = out[:, a : a + section]
        part /= np.sqrt(np.mean(part**2)) + 1e-12
    return out


def _lufs(x: npt.NDArray[np.float64]) -> float:
    meter = LoudnessMeter(RATE, 2, series=False)
    meter.process(x.astype(np.float32))
    return meter.report().integrated_lufs or -200.0


def make_material(folder: Path, minutes: int) -> tuple[Path, Path]:
    """A levelled mix peaking at -6 dBFS, and a bright, wide reference at REF_LUFS, soft
    clipped as a commercial master is, of the same length."""
    mix_seg = _levelled(programme(RATE, SEGMENT_S, seed=21).astype(np.float64))
    mix_seg *= 0.5 / np.abs(mix_seg).max()
    src = _levelled(programme(RATE, SEGMENT_S, seed=22).astype(np.float64))
    bright = sosfilt(butter(2, 4000, "highpass", fs=RATE, output="sos"), src, axis=1)
    x = src + 0.8 * bright
    mid, side = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2 * 1.5
    x = np.stack([mid + side, mid - side])
    x /= np.abs(x).max()
    for drive in np.geomspace(1.5, 16.0, 24):  # the least clipping that is loud enough
        loud = np.tanh(x * drive) * 0.95
        if _lufs(loud) >= REF_LUFS:
            break
    x = loud
    mix, ref = folder / f"mix-{minutes}.wav", folder / f"ref-{minutes}.wav"
    _write(mix, mix_seg.astype(np.float32), minutes, vary=True)
    _write(ref, x.astype(np.float32), minutes, vary=False)
    return mix, ref


# ---------------------------------------------------------------------------------------------
# Runs


def matchering_python() -> tuple[Path | None, str]:
    """The venv's python with Matchering 2.0.6, made on first use; (None, why) when it cannot."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import matchering; print(matchering.__version__)"]
    if python.exists():
        done = subprocess.run(check, capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == "2.0.6":
            return python, "ready"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        ["python3", "-m", "venv", "--clear", str(VENV)],
        [str(python), "-m", "pip", "install", "-q", MATCHERING],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, f"{' '.join(step[:3])} failed: {done.stderr.strip()[-300:]}"
    return python, "installed now"


def child(python: str, script: str, *args: str) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_s"] = wall
    return figures


def peaks(path: Path) -> dict[str, Any]:
    """Our accurate true peak, the 4x figure, loudness, and ffmpeg's reading if it is here."""
    report = analyze_file(path, with_peaks=False)
    out: dict[str, Any] = {
        "accurate": report.true_peak_accurate_dbtp,
        "bs1770": report.true_peak_dbtp,
        "sample": report.sample_peak_dbfs,
        "lufs": report.integrated_lufs,
        "clipped": report.clipped_samples,
        "ffmpeg": None,
    }
    if FFMPEG is not None:
        out["ffmpeg"] = ffmpeg_ebur128(path).get("true_peak_dbtp")
    return out


def _tp_line(name: str, p: dict[str, Any]) -> str:
    within = "within" if p["accurate"] is not None and p["accurate"] <= CEILING else "OVER"
    ffmpeg = f"{p['ffmpeg']:+.1f}" if p["ffmpeg"] is not None else "n/a (no ffmpeg on PATH)"
    return (
        f"  {name}: accurate {p['accurate']:+.2f} dBTP ({within} the {CEILING:+.0f} dBTP "
        f"ceiling), BS.1770-4 4x {p['bs1770']:+.2f}, ffmpeg ebur128 {ffmpeg}, sample peak "
        f"{p['sample']:+.2f} dBFS, {p['clipped']} samples at full scale, {p['lufs']:.2f} LUFS"
    )


def run_length(tmp: Path, minutes: int, python: Path | None) -> list[str]:
    made = time.perf_counter()
    mix, ref = make_material(tmp, minutes)
    made_s = time.perf_counter() - made
    ours_out, theirs_out = tmp / f"ours-{minutes}.wav", tmp / f"matchering-{minutes}.wav"
    ours = child(sys.executable, OURS_CHILD, str(mix), str(ref), str(ours_out), str(CEILING))
    theirs = (
        child(str(python), MATCHERING_CHILD, str(mix), str(ref), str(theirs_out))
        if python is not None
        else {"error": "no Matchering environment"}
    )
    rows = [f"{minutes}-minute mix and reference (written in {made_s:.1f} s):"]
    if "error" in ours:
        return [*rows, f"  ours failed: {ours['error']}"]
    ours_tp = peaks(ours_out)
    rows.append(
        f"  ours: {ours['seconds']:.1f} s mastering ({ours['cpu_s']:.1f} s CPU), the lossy "
        f"checks (MP3 encode, decode and measure) beside the write pass; alone they take "
        f"{ours['lossy_s']:.1f} s "
        f"({ours['process_s']:.1f} s with start-up), "
        f"peak {ours['peak_mib']:.0f} MiB (imports {ours['imports_mib']:.0f} MiB), target "
        f"{ours['target_lufs']:.2f} LUFS from the reference, met {ours['met']}, "
        f"{ours['passes']} written pass(es), MP3 check true peak "
        f"{ours['mp3'].get('true_peak_dbtp', float('nan')):+.2f} dBTP"
    )
    if "error" in theirs:
        rows.append(f"  matchering: refused or failed: {theirs['error']}")
        rows.append(_tp_line("true peak, ours", ours_tp))
        return rows
    theirs_tp = peaks(theirs_out)
    work = (ours["peak_mib"] - ours["imports_mib"]) / (theirs["peak_mib"] - theirs["imports_mib"])
    rows += [
        f"  matchering {theirs['version']}: {theirs['seconds']:.1f} s mastering "
        f"({theirs['cpu_s']:.1f} s CPU; {theirs['process_s']:.1f} s with start-up), "
        f"peak {theirs['peak_mib']:.0f} MiB (imports {theirs['imports_mib']:.0f} MiB)",
        f"wall_time_{minutes}min: ours / matchering {ours['seconds'] / theirs['seconds']:.2f}x "
        f"(target <= 0.3x; with process start-up "
        f"{ours['process_s'] / theirs['process_s']:.2f}x; our lossy checks alone, which "
        f"Matchering does not do, {ours['lossy_s'] / theirs['seconds']:.2f}x)",
        f"cpu_time_{minutes}min: ours / matchering {ours['cpu_s'] / theirs['cpu_s']:.2f}x "
        f"(all threads; on a machine whose cores are busy the wall time follows the CPU "
        f"time, with a free core ours runs its MP3 pieces and reference pass in parallel)",
        f"peak_memory_{minutes}min: ours / matchering "
        f"{ours['peak_mib'] / theirs['peak_mib']:.3f}x (target <= 0.15x; over imports "
        f"{work:.3f}x)",
        f"true_peak_{minutes}min:",
        _tp_line("ours", ours_tp),
        _tp_line("matchering", theirs_tp),
    ]
    for path in (mix, ref, ours_out, theirs_out):
        path.unlink(missing_ok=True)
    return rows


def main() -> None:
    import tempfile

    python, how = matchering_python()
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(
        f"peer: {MATCHERING} in its own venv ({how}); OPENBLAS_NUM_THREADS={blas}; load "
        f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="studio-bench-master-") as name:
        tmp = Path(name)
        for minutes in (MINUTES, LONG_MINUTES):
            print("\n".join(run_length(tmp, minutes, python)), flush=True)


if __name__ == "__main__":
    main()
