"""The block renderer: tracks, buses and master, in fixed blocks, summed in a fixed order.

Every plugin sees exactly ``BLOCK`` frames per call, aligned to frame 0 (the last block is
zero-padded and its padding discarded), with ``reset=False``: pedalboard's output depends on
the block size by a float32 step, so fixing it makes renders, and any window of them, repeat
to the bit. Tracks run in a thread pool one chunk (``CHUNK`` frames) at a time (pedalboard
releases the GIL); their results are summed into buses and master in the spec's order, so the
output does not depend on the number of threads. Buses run in an order where each comes
before the buses it feeds. Memory is a few chunks per track, whatever the programme's length.
After a track's last clip its chain runs plugin by plugin, without the plugins that can only
give silence from then on (``Strip._fx_in_silence``): the same samples, for less work in the
tail.

Signal per track: clips summed (a mono clip on a stereo track feeds both sides), polarity,
fx, fader (gain_db plus the gain automation, interpolated in dB), pan (the pan automation,
when given, is the pan), then the pan law: a mono track at pan p has θ = (p + 1)·π/4,
left = cos θ, right = sin θ; a stereo one is balanced: left × min(1, √2·cos θ), right ×
min(1, √2·sin θ). Buses are stereo: a mono pre-fader send reaches both sides at its level.
Nothing is clipped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from audio.engine.render.clips import ClipReader, Frames
from audio.engine.render.effects import build_board
from audio.engine.render.spec import MASTER, Automation, Bus, Effect, MixSpec, Track

BLOCK = 8192
CHUNK = 8 * BLOCK

# plugins whose output is their input times a gain (or a function that keeps 0 at 0): silence
# in, silence out, whatever their state
SILENT_IN_SILENT_OUT = frozenset(
    {"Compressor", "NoiseGate", "Limiter", "Gain", "Distortion", "Clipping", "Bitcrush"}
)
# linear filters of order one or two (JUCE's transposed direct form II): two silent outputs
# in a row for silent input mean a zero state, so silence in gives silence out from then on
SETTLING = frozenset(
    {"HighpassFilter", "LowpassFilter", "HighShelfFilter", "LowShelfFilter", "PeakFilter"}
)
SETTLES = SILENT_IN_SILENT_OUT | SETTLING

Float32 = npt.NDArray[np.float32]
SQRT2 = math.sqrt(2.0)


def _board(fx: tuple[Effect, ...]) -> Any:
    if not fx:
        return None
    return build_board([(e.type, e.param_dict()) for e in fx])


def run_fx(board: Any, x: Float32, a: int, rate: int) -> Float32:
    """``x`` holds frames [a, a + n), ``a`` a multiple of BLOCK; plugins get BLOCK frames.

    One call for the whole chunk with ``buffer_size=BLOCK``: pedalboard cuts it into the
    same BLOCK-frame calls itself (the same samples, to the bit: tested for every effect),
    without a Python round trip per block. A last partial block is zero-padded."""
    n = x.shape[1]
    padded = -(-n // BLOCK) * BLOCK
    if padded != n:
        x = np.pad(x, ((0, 0), (0, padded - n)))
    out = board.process(np.ascontiguousarray(x), rate, buffer_size=BLOCK, reset=False)
    return np.asarray(out[:, :n], dtype=np.float32)


Lane = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def _lane(points: tuple[tuple[int, float], ...]) -> Lane:
    return (
        np.array([p[0] for p in points], dtype=np.float64),
        np.array([p[1] for p in points], dtype=np.float64),
    )


@dataclass
class Strip:
    """A track or a bus: its plugins, fader, pan, and where its signal goes."""

    id: str
    channels: int
    gain_db: float
    pan: float
    automation: Automation
    fx: tuple[Effect, ...]
    output: str
    sends: list[tuple[str, float, bool]]  # (bus, linear level, pre_fader)
    rate: int
    polarity: bool = False
    clips: list[ClipReader] = field(default_factory=list)
    early: bool = True  # must run from frame 0 (it or what it feeds keeps state)
    peak: float = 0.0
    frozen: Frames | None = None  # the track after its fx, from an earlier render
    freezing: BinaryIO | None = None  # where this render writes that copy
    silent_from: int | None = None  # a track's input is silent from this frame on

    def __post_init__(self) -> None:
        self.board = _board(self.fx)
        self.dead = [False] * len(self.fx)  # plugins that can only give silence from now on
        self.gain_lane = _lane(self.automation.gain_db) if self.automation.gain_db else None
        self.pan_lane = _lane(self.automation.pan) if self.automation.pan else None
        self.gains: tuple[np.float32, np.float32] | None = None  # (left, right) if constant
        if self.gain_lane is None and self.pan_lane is None:
            left, right = self._pan_law(self.gain_db, self.pan)
            self.gains = (np.float32(left), np.float32(right))

    def clip_input(self, a: int, b: int) -> Float32:
        """The clips' sum over frames [a, b): the first clip there is written (decoded straight
        into the buffer), the others added, in the spec's order; silence elsewhere."""
        x: Float32 | None = None
        for clip in self.clips:
            lo, hi = max(a, clip.start), min(b, clip.end)
            if lo >= hi:
                continue
            if x is None:
                x = np.empty((self.channels, b - a), dtype=np.float32)
                x[:, : lo - a] = 0.0
                x[:, hi - a :] = 0.0
                clip.write_into(x[:, lo - a : hi - a], lo, hi)
            else:
                clip.add_into(x[:, lo - a : hi - a], lo, hi)
        return np.zeros((self.channels, b - a), dtype=np.float32) if x is None else x

    def _pan_law(self, gain_db: Any, pan: Any) -> tuple[Any, Any]:
        """Left and right gains (float64, scalars or per frame) of the fader and pan law."""
        gain = np.power(10.0, np.divide(gain_db, 20.0))
        theta = (np.add(pan, 1.0)) * (math.pi / 4)
        if self.channels == 1:
            return np.cos(theta) * gain, np.sin(theta) * gain
        left = np.minimum(1.0, SQRT2 * np.cos(theta)) * gain
        right = np.minimum(1.0, SQRT2 * np.sin(theta)) * gain
        return left, right

    def fader_pan(self, x: Float32, a: int) -> Float32:
        """Fader and pan law: (channels, n) to stereo (2, n)."""
        n = x.shape[1]
        if self.gains is not None:
            left, right = self.gains
        else:
            frames = np.arange(a, a + n, dtype=np.float64)
            gain_db: float | npt.NDArray[np.float64] = self.gain_db
            if self.gain_lane is not None:
                gain_db = self.gain_db + np.interp(frames, self.gain_lane[0], self.gain_lane[1])
            pan: float | npt.NDArray[np.float64] = self.pan
            if self.pan_lane is not None:
                pan = np.interp(frames, self.pan_lane[0], self.pan_lane[1])
            left, right = self._pan_law(gain_db, pan)
        src_r = x[0] if self.channels == 1 else x[1]
        out = np.empty((2, n), dtype=np.float32)
        np.multiply(x[0], np.asarray(left, dtype=np.float32), out=out[0])
        np.multiply(src_r, np.asarray(right, dtype=np.float32), out=out[1])
        return out

    def level(self, x: Float32, post: Float32, skip: int) -> float:
        """The peak of ``post[:, skip:]``; with a constant fader and pan, from the track's
        own samples: |fl(v·g)| = fl(|v|·g) for g >= 0, so it is the same float32 value, for
        one pass over the track instead of two over its stereo output."""
        if self.gains is None:
            return _peak(post[:, skip:])
        left, right = self.gains
        peak_l = np.float32(_peak(x[0, skip:]))
        peak_r = peak_l if self.channels == 1 else np.float32(_peak(x[1, skip:]))
        return max(float(peak_l * left), float(peak_r * right))

    def process(self, x: Float32, a: int) -> tuple[Float32, list[tuple[str, Float32]]]:
        """Polarity, fx, fader and pan; returns the stereo output and the sends' signals."""
        return self.after_fx(self.through_fx(x, a), a)

    def through_fx(self, x: Float32, a: int) -> Float32:
        if self.polarity:
            x = -x
        if self.board is None:
            return x
        if self.silent_from is None or a < self.silent_from or self.fx[0].type not in SETTLES:
            return run_fx(self.board, x, a, self.rate)
        return self._fx_in_silence(x, a)

    def _fx_in_silence(self, x: Float32, a: int) -> Float32:
        """The chain over a chunk after the strip's last clip (its input silent from here on),
        plugin by plugin (the same samples as the chain: each sees the same blocks), leaving
        out the plugins that can only give silence from now on: one whose input is silent
        for good and that scales its input (``SILENT_IN_SILENT_OUT``), or a linear filter of
        order two at most (``SETTLING``) once it gave a whole chunk of silence for silence
        (its state is then zero). A compressor's envelope decays into denormal numbers in
        silence, which pedalboard then processes several times slower than music."""
        n = x.shape[1]
        if all(self.dead):
            return np.zeros_like(x)
        padded = -(-n // BLOCK) * BLOCK
        y = np.pad(x, ((0, 0), (0, padded - n))) if padded != n else np.ascontiguousarray(x)
        for i, effect in enumerate(self.fx):
            silent_in = i == 0 or self.dead[i - 1]
            if self.dead[i] or (silent_in and effect.type in SILENT_IN_SILENT_OUT):
                self.dead[i] = True
                y = np.zeros_like(y)
                continue
            y = self.board[i].process(y, self.rate, buffer_size=BLOCK, reset=False)
            if silent_in and effect.type in SETTLING and not y.any():
                self.dead[i] = True
        return np.asarray(y[:, :n], dtype=np.float32)

    def after_fx(self, x: Float32, a: int) -> tuple[Float32, list[tuple[str, Float32]]]:
        post = self.fader_pan(x, a)
        sends: list[tuple[str, Float32]] = []
        for bus, level, pre in self.sends:
            src = x if pre else post
            sig = src * np.float32(level)
            sends.append((bus, np.broadcast_to(sig, (2, sig.shape[1])) if pre else sig))
        return post, sends

    def track_chunk(self, a: int, b: int, w0: int) -> tuple[Float32, list[tuple[str, Float32]]]:
        """A track's frames [a, b): from its frozen copy when there is one, else computed
        (and appended to the copy being frozen, if any); its peak from ``w0`` on noted."""
        if self.frozen is not None:
            x = np.ascontiguousarray(self.frozen[a:b].T)
        else:
            x = self.through_fx(self.clip_input(a, b), a)
            if self.freezing is not None:  # (frames, channels): no copy at all when mono
                self.freezing.write(np.ascontiguousarray(x.T, dtype="<f4").data.cast("B"))
        post, sends = self.after_fx(x, a)
        if b > w0:
            self.peak = max(self.peak, self.level(x, post, max(0, w0 - a)))
        return post, sends


def _strip(ch: Track | Bus, channels: int, rate: int) -> Strip:
    return Strip(
        id=ch.id,
        channels=channels,
        gain_db=ch.gain_db,
        pan=ch.pan,
        automation=ch.automation,
        fx=ch.fx,
        output=ch.output,
        sends=[(s.bus, 10 ** (s.level_db / 20), s.pre_fader) for s in ch.sends],
        rate=rate,
        polarity=isinstance(ch, Track) and ch.polarity_invert,
    )


@dataclass
class Mix:
    """The audible graph of a spec: strips for the tracks and buses that can be heard."""

    spec: MixSpec
    tracks: list[Strip]  # audible tracks, in spec order
    buses: list[Strip]  # audible buses, feeding order
    master_board: Any

    @property
    def stateful(self) -> bool:
        """Whether anything audible keeps state (so a tail may ring past the last clip)."""
        return self.master_board is not None or any(
            s.board is not None for s in [*self.tracks, *self.buses]
        )


def build_mix(spec: MixSpec, readers: dict[int, list[ClipReader]]) -> Mix:
    """Strips for what can be heard: mute, solo (only soloed tracks, through the buses they
    reach), tracks without clips and buses nothing audible reaches are left out."""
    soloing = any(t.solo for t in spec.tracks)
    tracks: list[Strip] = []
    for i, t in enumerate(spec.tracks):
        clips = readers.get(i, [])
        if t.mute or (soloing and not t.solo) or not clips:
            continue
        strip = _strip(t, max(c.channels for c in clips), spec.sample_rate)
        strip.clips = clips
        strip.silent_from = max(c.end for c in clips)
        tracks.append(strip)
    by_id = {b.id: b for b in spec.buses}
    reached: set[str] = set()
    for bus_id in [d for s in tracks for d in _feeds(s)]:
        _reach(bus_id, by_id, reached)
    buses = [
        _strip(by_id[b], 2, spec.sample_rate)
        for b in spec.bus_order()
        if b in reached and not by_id[b].mute
    ]
    mix = Mix(spec, tracks, buses, _board(spec.master.fx))
    mark_early(mix)
    return mix


def _feeds(s: Strip) -> list[str]:
    return ([s.output] if s.output != MASTER else []) + [b for b, _, _ in s.sends]


def _reach(bus: str, by_id: dict[str, Bus], reached: set[str]) -> None:
    if bus in reached or bus not in by_id or by_id[bus].mute:
        return
    reached.add(bus)
    b = by_id[bus]
    for d in ([b.output] if b.output != MASTER else []) + [s.bus for s in b.sends]:
        _reach(d, by_id, reached)


def mark_early(mix: Mix) -> None:
    """A strip must run from frame 0 when it or anything downstream keeps state (a track
    read from its frozen copy keeps none of its own)."""
    master_early = mix.master_board is not None
    early: dict[str, bool] = {}
    for bus in reversed(mix.buses):  # downstream first
        bus.early = bus.board is not None or (master_early and bus.output == MASTER)
        bus.early = bus.early or any(early.get(d, False) for d in _feeds(bus))
        early[bus.id] = bus.early
    for t in mix.tracks:
        t.early = (t.board is not None and t.frozen is None) or (
            master_early and t.output == MASTER
        )
        t.early = t.early or any(early.get(d, False) for d in _feeds(t))


def _peak(x: Float32) -> float:
    """max |x| without an |x| temporary."""
    return 0.0 if x.size == 0 else max(float(x.max()), -float(x.min()))


def _track_chunk(
    strip: Strip, a: int, b: int, w0: int
) -> tuple[Float32, list[tuple[str, Float32]]] | None:
    if b <= w0 and not strip.early:
        return None
    return strip.track_chunk(a, b, w0)


class _ChunkWork:
    """The tracks' work for one chunk, shared by one task per worker thread: each task takes
    the next track not yet taken (``next`` on a count is atomic), so a chunk costs a couple
    of futures instead of one per track (a re-render's tracks take a few hundred
    microseconds each, of which a future's round trip was a large part) and the threads stay
    balanced. Results land by track index; the caller sums them in the spec's order."""

    def __init__(self, strips: list[Strip], a: int, b: int, w0: int) -> None:
        self.strips = strips
        self.a, self.b, self.w0 = a, b, w0
        self.out: list[tuple[Float32, list[tuple[str, Float32]]] | None] = [None] * len(strips)
        self.next = itertools.count()
        self.tasks: list[Future[None]] = []

    def run(self) -> None:
        while (i := next(self.next)) < len(self.strips):
            self.out[i] = _track_chunk(self.strips[i], self.a, self.b, self.w0)

    def results(self) -> list[tuple[Float32, list[tuple[str, Float32]]] | None]:
        """Each track's result, once every task is done (a task's error is raised here)."""
        for task in self.tasks:
            task.result()
        return self.out


def _route(
    strip: Strip,
    post: Float32,
    sends: list[tuple[str, Float32]],
    master: Float32,
    inputs: dict[str, Float32],
) -> None:
    """Add a strip's output and sends to their destinations (muted or unheard ones drop)."""
    dest = master if strip.output == MASTER else inputs.get(strip.output)
    if dest is not None:
        dest += post
    for bus, sig in sends:
        if bus in inputs:
            inputs[bus] += sig


def run(
    mix: Mix,
    stop: int,
    window_start: int,
    threads: int,
    on_chunk: Callable[[int, int], None],
) -> Iterator[tuple[int, Float32]]:
    """Yield (first frame, stereo master block) for [first, stop): from 0, or from the block
    holding ``window_start`` when nothing audible keeps state before it."""
    rate = mix.spec.sample_rate
    needs_zero = any(s.early for s in [*mix.tracks, *mix.buses]) or mix.master_board is not None
    first = 0 if needs_zero else (window_start // BLOCK) * BLOCK
    chunks = [(a, min(a + CHUNK, stop)) for a in range(first, stop, CHUNK)]
    gain = np.float32(10 ** (mix.spec.master.gain_db / 20))
    workers = max(1, threads)
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def submit(a: int, b: int) -> _ChunkWork:
            work = _ChunkWork(mix.tracks, a, b, window_start)
            work.tasks = [pool.submit(work.run) for _ in range(min(workers, len(mix.tracks)))]
            return work

        pending = [submit(*chunk) for chunk in chunks[:1]]  # the next chunk's work, queued
        for k, (a, b) in enumerate(chunks):
            results = pending.pop().results()
            if k + 1 < len(chunks):
                pending.append(submit(*chunks[k + 1]))
            n = b - a
            master = np.zeros((2, n), dtype=np.float32)
            inputs = {s.id: np.zeros((2, n), dtype=np.float32) for s in mix.buses}

            for strip, res in zip(mix.tracks, results, strict=True):
                if res is not None:
                    _route(strip, *res, master, inputs)
            for bus in mix.buses:
                if b <= window_start and not bus.early:
                    continue
                post, sends = bus.process(inputs[bus.id], a)
                if b > window_start:
                    bus.peak = max(bus.peak, _peak(post[:, max(0, window_start - a) :]))
                _route(bus, post, sends, master, inputs)
            if mix.master_board is not None:
                master = run_fx(mix.master_board, master, a, rate)
            if gain != 1.0:
                master *= gain
            on_chunk(a, b)
            yield a, master
