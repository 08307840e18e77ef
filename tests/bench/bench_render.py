"""Render benchmark (not a test): ``python -m tests.bench bench_render``.

Material: 24 mono stems of 4 minutes at 48 kHz, synthesised here (a tone, filtered noise and a
beat shared by every stem, so their sum goes over full scale) and written once as 24-bit WAVs
to a temporary folder. Reports, as ratios against peers measured in the same run (the machine
is shared and noisy: no absolute target is meaningful here), on 2 threads:

- the real-time factor (programme seconds / wall seconds) of the first render, empty cache,
  with a PeakFilter and a Compressor on every track, two ways, each the best of two runs into
  a fresh cache folder:
  - ``realtime_first_render_fx`` is the app's path (the render job and previews): the caller
    passes each source's SHA-256 (``digests``: the stored Asset's hash), so no source is
    read to be hashed. Limited by pedalboard's plugins, then by writing each track's post-fx
    copy to the cache (what makes the fader re-render cheap) and by decoding.
  - ``realtime_first_render_fx_cli`` is the command line's cold path (``--cache-dir`` on an
    empty folder): the render hashes every source once to key its cache (later renders find
    the hash remembered by the file's identity), on top of the app path's work.
  Beside them: the same plugins run alone by pedalboard on the stems in memory (the most the
  engine could reach), the same spec with no cache folder (no post-fx copies, no hashing),
  the CPU the render got and where its CPU went. Target: >= 100x. The post-fx copies are
  1 GiB of new page-cache pages per first render: where the kernel gets fresh pages cheaply
  that is about 0.3 CPU-s; on a VM that hands freed memory back to its host (this one), each
  fresh page is faulted in again, 1-3 CPU-s per GiB, and that cost shows here.
- the peak memory (VmHWM) of a fresh child rendering that spec at 4 and at 20 minutes (the
  20-minute spec plays each stem five times end to end). Target: independent of the length.
- the plain gain/pan sum (no fx, no cache folder: every source decoded) against
  ``sox -M ... remix -m`` on the same files, both writing 32-bit float: our time / sox's; beside
  it decoding alone (the engine's reader, and libsndfile) and the meter alone. sox clips at
  full scale; we must not: the stems are hot and our peak must stay over 0 dBFS with no sample
  clipped. Target: <= 1.0x.
- a re-render after one track's fader moved, with the clip cache warm, over the first render
  (both the app's path). Target: <= 0.3x.

Each figure is followed by a ``limit:`` line saying what bounds it, from component times
measured in the same run. The stems are flushed to disk (``fsync``) before anything is
timed, so no render pays for writing back the bench's own material. Knobs:
``BENCH_RENDER_MINUTES`` (default 4) and ``BENCH_RENDER_LONG_MINUTES`` (default 20);
``BENCH_RENDER_QUICK=1`` means 1 and 5.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from audio.engine.loudness import LoudnessMeter
from audio.engine.memory import tune_malloc
from audio.engine.render import METER_BLOCK, MixSpec, render
from audio.engine.render.clips import FileFrames, HandlePool
from audio.engine.render.effects import build_board
from audio.engine.render.mixer import BLOCK, CHUNK

ROOT = Path(__file__).resolve().parents[2]
RATE = 48000
STEMS = 24
THREADS = 2
SEGMENT_S = 15  # unique material per stem, repeated to the stem's length
QUICK = os.environ.get("BENCH_RENDER_QUICK") == "1"
MINUTES = int(os.environ.get("BENCH_RENDER_MINUTES", "1" if QUICK else "4"))
LONG_MINUTES = int(os.environ.get("BENCH_RENDER_LONG_MINUTES", "5" if QUICK else "20"))
FADER_MOVE_DB = 2.0

# VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from the forking parent's.
MEMORY_CHILD = (
    "import json, re, sys, time\n"
    "def hwm():\n"
    "    status = open('/proc/self/status').read()\n"
    "    return int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) / 1024\n"
    "import pedalboard\n"
    "from audio.engine.memory import tune_malloc\n"
    "tune_malloc()\n"
    "from audio.engine.render import MixSpec, render\n"
    "spec = MixSpec.from_json(open(sys.argv[1]).read())\n"
    "sources = json.loads(open(sys.argv[2]).read())\n"
    "before = hwm()\n"
    "start = time.perf_counter()\n"
    "report = render(spec, sources, sys.argv[3], threads=int(sys.argv[4]))\n"
    "took = time.perf_counter() - start\n"
    "print(json.dumps({'imports_mib': before, 'peak_mib': hwm(), 'render_s': took,\n"
    "                  'duration_s': report['duration_s']}))\n"
)


class Clock:
    """Wall and CPU seconds of one call (CPU: this process, every thread)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        self.result = fn()
        self.wall = time.perf_counter() - wall
        self.cpu = time.process_time() - cpu


