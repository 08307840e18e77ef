"""Render a mix spec to a WAV: ``render(spec, sources, out, ...)`` returns the report dict.

    from audio.engine.render import MixSpec, render
    spec = MixSpec.from_json(text)            # SpecInvalid (every problem, by JSON path)
    report = render(spec, {"stems/vox.wav": "/data/vox.wav"}, "/out/mix.wav",
                    bit_depth="32f", cache_dir="/var/cache/render", threads=2,
                    on_progress=lambda f: ..., frame_range=None,
                    digests={"stems/vox.wav": "<sha256 of /data/vox.wav>"})

Inputs: a checked ``MixSpec``; ``sources`` maps each clip ``source`` string of the spec to a
file path (the CLI maps paths relative to the spec file; the app maps ``stem:<id>`` and the
like to stored files); the output path; options:

- ``bit_depth``: "32f" (default: float, keeps peaks over full scale), "24" or "16" (clipped
  at full scale, counted in ``clipped_samples``; 16 gets TPDF dither seeded from the inputs).
- ``cache_dir``: where decoded sources (resampled, or in a compressed format: a WAV or AIFF
  at the spec's rate is read in place), stretched clips and each fx track's signal after its
  fx are kept between renders (see ``audio.engine.render.clips`` and ``_freeze``), so a
  fader, pan, send, mute or bus change re-renders only the mix; None uses a temporary folder
  for this render only. The caller owns the folder: entries are named by content hashes,
  written atomically, and any may be deleted while no render runs.
- ``digests``: source name -> the SHA-256 (hex) of that file's bytes, for the sources whose
  hash the caller already knows (the app: each stored Asset's ``sha256``). Cache keys and the
  dither's seed use it instead of hashing the file (reading every source through SHA-256 cost
  more than half a CPU-second for 24 four-minute stems); the caller vouches that the file has
  those bytes. Sources not named are hashed when a key needs them, once per file version
  (remembered in the cache folder by path, device, inode, size, mtime and ctime).
- ``threads``: worker threads for the tracks (and for loading the sources); the output is
  the same for any number. The master's blocks are written and metered on one more thread.
- ``on_progress``: called with a fraction 0..1, at most every 0.1 s and at the end. It may
  raise (to cancel): the exception propagates and no output file is left.
- ``frame_range``: ``(start, end)`` frames: write only that window, with the same samples as
  the full render over it (chains that keep state still run from frame 0; only the clip
  preparation and the work of stateless channels outside the window are skipped). ``end``
  past the mix's end is cut to it.

Errors are ``AudioError``s: ``SpecInvalid`` (code ``render.spec_invalid``) for the spec,
including every clip whose source is missing, unreadable or too short (step two of the
checks); ``RangeInvalid`` for a window outside the mix. The output is written under a
temporary name in its folder and renamed at the end: never a partial file.

To answer a bad spec before any render (a 400 keyed by JSON path): ``MixSpec.from_dict``
checks the structure; ``spec.check_sources({source: frames at the spec's rate})`` checks the
clips, with ``resampled_frames(frames, file_rate, spec_rate)`` for a file at another rate;
``SpecInvalid.fields`` maps each path to its sentences.

Length: the spec's ``length``, else the end of the last clip (muted or not), plus, when
anything audible has fx, the tail: rendered up to 10 s further and cut after its last sample
above -90 dBFS. Same spec, same sources and same ``ENGINE_VERSION`` give the same bytes.
Memory is bounded by the block size, the track count and the tail, except for a stretched or
pitched clip, which Rubber Band processes whole (hence the 20-minute cap on such clips).

Report: duration_s, sample_rate, channels (2), frames, sample_peak_dbfs, true_peak_dbtp,
integrated_lufs (null when silent or shorter than 400 ms), clipped_samples (always 0 for
float output, which clips nothing), samples_sha256
(of the WAV's data chunk, the samples exactly as stored), render_s, and tracks: [{id,
peak_dbfs}] (each track's post-fader level over the window; null when silent or not heard).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import tempfile
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from audio.engine.errors import AudioError, FileMissing, Unreadable
from audio.engine.io import DEFAULT_LIMITS, Limits, PathLike
from audio.engine.loudness import LoudnessMeter
from audio.engine.render.clips import (
    CACHE_FORMAT,
    ClipReader,
    ClipStore,
    Frames,
    Source,
    resampled_frames,
)
from audio.engine.render.mixer import BLOCK, Mix, build_mix, mark_early, run
from audio.engine.render.spec import MixSpec, SpecInvalid
from audio.engine.render.wav import BIT_DEPTHS, WavWriter
from audio.engine.types import ProgressFn

__all__ = [
    "BIT_DEPTHS",
    "ENGINE_VERSION",
    "MixSpec",
    "RangeInvalid",
    "SpecInvalid",
    "render",
    "resampled_frames",
]

ENGINE_VERSION = "render-1"  # changes whenever the same spec could render differently
TAIL_MAX_S = 10.0
TAIL_FLOOR = 10 ** (-90 / 20)  # a tail ends at its last sample above -90 dBFS
PROGRESS_EVERY_S = 0.1
PREPARE_SHARE = 0.2  # of the progress bar, for decoding and stretching
# the meter's blocks: its products stay in cache; with one BLAS thread, 4 minutes of stereo
# took 0.9 CPU-s in blocks of 32768, 1.3 in 8192, 1.5 in 65536 (same figures to the bit)
METER_BLOCK = 32768
_SHA256 = re.compile(r"[0-9a-f]{64}")


class RangeInvalid(AudioError):
    code = "render.range_invalid"


def _db(value: float) -> float | None:
    return round(20 * math.log10(value), 3) if value > 0 else None


class _Progress:
    def __init__(self, fn: ProgressFn | None) -> None:
        self.fn = fn
        self.last = -math.inf

    def __call__(self, fraction: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.fn is not None and (force or now - self.last >= PROGRESS_EVERY_S):
            self.last = now
            self.fn(min(1.0, max(0.0, fraction)))


def _hashed_sources(spec: MixSpec, bit_depth: str, cached: bool) -> set[str]:
    """The sources whose content hash something depends on: every one for 16-bit output (the
    dither's seed); with a cache folder, those of tracks with fx (their frozen copy's key);
    those of stretched or pitched clips (the prepared clip's key)."""
    if bit_depth == "16":
        return set(spec.source_names())
    need = set()
    for track in spec.tracks:
        for clip in track.clips:
            if clip.processed or (cached and track.fx):
                need.add(clip.source)
    return need


class _Output:
    """Writes and meters the master's blocks, in order, on a thread of its own, while the
    mixer computes the next chunk (the meter's and the writer's numpy work runs without the
    GIL); at most ``DEPTH`` blocks wait, so memory stays bounded. An error in the thread is
    raised by the next ``put`` or by ``finish``."""

    DEPTH = 2

    def __init__(self, writer: WavWriter, meter: LoudnessMeter) -> None:
        self.writer = writer
        self.meter = meter
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-output")
        self.pending: deque[Future[None]] = deque()

    def _write(self, block: np.ndarray[Any, np.dtype[np.float32]], first: int) -> None:
        stored = self.writer.write(block, first)
        for i in range(0, stored.shape[1], METER_BLOCK):
            self.meter.process(stored[:, i : i + METER_BLOCK])

    def put(self, block: np.ndarray[Any, np.dtype[np.float32]], first: int) -> None:
        """Queue frames ``first..`` (the caller gives up ``block``)."""
        while len(self.pending) >= self.DEPTH:
            self.pending.popleft().result()
        self.pending.append(self.pool.submit(self._write, block, first))

    def finish(self) -> None:
        while self.pending:
            self.pending.popleft().result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _load_sources(
    spec: MixSpec,
    sources: Mapping[str, PathLike],
    digests: Mapping[str, str],
    store: ClipStore,
    progress: _Progress,
    need_hash: set[str],
    threads: int,
) -> dict[str, Source]:
    """Decode every source (or find it cached), ``threads`` at a time, then check the clips
    against their lengths; a digest the caller gave spares hashing that file."""
    loaded: dict[str, Source] = {}
    errors: dict[str, str] = {}
    names = [n for n in spec.source_names() if n in sources]

    def load(name: str) -> Source | str:
        try:
            return store.load(
                name, sources[name], need_hash=name in need_hash, digest=digests.get(name)
            )
        except AudioError as exc:
            where = os.fspath(sources[name])
            return str(exc) if where in str(exc) else f"{where}: {exc}"

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(names)))) as pool:
        for name, got in zip(names, pool.map(load, names), strict=True):
            if isinstance(got, str):
                errors[name] = got
            else:
                loaded[name] = got
    spec.check_sources({k: s.frames for k, s in loaded.items()}, errors)
    # progress starts once the spec is known good, so a bad one prints only its error line
    progress(PREPARE_SHARE * 0.5)
    return loaded


