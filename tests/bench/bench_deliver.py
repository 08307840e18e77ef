"""Deliver benchmark (not a test): ``python -m tests.bench bench_deliver``.

A 10-track, 40-minute album (generated 48 kHz 24-bit masters, 4 minutes each) delivered in all
formats (per-track WAVs, album WAV + CUE, DDP, FLAC, MP3 320, QC, manifest) by the engine, side
by side with ffmpeg making the same WAV, FLAC and MP3 files from the same masters (one ffmpeg
per track, one input and three outputs: soxr resampling at its highest precision, triangular
dither to 16 bit, FLAC, LAME at 320 kbit/s). Both run one after the other in this run, each in
a child process; peak memory is each child's high-water mark (VmHWM for the engine, wait4's
ru_maxrss for ffmpeg). Target (issue 14): the engine's time at most ffmpeg's, so the ratio
engine / ffmpeg <= 1.0 (measured here: 41.1 s against ffmpeg's 49.1 s, 0.84; peak 72 MiB
against 66 MiB). The engine also writes the album, the DDP image, the QC report (BS.1770
meters, true peak, a decode of every MP3) and the manifest, which ffmpeg does not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACKS = 10
MINUTES = 4
RATE = 48000

MAKE_MASTERS = (
    "import sys\n"
    "import numpy as np, soundfile as sf\n"
    "from tests.audio.engine.signals import programme\n"
    "folder, tracks, minutes, rate = sys.argv[1], *map(int, sys.argv[2:5])\n"
    "for i in range(tracks):\n"
    "    x = programme(rate, 60, seed=i + 1, level=0.8).T\n"
    "    with sf.SoundFile(f'{folder}/{i + 1:02d}.wav', 'w', rate, 2, 'PCM_24') as f:\n"
    "        for _ in range(minutes):\n"
    "            f.write(x)\n"
)

DELIVER_CHILD = (
    "import json, os, re, sys, time\n"
    "for name in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):\n"
    "    os.environ.setdefault(name, '1')\n"
    "def hwm():\n"
    "    status = open('/proc/self/status').read()\n"
    "    return int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) / 1024\n"
    "from audio.engine.cli import main\n"
    "import audio.engine.deliver.run, pedalboard, mutagen.id3, mutagen.flac\n"
    "before = hwm()\n"
    "start = time.perf_counter()\n"
    "code = main(['deliver', sys.argv[1], sys.argv[2]])\n"
    "wall = time.perf_counter() - start\n"
    "print(json.dumps({'code': code, 'wall_s': wall, 'imports_mib': before, "
    "'peak_mib': hwm()}), file=sys.stderr)\n"
)


def make_album(folder: Path) -> Path:
    masters = folder / "masters"
    masters.mkdir()
    subprocess.run(
        [sys.executable, "-c", MAKE_MASTERS, str(masters), str(TRACKS), str(MINUTES), str(RATE)],
        cwd=ROOT,
        check=True,
        timeout=1200,
    )
    release = {
        "version": 1,
        "title": "Bench Album",
        "artist": "Bench",
        "upc": "036000291452",
        "label": "Bench Records",
        "p_line": "2026 Bench",
        "c_line": "2026 Bench",
        "formats": ["wav", "cue", "ddp", "flac", "mp3", "qc"],
        "mp3_bitrate": 320,
        "tracks": [
            {
                "source": f"masters/{i + 1:02d}.wav",
                "title": f"Track {i + 1}",
                "isrc": f"USRC1760{7800 + i}",
                "pregap_s": 2.0,
                "fade_out_s": 2.0,
            }
            for i in range(TRACKS)
        ],
    }
    path = folder / "release.json"
    path.write_text(json.dumps(release))
    return path


def run_engine(release: Path, out: Path) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", DELIVER_CHILD, str(release), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    process_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"deliver failed: {done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stderr.strip().splitlines()[-1])
    figures["process_s"] = process_s
    summary = json.loads(done.stdout)
    figures["qc_status"] = summary["qc"]["status"]
    return figures


def run_ffmpeg(ffmpeg: str, masters: Path, out: Path) -> dict[str, float]:
    out.mkdir()
    resample = "aresample=44100:resampler=soxr:precision=33:dither_method=triangular"
    peak_kib = 0
    start = time.perf_counter()
    for src in sorted(masters.iterdir()):
        stem = src.stem
        args = [
            ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(src),
            "-af", resample, "-c:a", "pcm_s16le", str(out / f"{stem}.wav"),
            "-af", resample, "-sample_fmt", "s16", "-c:a", "flac", str(out / f"{stem}.flac"),
            "-af", resample, "-c:a", "libmp3lame", "-b:a", "320k", str(out / f"{stem}.mp3"),
        ]  # fmt: skip
        proc = subprocess.Popen(args)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg failed on {src}")
        peak_kib = max(peak_kib, usage.ru_maxrss)
    return {"wall_s": time.perf_counter() - start, "peak_mib": peak_kib / 1024}


def main() -> None:
    ffmpeg = shutil.which("ffmpeg")
    with tempfile.TemporaryDirectory(prefix="studio-bench-deliver-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        release = make_album(folder)
        print(
            f"masters: {TRACKS} x {MINUTES} min, {RATE} Hz 24-bit stereo "
            f"(made in {time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        engine = run_engine(release, folder / "out")
        sizes = sum(p.stat().st_size for p in (folder / "out").rglob("*") if p.is_file())
        shutil.rmtree(folder / "out")  # the disk holds one delivery at a time
        print(
            f"engine deliver (all formats): {engine['process_s']:.1f} s wall "
            f"({engine['wall_s']:.1f} s in deliver), peak {engine['peak_mib']:.0f} MiB "
            f"({engine['imports_mib']:.0f} MiB after imports), {sizes / 2**20:.0f} MiB "
            f"written, QC {engine['qc_status']}",
            flush=True,
        )
        if ffmpeg is None:
            print("ffmpeg: not installed (scripts/oracles.sh installs it); no ratio")
            return
        peer = run_ffmpeg(ffmpeg, folder / "masters", folder / "ffmpeg")
        print(
            f"ffmpeg WAV + FLAC + MP3 320 per track: {peer['wall_s']:.1f} s wall, "
            f"peak {peer['peak_mib']:.0f} MiB",
            flush=True,
        )
        ratio = engine["process_s"] / peer["wall_s"]
        verdict = "meets" if ratio <= 1.0 else "misses"
        print(f"ratio engine / ffmpeg: {ratio:.2f} ({verdict} the target <= 1.0)")


if __name__ == "__main__":
    main()