def best(runs: list[Clock]) -> Clock:
    return min(runs, key=lambda c: c.wall)


# ---------------------------------------------------------------------------------------------
# Material


def make_stems(folder: Path, minutes: int) -> list[Path]:
    """24 hot mono stems: each its own tone and noise, all sharing one beat (a coherent sum)."""
    rng = np.random.default_rng(11)
    n = np.arange(SEGMENT_S * RATE)
    beat_phase = n % (RATE // 2)
    beat = np.exp(-beat_phase / (0.04 * RATE)) * np.sin(2 * np.pi * 60 * beat_phase / RATE)
    repeats = minutes * 60 // SEGMENT_S
    paths = []
    for i in range(STEMS):
        noise = lfilter([0.3], [1.0, -0.8], rng.standard_normal(n.size))
        tone = np.sin(2 * np.pi * 110 * (1 + i / 7) * n / RATE)
        tone *= 0.5 + 0.5 * np.sin(2 * np.pi * n / (RATE * (3 + i % 5)))
        x = 0.25 * noise + 0.3 * tone + 0.45 * beat
        x = (x * (0.5 / np.abs(x).max())).astype(np.float32)  # each stem peaks at -6 dBFS
        path = folder / f"stem-{i:02d}.wav"
        with sf.SoundFile(path, "w", RATE, 1, "PCM_24") as out:
            for _ in range(repeats):
                out.write(x)
        paths.append(path)
    return paths


def fader(i: int) -> tuple[float, float]:
    """Track i's (gain_db, pan): faders between -4 and 0 dB, pans spread left to right."""
    return -4.0 + (i % 5), round(-0.8 + 1.6 * i / (STEMS - 1), 6)


def fx_chain(i: int) -> list[dict[str, Any]]:
    return [
        {"type": "PeakFilter", "cutoff_frequency_hz": 200.0 + 150 * i, "gain_db": 3.0, "q": 1.0},
        {
            "type": "Compressor",
            "threshold_db": -18.0,
            "ratio": 4.0,
            "attack_ms": 5.0,
            "release_ms": 80.0,
        },
    ]


def spec_for(*, fx: bool, stem_frames: int, repeats: int = 1, moved: int | None = None) -> MixSpec:
    """Every stem on its own track (``repeats`` times end to end); ``moved``: that track's
    fader raised by ``FADER_MOVE_DB``."""
    tracks = []
    for i in range(STEMS):
        gain_db, pan = fader(i)
        if i == moved:
            gain_db += FADER_MOVE_DB
        tracks.append(
            {
                "id": f"t{i:02d}",
                "gain_db": gain_db,
                "pan": pan,
                "fx": fx_chain(i) if fx else [],
                "clips": [
                    {"source": f"stem-{i:02d}", "start": k * stem_frames} for k in range(repeats)
                ],
            }
        )
    return MixSpec.from_dict({"version": 1, "sample_rate": RATE, "tracks": tracks})


# ---------------------------------------------------------------------------------------------
# Peers


def plugins_alone(stems: list[Path]) -> dict[str, Clock]:
    """Each plugin of the chain alone, same blocks, 2 threads, stems already in memory: the
    floor under the fx render is the sum of these."""
    data = [sf.read(p, dtype="float32", always_2d=True)[0].T.copy() for p in stems]
    out = {}
    for k, kind in enumerate(e["type"] for e in fx_chain(0)):

        def one(i: int, k: int = k) -> None:
            effect = fx_chain(i)[k]
            params = {p: v for p, v in effect.items() if p != "type"}
            board = build_board([(str(effect["type"]), params)])
            x = data[i]
            for a in range(0, x.shape[1], BLOCK):
                board.process(x[:, a : a + BLOCK], RATE, reset=False)

        with ThreadPoolExecutor(THREADS) as pool:
            out[kind] = Clock(lambda one=one: list(pool.map(one, range(STEMS))))
    return out


def decode_alone(stems: list[Path]) -> Clock:
    """Every stem read by the engine's own reader (``FileFrames``: these 24-bit WAVs' bytes by
    position, converted in numpy) in CHUNK-frame blocks on 2 threads, kept nowhere: the
    least the render pays to decode; beside it libsndfile's decode of the same blocks (sox
    decodes the same files on one thread)."""
    pool_ = HandlePool()

    def one(path: Path) -> None:
        frames = FileFrames(path, 1, pool_)
        buf = np.empty((CHUNK, 1), dtype=np.float32)
        for a in range(0, frames.frames, CHUNK):
            frames.read_into(a, buf[: min(CHUNK, frames.frames - a)])

    with ThreadPoolExecutor(THREADS) as pool:
        clock = Clock(lambda: list(pool.map(one, stems)))
    pool_.close()
    return clock


def libsndfile_alone(stems: list[Path]) -> Clock:
    """The same blocks decoded by libsndfile (what the engine's reader replaces)."""

    def one(path: Path) -> None:
        with sf.SoundFile(path) as snd:
            buf = np.empty((CHUNK, snd.channels), dtype=np.float32)
            while snd.buffer_read_into(buf, dtype="float32") > 0:
                pass

    with ThreadPoolExecutor(THREADS) as pool:
        return Clock(lambda: list(pool.map(one, stems)))


def hash_alone(stems: list[Path]) -> Clock:
    """sha256 of every stem's bytes on 2 threads: what a first render pays to key its cache
    (a later one finds the hash remembered)."""

    def one(path: Path) -> None:
        with open(path, "rb") as fh:
            hashlib.file_digest(fh, "sha256")

    with ThreadPoolExecutor(THREADS) as pool:
        return Clock(lambda: list(pool.map(one, stems)))


def sox_command(sox: str, stems: list[Path], out: Path) -> list[str]:
    """Our pan law as sox remix volumes: left g·cos θ, right g·sin θ, θ = (p + 1)·π/4."""
    left, right = [], []
    for i in range(STEMS):
        gain_db, pan = fader(i)
        g, theta = 10 ** (gain_db / 20), (pan + 1) * math.pi / 4
        left.append(f"{i + 1}v{g * math.cos(theta):.9f}")
        right.append(f"{i + 1}v{g * math.sin(theta):.9f}")
    return [
        sox,
        "-M",
        *map(str, stems),
        "-e",
        "floating-point",
        "-b",
        "32",
        str(out),
        "remix",
        "-m",
        ",".join(left),
        ",".join(right),
    ]


def child_memory(tmp: Path, spec: MixSpec, sources: dict[str, str], tag: str) -> dict[str, float]:
    spec_path, src_path = tmp / f"spec-{tag}.json", tmp / f"sources-{tag}.json"
    spec_path.write_text(spec.to_json())
    src_path.write_text(json.dumps(sources))
    out = tmp / f"child-{tag}.wav"
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(spec_path), str(src_path), str(out), str(THREADS)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    out.unlink(missing_ok=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def meter_alone(path: Path) -> Clock:
    """The render's own loudness report (K-weighting, gating, true peak) over its output,
    already in memory, in the render's blocks: work sox's remix does not do."""
    x = np.ascontiguousarray(sf.read(path, dtype="float32")[0].T)

    def measure() -> None:
        meter = LoudnessMeter(RATE, 2, series=False)
        for i in range(0, x.shape[1], METER_BLOCK):
            meter.process(x[:, i : i + METER_BLOCK])
        meter.report()

    return Clock(measure)


def max_diff_unclipped(ours: Path, peer: Path) -> float:
    """max |ours - sox| over the samples neither side has at full scale."""
    a, _ = sf.read(ours, dtype="float32")
    b, _ = sf.read(peer, dtype="float32")
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    keep = (np.abs(a) < 0.999) & (np.abs(b) < 0.999)
    return float(np.abs(a[keep] - b[keep]).max())


# ---------------------------------------------------------------------------------------------


def main() -> None:
    tune_malloc()  # as in the worker that renders (studio/celery.py) and the engine's CLI
    sox = shutil.which("sox")
    with tempfile.TemporaryDirectory(prefix="studio-bench-render-") as name:
        tmp = Path(name)
        made = Clock(lambda: make_stems(tmp, MINUTES))
        stems: list[Path] = made.result
        frames = MINUTES * 60 * RATE
        programme = MINUTES * 60.0
        sources = {f"stem-{i:02d}": str(p) for i, p in enumerate(stems)}
        fx_spec = spec_for(fx=True, stem_frames=frames)
        sum_spec = spec_for(fx=False, stem_frames=frames)
        mib = sum(p.stat().st_size for p in stems) / 2**20
        blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        rows = [
            f"material: {STEMS} mono {MINUTES}-minute {RATE} Hz 24-bit stems, "
            f"{mib:.0f} MiB, written in {made.wall:.1f} s; "
            f"{THREADS} threads; OPENBLAS_NUM_THREADS={blas}"
            f"{'' if blas == '1' else ' (not 1: BLAS threads of the meter compete unmeasured)'}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        ]
        print(rows[0], flush=True)

        for path in stems:  # the material's writeback is not the renders' to pay
            fd = os.open(path, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        digests = {n: hashlib.sha256(Path(p).read_bytes()).hexdigest() for n, p in sources.items()}

        # 1. first render with fx, empty cache: the app's path (known digests) and the CLI's
        # cold path (every source hashed), each twice into a fresh folder; the app path's
        # last cache stays for the fader move
        cli_runs, app_runs = [], []
        for k in range(2):
            cli_cache = tmp / f"cache-cli-{k}"
            cli_runs.append(
                Clock(
                    lambda c=cli_cache: render(
                        fx_spec, sources, tmp / "fx.wav", cache_dir=c, threads=THREADS
                    )
                )
            )
            shutil.rmtree(cli_cache)
            cache = tmp / f"cache-app-{k}"
            app_runs.append(
                Clock(
                    lambda c=cache: render(
                        fx_spec,
                        sources,
                        tmp / "fx.wav",
                        cache_dir=c,
                        threads=THREADS,
                        digests=digests,
                    )
                )
            )
            if k == 0:
                shutil.rmtree(cache)
        first, cli_first = best(app_runs), best(cli_runs)
        no_cache = Clock(lambda: render(fx_spec, sources, tmp / "fx0.wav", threads=THREADS))
        moved = spec_for(fx=True, stem_frames=frames, moved=STEMS // 2)
        again = [
            Clock(
                lambda: render(
                    moved,
                    sources,
                    tmp / "fx2.wav",
                    cache_dir=cache,
                    threads=THREADS,
                    digests=digests,
                )
            )
            for _ in range(2)
        ]
        rerender = best(again)
        plugins = plugins_alone(stems)
        floor_wall = sum(c.wall for c in plugins.values())
        floor_cpu = sum(c.cpu for c in plugins.values())
        each = ", ".join(f"{k} {c.wall:.2f} s" for k, c in plugins.items())
        print("  (fx renders and plugin floor done)", flush=True)

        # 2. the plain sum with no cache folder (every source decoded, as sox does), sox, and
        # what bounds the sum: decoding alone, the meter alone
        sum_runs, sox_runs = [], []
        sox_err = ""
        for _ in range(2):
            if sox:
                sox_runs.append(
                    Clock(
                        lambda: subprocess.run(
                            sox_command(sox, stems, tmp / "sox.wav"),
                            capture_output=True,
                            text=True,
                            check=True,
                        )
                    )
                )
                sox_err = sox_runs[-1].result.stderr
            sum_runs.append(
                Clock(lambda: render(sum_spec, sources, tmp / "sum.wav", threads=THREADS))
            )
        cold = best(sum_runs)
        sum_report = cold.result
        decoding = best([decode_alone(stems) for _ in range(2)])
        libsndfile = best([libsndfile_alone(stems) for _ in range(2)])
        hashing = hash_alone(stems)
        metering = meter_alone(tmp / "sum.wav")
        diff = max_diff_unclipped(tmp / "sum.wav", tmp / "sox.wav") if sox else math.nan
        print("  (sum vs sox done)", flush=True)

        # 3. memory: fresh children, no cache folder, 4 and 20 minutes
        mem_short = child_memory(tmp, fx_spec, sources, "short")
        repeats = max(1, LONG_MINUTES // MINUTES)
        long_spec = spec_for(fx=True, stem_frames=frames, repeats=repeats)
        mem_long = child_memory(tmp, long_spec, sources, "long")

        # -- report
        peaks = [
            (a["peak_dbfs"], b["peak_dbfs"])
            for a, b in zip(first.result["tracks"], rerender.result["tracks"], strict=True)
        ]
        moved_db = peaks[STEMS // 2][1] - peaks[STEMS // 2][0]
        others_db = max(abs(b - a) for k, (a, b) in enumerate(peaks) if k != STEMS // 2)
        copies_cpu = first.cpu - no_cache.cpu
        rest_cpu = no_cache.cpu - floor_cpu - cold.cpu
        cores = first.cpu / first.wall

        def runs(clocks: list[Clock]) -> str:
            return ", ".join(f"{programme / c.wall:.0f}x" for c in clocks)

        rows += [
            f"realtime_first_render_fx: {programme / first.wall:.0f}x real time, the app's "
            f"path: known digests, empty cache ({programme:.0f} s programme in "
            f"{first.wall:.2f} s, {first.cpu:.1f} CPU-s; runs {runs(app_runs)}; target >= "
            f"100x); pedalboard alone on the same stems: {programme / floor_wall:.0f}x "
            f"({floor_wall:.2f} s: {each}); render / plugins alone {first.wall / floor_wall:.2f}x",
            f"  limit: the plugins alone take {100 * floor_wall / first.wall:.0f}% of the "
            f"render's wall time and {100 * floor_cpu / max(first.cpu, 1e-9):.0f}% of its CPU "
            f"(48 plugin instances, per-sample cost in pedalboard: the 100x target needs the "
            f"plugins alone under {programme / 100:.1f} s); of its {first.cpu:.1f} CPU-s: "
            f"plugins {floor_cpu:.1f} + the 24 post-fx copies written to the cache "
            f"({STEMS * frames * 4 / 2**20:.0f} MiB; the render minus the same render with no "
            f"cache folder, {no_cache.wall:.2f} s, {no_cache.cpu:.1f} CPU-s, "
            f"{programme / no_cache.wall:.0f}x) {copies_cpu:.1f} + decoding, mix, meter and "
            f"output (the plain sum) {cold.cpu:.1f} + the rest (the 10 s tail, fx calls, "
            f"Python; negative when the peers ran on a busier machine) {rest_cpu:+.1f}; "
            f"the render got {cores:.2f} of {os.cpu_count()} CPUs: "
            f"with 2 free CPUs it would be about {programme / (first.cpu / THREADS):.0f}x, the "
            f"plugins alone {programme / (floor_cpu / THREADS):.0f}x",
            f"realtime_first_render_fx_cli: {programme / cli_first.wall:.0f}x real time, the "
            f"command line's cold path: empty cache folder, no digests ({cli_first.wall:.2f} s, "
            f"{cli_first.cpu:.1f} CPU-s; runs {runs(cli_runs)}; target >= 100x)",
            f"  limit: the app path's work plus the sha256 of every source to key the cache "
            f"(alone: {hashing.wall:.2f} s, {hashing.cpu:.1f} CPU-s on 2 threads; measured "
            f"here {cli_first.cpu - first.cpu:+.1f} CPU-s over the app path); paid once per "
            f"file version: a later render finds the hash remembered by the file's identity",
            f"realtime_no_cache_folder_fx: {programme / mem_short['render_s']:.0f}x at "
            f"{MINUTES} min, {repeats * programme / mem_long['render_s']:.0f}x at "
            f"{repeats * MINUTES} min (fresh children, no post-fx copies written)",
            f"peak_memory_{MINUTES}min: {mem_short['peak_mib']:.0f} MiB "
            f"(imports {mem_short['imports_mib']:.0f} MiB)",
            f"peak_memory_{repeats * MINUTES}min: {mem_long['peak_mib']:.0f} MiB "
            f"(imports {mem_long['imports_mib']:.0f} MiB; ratio {repeats * MINUTES}/{MINUTES} "
            f"min {mem_long['peak_mib'] / mem_short['peak_mib']:.2f}x; target 1.0x)",
            f"  limit: imports (numpy, scipy, soundfile, pedalboard) plus "
            f"{mem_long['peak_mib'] - mem_long['imports_mib']:.0f} MiB of per-chunk buffers "
            f"(24 tracks x 2 chunks of {CHUNK} frames in flight); the "
            f"{repeats * MINUTES}-minute spec plays each "
            f"{MINUTES}-minute stem {repeats} times, so its sources are the same files",
        ]
        if sox:
            clipped = sum(int(c) for c in re.findall(r"clipped (\d+) samples", sox_err))
            sox_t = best(sox_runs)
            rows += [
                f"sum_vs_sox_remix: {cold.wall / sox_t.wall:.2f}x with no cache folder "
                f"(ours {cold.wall:.2f} s, {cold.cpu:.1f} CPU-s; sox {sox_t.wall:.2f} s; "
                f"target <= 1.0x)",
                f"  limit: decoding the 24 files alone with the engine's reader takes "
                f"{decoding.wall:.2f} s on 2 threads ({decoding.cpu:.1f} CPU-s, "
                f"{100 * decoding.cpu / max(cold.cpu, 1e-9):.0f}% of our CPU; libsndfile's "
                f"decode {libsndfile.wall:.2f} s, {libsndfile.cpu:.1f} CPU-s); the loudness "
                f"report (K-weighting, gating, true peak), which sox does not compute, alone "
                f"takes {metering.wall:.2f} s on its own thread "
                f"({100 * metering.cpu / max(cold.cpu, 1e-9):.0f}% of our CPU); the rest is "
                f"fader/pan, the fixed-order sum (main thread) and the output write",
                f"sum_clipping: ours peaks at {sum_report['sample_peak_dbfs']:+.2f} dBFS with "
                f"{sum_report['clipped_samples']} samples clipped (32-bit float); sox reports "
                f"{clipped} samples clipped; max |ours - sox| where neither is at full scale "
                f"{diff:.1e} (same pan law, same gains)",
            ]
        else:
            rows.append("sum_vs_sox_remix: skipped (no sox on PATH: apt-get install sox)")
        rows += [
            f"rerender_after_fader: {rerender.wall / first.wall:.2f}x the first render "
            f"({rerender.wall:.2f} s, {rerender.cpu:.1f} CPU-s, vs {first.wall:.2f} s; "
            f"target <= 0.3x); {rerender.wall / cold.wall:.2f}x the plain sum",
            f"  check: the moved track's peak changed by {moved_db:+.2f} dB, the other "
            f"{STEMS - 1} tracks' peaks by at most {others_db:.3f} dB (only its fader changed)",
            "  limit: no plugin runs: 24 post-fx copies read back "
            f"({STEMS * frames * 4 / 2**20:.0f} MiB), fader/pan, the sum, and the meter "
            f"({metering.wall:.2f} s alone, on its own thread) and output write",
        ]
    print("\n".join(rows[1:]))


if __name__ == "__main__":
    main()