def render(
    spec: MixSpec,
    sources: Mapping[str, PathLike],
    out: PathLike,
    *,
    bit_depth: str = "32f",
    cache_dir: PathLike | None = None,
    threads: int = 2,
    on_progress: ProgressFn | None = None,
    frame_range: tuple[int, int] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Render ``spec`` to ``out`` and return the report (see the module docstring)."""
    started = time.perf_counter()
    if bit_depth not in BIT_DEPTHS:
        raise AudioError(f"bit depth {bit_depth!r} is not one of {', '.join(BIT_DEPTHS)}")
    known = dict(digests or {})
    for name, digest in known.items():
        if not _SHA256.fullmatch(digest):
            raise AudioError(f"digests[{name!r}]: {digest[:80]!r} is not a SHA-256 in hex")
    out_path = Path(out)
    if not out_path.parent.is_dir():
        raise FileMissing(f"{os.fspath(out)}: the folder {out_path.parent} does not exist")
    progress = _Progress(on_progress)
    rate = spec.sample_rate
    with ExitStack() as stack:
        if cache_dir is None:
            cache = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="render-")))
        else:
            cache = Path(cache_dir)
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise Unreadable(
                    f"{cache}: cannot use as a cache folder ({exc.strerror})"
                ) from None
            if not os.access(cache, os.W_OK):
                raise Unreadable(f"{cache}: cannot use as a cache folder (not writable)")
        store = ClipStore(cache, rate, limits)
        stack.callback(store.handles.close)
        need_hash = _hashed_sources(spec, bit_depth, cache_dir is not None)
        loaded = _load_sources(spec, sources, known, store, progress, need_hash, threads)
        ends = [
            c.start + c.timeline_length(loaded[c.source].frames)
            for t in spec.tracks
            for c in t.clips
        ]
        mix_end = max(ends, default=0)
        if spec.length is None and mix_end == 0:
            raise SpecInvalid(["tracks: no clip and no length: there is nothing to render"])
        readers = _readers(spec, loaded, store, frame_range, mix_end, progress)
        mix = build_mix(spec, readers)
        tail = spec.length is None and mix.stateful
        if spec.length is not None:
            stop = spec.length
        elif tail:
            stop = min(mix_end + round(TAIL_MAX_S * rate), spec.max_frames)
        else:
            stop = mix_end
        w0, w1 = _window(frame_range, stop)
        frozen: list[tuple[Path, Path]] = []
        if cache_dir is not None:  # keyed by the full render's end, before any window cuts it
            frozen = _freeze(spec, mix, loaded, cache, stop, stack, write=frame_range is None)
            mark_early(mix)  # a frozen track keeps no state: a window need not run it from 0
        if frame_range is not None and (not tail or w1 <= mix_end):
            stop = min(stop, -(-w1 // BLOCK) * BLOCK)
        seed = _seed(spec, loaded, bit_depth)
        writer = stack.enter_context(WavWriter(out_path, rate, 2, bit_depth, seed))
        meter = LoudnessMeter(rate, 2, series=False)
        span = max(1, stop)

        def on_chunk(a: int, b: int) -> None:
            progress(PREPARE_SHARE + (1 - PREPARE_SHARE) * b / span)

        output = _Output(writer, meter)
        stack.callback(output.close)  # before the writer's own exit: no write after an abort

        def emit(first: int, block: np.ndarray[Any, np.dtype[np.float32]]) -> None:
            lo, hi = max(first, w0), min(first + block.shape[1], w1)
            if lo < hi:
                output.put(np.ascontiguousarray(block[:, lo - first : hi - first]), lo)

        held: list[tuple[int, np.ndarray[Any, np.dtype[np.float32]]]] = []
        for first, block in run(mix, stop, w0, threads, on_chunk):
            if tail and first + block.shape[1] > mix_end:
                held.append((first, block))
            else:
                emit(first, block)
        if tail:
            cut = _tail_end(held, mix_end)
            w1 = min(w1, cut)
            if frame_range is not None and w0 >= w1:
                raise RangeInvalid(
                    f"range: start {w0} is not before the end of the mix (frame {cut})"
                )
            for first, block in held:
                emit(first, block)
        output.finish()
        for strip in mix.tracks:
            if strip.freezing is not None:
                strip.freezing.close()
        for tmp, final in frozen:
            os.replace(tmp, final)
        progress(1.0, force=True)  # before the rename: a cancel here still leaves no file
        writer.close()
    figures = meter.report()
    report = {
        "duration_s": round(writer.frames / rate, 6),
        "sample_rate": rate,
        "channels": 2,
        "frames": writer.frames,
        "sample_peak_dbfs": _round(figures.sample_peak_dbfs),
        "true_peak_dbtp": _round(figures.true_peak_dbtp),
        "integrated_lufs": _round(figures.integrated_lufs),
        "clipped_samples": writer.clipped,
        "samples_sha256": writer.sha.hexdigest(),
        "render_s": round(time.perf_counter() - started, 3),
        "tracks": _track_peaks(spec, mix.tracks),
    }
    return report


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 3)


def _track_peaks(spec: MixSpec, strips: list[Any]) -> list[dict[str, Any]]:
    peaks = {s.id: s.peak for s in strips}
    return [{"id": t.id, "peak_dbfs": _db(peaks.get(t.id, 0.0))} for t in spec.tracks]


def _readers(
    spec: MixSpec,
    loaded: dict[str, Source],
    store: ClipStore,
    frame_range: tuple[int, int] | None,
    mix_end: int,
    progress: _Progress,
) -> dict[int, list[ClipReader]]:
    """Prepare the clips (stretching where asked); in a window render, clips that start after
    the window are not prepared (nothing before the window can depend on them)."""
    limit = -(-frame_range[1] // BLOCK) * BLOCK if frame_range is not None else None
    todo = [(i, c) for i, t in enumerate(spec.tracks) for c in t.clips]
    readers: dict[int, list[ClipReader]] = {}
    for k, (i, clip) in enumerate(todo):
        if limit is None or clip.start < limit or limit > mix_end:
            reader = store.reader(clip, loaded[clip.source])
            if reader.frames > 0:
                readers.setdefault(i, []).append(reader)
        progress(PREPARE_SHARE * (0.5 + 0.5 * (k + 1) / max(1, len(todo))))
    return readers


def _window(frame_range: tuple[int, int] | None, stop: int) -> tuple[int, int]:
    """The frames to write: all, or ``frame_range`` checked and cut to ``stop`` (the mix's
    end, or with a tail still to measure, the furthest it can reach: cut again after)."""
    if frame_range is None:
        return 0, stop
    start, end = frame_range
    if start < 0 or end <= start:
        raise RangeInvalid(f"range: {start}:{end} is not a window (need 0 <= START < END)")
    if start >= stop:
        raise RangeInvalid(f"range: start {start} is not before the end of the mix ({stop})")
    return start, min(end, stop)


def _tail_end(held: list[tuple[int, Any]], mix_end: int) -> int:
    """The end of the tail: one past its last sample above -90 dBFS, at least ``mix_end``."""
    cut = mix_end
    for first, block in held:
        loud = np.flatnonzero(np.abs(block).max(axis=0) > TAIL_FLOOR)
        if len(loud):
            cut = max(cut, first + int(loud[-1]) + 1)
    return cut


def _freeze(
    spec: MixSpec,
    mix: Mix,
    loaded: dict[str, Source],
    cache: Path,
    stop: int,
    stack: ExitStack,
    *,
    write: bool,
) -> list[tuple[Path, Path]]:
    """Tracks with fx keep a copy of their signal after the fx (before fader, pan and sends)
    in the cache, keyed by everything that shapes it; the next render of the same frames
    reads that copy instead of running the clips and plugins again (a fader, pan, send, mute
    or bus change then costs only the mix). Frames [0, stop) of the full render are frozen
    (``write``: full renders only); a window of the same mix reads them too, since the
    plugins are causal and see the same blocks: its samples are the frozen ones."""
    tracks = {t.id: t for t in spec.tracks}
    renames: list[tuple[Path, Path]] = []
    for strip in mix.tracks:
        if strip.board is None:
            continue
        track = tracks[strip.id]
        clips = [
            [
                loaded[c.source].key,
                c.start,
                c.source_in,
                c.source_length(loaded[c.source].frames),
                c.reverse,
                c.stretch,
                c.pitch_semitones,
                c.gain_db,
                [c.fade_in.length, c.fade_in.shape, c.fade_out.length, c.fade_out.shape],
            ]
            for c in track.clips
        ]
        key = json.dumps(
            [
                CACHE_FORMAT,
                ENGINE_VERSION,
                spec.sample_rate,
                BLOCK,
                stop,
                strip.channels,
                track.polarity_invert,
                [[e.type, [list(p) for p in e.params]] for e in track.fx],
                clips,
            ]
        )
        name = f"track-{hashlib.sha256(key.encode()).hexdigest()}.f32"
        final = cache / name
        if final.exists() and final.stat().st_size == stop * strip.channels * 4:
            strip.frozen = Frames(final, strip.channels)
            continue
        if not write:
            continue
        tmp = cache / f".{name}.{secrets.token_hex(8)}.part"
        strip.freezing = open(tmp, "wb")  # noqa: SIM115 (closed and renamed after the run)
        stack.callback(_drop, strip.freezing, tmp)
        renames.append((tmp, final))
    return renames


def _drop(fh: Any, tmp: Path) -> None:
    """After a render: close a copy being frozen; unless it was renamed into place, delete."""
    fh.close()
    tmp.unlink(missing_ok=True)


def _seed(spec: MixSpec, loaded: dict[str, Source], bit_depth: str) -> int:
    """The dither's seed: from the spec, the sources' contents and the bit depth (only 16-bit
    output has dither: the others need no seed, nor the sources' hashes)."""
    if bit_depth != "16":
        return 0
    digest = hashlib.sha256(spec.to_json().encode())
    for name in sorted(loaded):
        digest.update(f"{name}\0{loaded[name].key}\0".encode())
    digest.update(bit_depth.encode())
    return int.from_bytes(digest.digest()[:8], "little")
