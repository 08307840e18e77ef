"""Clip preparation: decode, resample (soxr VHQ), slice, reverse, stretch and pitch, fades, gain.

The expensive steps are cached as raw float32 files (frames x channels, interleaved) in a
directory the caller owns, so a re-render after a fader move redoes only the mix:

- ``src-<sha256 of the file's bytes>-<rate>.f32``: the whole source decoded and resampled to the
  spec's rate. Decoding and resampling stream in blocks, and the mixer reads back only the
  frames of each block (positional reads, not a memory map, so the process's resident memory
  stays flat however long the sources are). A WAV or AIFF already at the spec's rate gets no
  copy: the mixer's threads decode each block from the file itself (``FileFrames``; PCM and
  float seek exactly, and libsndfile gives the same samples as a decode from the start), which
  saves writing and reading back 4 bytes per sample. A little-endian PCM or float WAV is not
  even handed to libsndfile: its bytes are read by position and converted in numpy with
  libsndfile's own arithmetic (``read_raw``), straight into the track's buffer when the clip
  is the first on the track there.
- ``clip-<sha256 of the source's key and the clip's parameters>.f32``: a stretched or pitched
  clip. Rubber Band (pedalboard's ``time_stretch``) needs the whole clip at once, so this is
  the one step whose memory grows with the clip's length.

A source's content key is the SHA-256 of its file's bytes (the bytes determine the samples).
A caller that already knows it passes it (the app: the stored Asset's ``sha256``) and the file
is not read to be hashed. Otherwise it is hashed once and remembered in ``hash-<key>`` (key:
the file's path, device, inode, size, modification and status-change times: any write to the
file, even one that restores its size and modification time, changes the status-change time,
which no program can set), so an unchanged source is not read twice to be hashed; a source
read in place is hashed only when something is keyed by it (``ClipStore.load``).

Fades and clip gain are one multiply per sample and are applied as the mixer reads each block
(``ClipReader.add_into``), not cached. Entries are written under a temporary name and renamed, so
two renders sharing a directory never see half a file; any entry may be deleted at any time
when no render runs.

A resampled source has ``resampled_frames(n, rate_in, rate_out)`` = round(n * out / in)
frames: soxr's own count differs from that by at most a frame at the end, where the engine
pads a zero or drops one, so a caller can check clip bounds from a file's header alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from audio.engine.errors import AudioError, ChannelLimit, Corrupt
from audio.engine.io import DEFAULT_LIMITS, Limits, PathLike, probe, read_blocks
from audio.engine.render.spec import Clip, Fade

CACHE_FORMAT = "render-cache-1"  # part of every key: bump when preparation changes
HASH_CHUNK = 1 << 20
MIN_STRETCH_FRAMES = 64

Float32 = npt.NDArray[np.float32]


def resampled_frames(frames: int, rate_in: int, rate_out: int) -> int:
    """round(frames * rate_out / rate_in), half up, in integers."""
    if rate_in == rate_out:
        return frames
    return (2 * frames * rate_out + rate_in) // (2 * rate_in)


def file_sha256(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FrameSource(Protocol):
    """What a clip reads from: (frames, channels) float32 by position, ``data[a:b]``."""

    frames: int
    channels: int

    @property
    def shape(self) -> tuple[int, int]: ...

    def __getitem__(self, item: slice) -> Float32: ...

    def read_into(self, a: int, out: Float32) -> None:
        """Frames [a, a + len(out)) into ``out`` (C-contiguous float32, frames x channels, or
        one dimension when mono); they must all exist."""


class Frames:
    """A raw float32 (frames, channels) cache file, read by position: ``frames[a:b]``.

    The file is opened for each read, so a spec with a thousand clips never holds a thousand
    descriptors (an open costs microseconds; a read is a chunk of frames)."""

    def __init__(self, path: Path, channels: int) -> None:
        self.path = path
        self.channels = channels
        self.frames = path.stat().st_size // (4 * channels)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.frames, self.channels)

    def __getitem__(self, item: slice) -> Float32:
        a, b, _ = item.indices(self.frames)
        n = max(0, b - a)
        out: Float32 = np.empty((n, self.channels), dtype="<f4")
        fd = os.open(self.path, os.O_RDONLY)
        try:  # straight into the array: no bytes object in between
            got = os.preadv(fd, [out.data.cast("B")], a * 4 * self.channels) if n else 0
        finally:
            os.close(fd)
        return out[: got // (4 * self.channels)]

    def read_into(self, a: int, out: Float32) -> None:
        n = out.size // self.channels
        if n == 0:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            got = os.preadv(fd, [out.data.cast("B")], a * 4 * self.channels)
        finally:
            os.close(fd)
        if got != n * 4 * self.channels:
            raise Corrupt(f"{self.path}: the cache file ends before frame {a + n}")


IN_PLACE_FORMATS = ("wav", "aiff")  # PCM and float: libsndfile seeks to the exact frame


class HandlePool:
    """Open libsndfile handles for ``FileFrames``, reused across reads, at most ``MAX_OPEN``
    idle in all (least recently used closed first), so a spec with a thousand sources never
    holds a thousand descriptors. Thread-safe; ``close`` ends them all."""

    MAX_OPEN = 64

    def __init__(self) -> None:
        self._idle: OrderedDict[int, tuple[str, sf.SoundFile]] = OrderedDict()
        self._lock = threading.Lock()
        self._serial = 0

    def take(self, path: str) -> sf.SoundFile:
        with self._lock:
            for k, (p, snd) in reversed(self._idle.items()):
                if p == path:
                    del self._idle[k]
                    return snd
        try:
            return sf.SoundFile(path)
        except (RuntimeError, OSError) as exc:
            raise Corrupt(f"{path}: cannot decode: {exc}") from None

    def give(self, path: str, snd: sf.SoundFile) -> None:
        with self._lock:
            self._serial += 1
            self._idle[self._serial] = (path, snd)
            drop = []
            while len(self._idle) > self.MAX_OPEN:
                drop.append(self._idle.popitem(last=False)[1][1])
        for old in drop:
            old.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, OrderedDict()
        for _, snd in idle.values():
            snd.close()


RAW_SAMPLES = {(1, 2): "<i2", (1, 3): "i3", (1, 4): "<i4", (3, 4): "<f4"}  # (format tag, width)
_EXTENSIBLE = 0xFFFE
CHECK_FRAMES = 4096  # frames at each end decoded both ways before the raw path is trusted


@dataclass(frozen=True)
class RawLayout:
    """Where a little-endian PCM (16, 24, 32-bit) or 32-bit float WAV keeps its samples."""

    offset: int  # of the first frame
    width: int  # bytes per sample
    align: int  # bytes per frame
    kind: str  # one of RAW_SAMPLES' values


def wav_layout(path: str, channels: int, frames: int) -> RawLayout | None:
    """The data chunk of a WAV (RIFF, RF64 or BW64) whose samples numpy converts exactly as
    libsndfile does, or None (then libsndfile decodes it)."""
    fmt = b""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:] != b"WAVE":
            return None
        offset = 12
        for _ in range(64):
            fh.seek(offset)
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"data":
                break
            if cid == b"fmt ":
                fmt = fh.read(min(size, 40))
            offset += 8 + size + (size & 1)
        else:
            return None
        end = fh.seek(0, os.SEEK_END)
    if len(fmt) < 16:
        return None
    tag = int.from_bytes(fmt[0:2], "little")
    file_channels = int.from_bytes(fmt[2:4], "little")
    align = int.from_bytes(fmt[12:14], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == _EXTENSIBLE:  # the sub-format GUID starts with the format tag
        if len(fmt) < 26 or int.from_bytes(fmt[18:20], "little") != bits:
            return None
        tag = int.from_bytes(fmt[24:26], "little")
    width = bits // 8
    kind = RAW_SAMPLES.get((tag, width))
    if kind is None or bits % 8 or file_channels != channels or align != channels * width:
        return None
    if offset + 8 + frames * align > end:
        return None
    return RawLayout(offset + 8, width, align, kind)


_SCRATCH = threading.local()


def _scratch(name: str, size: int) -> npt.NDArray[np.uint8]:
    """This thread's byte buffer ``name``, at least ``size`` long, kept between reads."""
    buf: npt.NDArray[np.uint8] | None = getattr(_SCRATCH, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.uint8)
        setattr(_SCRATCH, name, buf)
    return buf[:size]


def read_raw(path: str, layout: RawLayout, a: int, out: npt.NDArray[np.float32]) -> int:
    """Samples from frame ``a`` into ``out`` (C-contiguous, interleaved float32): libsndfile's
    own conversion (integers times 2^-15 or 2^-31, floats copied), in numpy; returns the
    number of samples read."""
    if not out.flags.c_contiguous:
        raise ValueError("read_raw needs a C-contiguous buffer")
    flat = out.reshape(-1)
    count = flat.size
    fd = os.open(path, os.O_RDONLY)
    try:
        at = layout.offset + a * layout.align
        if layout.kind == "<f4":
            return os.preadv(fd, [flat.data.cast("B")], at) // 4
        ints = _scratch("ints", 4 * count).view(np.int32)
        if layout.kind == "i3":  # int32 views at a stride of 3 bytes, the low byte masked
            buf = _scratch("raw", 3 * count + 1)
            got = os.preadv(fd, [buf[1:].data], at) // 3
            wide = np.ndarray((got,), dtype="<i4", buffer=buf.data, offset=0, strides=(3,))
            np.bitwise_and(wide, np.int32(-256), out=ints[:got])
            np.multiply(
                ints[:got], np.float32(2.0**-31), out=flat[:got], dtype=np.float32, casting="unsafe"
            )
        elif layout.kind == "<i4":
            got = os.preadv(fd, [ints.data.cast("B")], at) // 4
            np.multiply(
                ints[:got], np.float32(2.0**-31), out=flat[:got], dtype=np.float32, casting="unsafe"
            )
        else:
            shorts = ints.view("<i2")[:count]
            got = os.preadv(fd, [shorts.data.cast("B")], at) // 2
            np.multiply(
                shorts[:got],
                np.float32(2.0**-15),
                out=flat[:got],
                dtype=np.float32,
                casting="unsafe",
            )
    finally:
        os.close(fd)
    return int(got)


class FileFrames:
    """A WAV or AIFF at the spec's rate, decoded block by block where it lies (no copy).

    A little-endian PCM (16, 24, 32-bit) or 32-bit float WAV is read by position and converted
    in numpy (``read_raw``: libsndfile's own arithmetic, about twice as fast here, checked
    against libsndfile on the first and last frames when the source is opened); any other is
    decoded by a libsndfile handle from the pool, sought to the frame. Both run without the
    GIL, so the mixer's threads decode in parallel. The samples are those of a decode from
    the start (PCM is converted sample by sample, float copied)."""

    def __init__(self, path: PathLike, channels: int, pool: HandlePool):
        self.path = os.fspath(path)
        self.channels = channels
        self.pool = pool
        snd = pool.take(self.path)
        # what a decode from the start yields (a truncated file's header may claim more)
        self.frames = int(snd.frames)
        pool.give(self.path, snd)
        self.layout: RawLayout | None = None
        try:
            layout = wav_layout(self.path, channels, self.frames)
        except OSError:
            layout = None
        if layout is not None and self._agrees(layout):
            self.layout = layout

    def _agrees(self, layout: RawLayout) -> bool:
        """Whether the raw path gives libsndfile's samples, to the bit, at both ends."""
        n = min(self.frames, CHECK_FRAMES)
        for a in sorted({0, self.frames - n}):
            ours = np.empty((n, self.channels), dtype=np.float32)
            theirs = np.empty((n, self.channels), dtype=np.float32)
            self._decode(a, theirs)
            if read_raw(self.path, layout, a, ours) != ours.size:
                return False
            if not np.array_equal(ours.view(np.uint32), theirs.view(np.uint32)):
                return False
        return True

    @property
    def shape(self) -> tuple[int, int]:
        return (self.frames, self.channels)

    def __getitem__(self, item: slice) -> Float32:
        a, b, _ = item.indices(self.frames)
        out = np.empty((max(0, b - a), self.channels), dtype=np.float32)
        self.read_into(a, out)
        return out

    def read_into(self, a: int, out: Float32) -> None:
        n = out.size // self.channels
        if n == 0:
            return
        if self.layout is None:
            self._decode(a, out)
            return
        try:
            got = read_raw(self.path, self.layout, a, out) // self.channels
        except OSError as exc:
            raise Corrupt(f"{self.path}: reading failed at frame {a}: {exc.strerror}") from None
        if got != n:
            raise Corrupt(f"{self.path}: the file ends at frame {a + got}, before {a + n}")

    def _decode(self, a: int, out: Float32) -> None:
        n = out.size // self.channels
        snd = self.pool.take(self.path)
        try:
            snd.seek(a)
            got = snd.buffer_read_into(out, dtype="float32")
        except (RuntimeError, OSError) as exc:
            snd.close()
            raise Corrupt(f"{self.path}: decoding failed at frame {a}: {exc}") from None
        self.pool.give(self.path, snd)
        if got != n:
            raise Corrupt(f"{self.path}: the file ends at frame {a + got}, before {a + n}")


@dataclass(frozen=True)
class Source:
    """A decoded source at the spec's rate: ``data`` reads (frames, channels) by position."""

    name: str
    sha256: str | None  # None: read in place and nothing keyed by it (see ClipStore.load)
    channels: int
    frames: int
    data: FrameSource

    @property
    def key(self) -> str:
        """The content hash, for keys; only asked of sources loaded with ``need_hash``."""
        if self.sha256 is None:
            raise AssertionError(f"source {self.name!r} was loaded without its hash")
        return self.sha256


def _atomic_raw(final: Path, write: Any) -> None:
    """Run ``write(fh)`` into a temporary file beside ``final``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ClipStore:
    """Decodes sources and prepares stretched clips into ``cache_dir`` (see the module doc)."""

    def __init__(self, cache_dir: Path, sample_rate: int, limits: Limits = DEFAULT_LIMITS):
        self.dir = cache_dir
        self.rate = sample_rate
        self.limits = limits
        self.handles = HandlePool()  # the caller closes it after the render

    def load(
        self, name: str, path: PathLike, *, need_hash: bool = True, digest: str | None = None
    ) -> Source:
        """Decode and resample ``path`` unless the cache holds it; raise ``AudioError``.

        A WAV or AIFF at the spec's rate is read in place (``FileFrames``; a float one is
        scanned once for non-finite samples, which make it a bad source as in a decode) and
        hashed only if ``need_hash`` (a cache key or the dither's seed depends on it).
        ``digest``: the SHA-256 of the file's bytes, when the caller knows it (then the file
        is not hashed: the caller vouches for it). Safe to call from several threads at once
        (hashlib and libsndfile release the GIL)."""
        info = probe(path, self.limits)
        if info.channels > 2:
            raise ChannelLimit(
                f"{info.channels} channels: a source must be mono or stereo ({os.fspath(path)})"
            )
        in_place = info.format in IN_PLACE_FORMATS and info.sample_rate == self.rate
        try:
            if digest is not None:
                sha: str | None = digest
            else:
                sha = self._content_hash(path) if need_hash or not in_place else None
        except OSError as exc:
            raise AudioError(f"cannot read {os.fspath(path)}: {exc.strerror}") from None
        if in_place:
            if info.codec in ("FLOAT", "DOUBLE"):  # a non-finite sample is a bad source, now
                for _ in read_blocks(path, limits=self.limits, info=info):
                    pass
            frames = FileFrames(path, info.channels, self.handles)
            return Source(name, sha, info.channels, frames.frames, frames)
        if sha is None:  # not reached: only a source read in place goes unhashed
            raise AudioError(f"{os.fspath(path)}: no content hash")
        final = self.dir / f"src-{sha}-{self.rate}-{info.channels}.f32"
        if not final.exists():
            _atomic_raw(final, lambda fh: self._decode(path, info, fh))
        data = Frames(final, info.channels)
        return Source(name, sha, info.channels, data.shape[0], data)

    def _content_hash(self, path: PathLike) -> str:
        """sha256 of the file's bytes, remembered by path, device, inode, size, mtime and
        ctime (the status-change time: a rewrite that restores size and mtime still moves it,
        so a changed file is hashed again, never served a stale key)."""
        st = os.stat(path)
        ident = "\0".join(
            [
                os.path.realpath(path),
                *map(str, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)),
            ]
        )
        memo = self.dir / f"hash-{hashlib.sha256(ident.encode()).hexdigest()}"
        try:
            known = memo.read_text().strip()
            if len(known) == 64:
                return known
        except OSError:
            pass
        sha = file_sha256(path)
        _atomic_raw(memo, lambda fh: fh.write(sha.encode()))
        return sha

    def _decode(self, path: PathLike, info: Any, fh: Any) -> None:
        stream = None
        if info.sample_rate != self.rate:
            stream = soxr.ResampleStream(
                info.sample_rate, self.rate, info.channels, dtype="float32", quality="VHQ"
            )
        total_in = 0
        written = 0
        for block in read_blocks(path, limits=self.limits, info=info):
            total_in += block.shape[1]
            frames = np.ascontiguousarray(block.T)
            out = stream.resample_chunk(frames, last=False) if stream is not None else frames
            fh.write(out.astype("<f4", copy=False).tobytes())
            written += out.shape[0]
        if stream is not None:
            empty = np.zeros((0, info.channels), dtype=np.float32)
            tail = stream.resample_chunk(empty, last=True)
            want = resampled_frames(total_in, info.sample_rate, self.rate)
            keep = max(0, min(tail.shape[0], want - written))
            fh.write(np.ascontiguousarray(tail[:keep]).astype("<f4", copy=False).tobytes())
            written += keep
            if written > want:
                fh.truncate(want * 4 * info.channels)
            elif written < want:
                fh.write(bytes((want - written) * 4 * info.channels))

    def reader(self, clip: Clip, source: Source) -> ClipReader:
        """What the mixer reads a clip through; stretches or pitches it first if asked."""
        n_src = clip.source_length(source.frames)
        n = clip.timeline_length(source.frames)
        if not clip.processed:
            return ClipReader(clip, source.data, clip.source_in, n, clip.reverse)
        key = json.dumps(
            [
                CACHE_FORMAT,
                source.key,
                self.rate,
                clip.source_in,
                n_src,
                clip.reverse,
                clip.stretch,
                clip.pitch_semitones,
            ]
        )
        final = self.dir / f"clip-{hashlib.sha256(key.encode()).hexdigest()}.f32"
        if not final.exists():
            seg = np.array(source.data[clip.source_in : clip.source_in + n_src].T)
            if clip.reverse:
                seg = np.ascontiguousarray(seg[:, ::-1])
            out = stretch(seg, self.rate, clip.stretch, clip.pitch_semitones, n)
            _atomic_raw(final, lambda fh: fh.write(np.ascontiguousarray(out.T).tobytes()))
        return ClipReader(clip, Frames(final, source.channels), 0, n, False)


def stretch(seg: Float32, rate: int, factor: float, semitones: float, frames: int) -> Float32:
    """Rubber Band through pedalboard: ``factor`` is output over input length (pedalboard's
    ``stretch_factor`` is its inverse); the result is cut or zero-padded to ``frames``."""
    import pedalboard  # lazily, as in ``effects.build_plugin``

    if seg.shape[1] < MIN_STRETCH_FRAMES:  # pedalboard guesses (2, 2) to be frames x channels
        seg = np.pad(seg, ((0, 0), (0, MIN_STRETCH_FRAMES - seg.shape[1])))
    try:
        out = pedalboard.time_stretch(
            seg,
            float(rate),
            stretch_factor=1.0 / factor,
            pitch_shift_in_semitones=semitones,
        )
    except (RuntimeError, ValueError) as exc:
        raise AudioError(f"time stretch failed: {exc}") from None
    out = np.asarray(out, dtype=np.float32)
    if out.shape[1] >= frames:
        return np.ascontiguousarray(out[:, :frames])
    return np.pad(out, ((0, 0), (0, frames - out.shape[1])))


def fade_curve(fade: Fade, k: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Gain of a fade-in at samples ``k`` (n of N): linear n/N, equal_power sin(π/2·n/N),
    s_curve (1 − cos(π·n/N))/2, exponential (n/N)²; 1 from N on."""
    x = np.minimum(k / fade.length, 1.0)
    if fade.shape == "equal_power":
        return np.sin(np.pi / 2 * x)
    if fade.shape == "s_curve":
        return (1.0 - np.cos(np.pi * x)) / 2
    if fade.shape == "exponential":
        return x * x
    return x


class ClipReader:
    """Timeline samples of one clip, block by block, with fades and gain applied."""

    def __init__(
        self,
        clip: Clip,
        data: FrameSource,
        offset: int,
        frames: int,
        reverse: bool,
    ) -> None:
        self.clip = clip
        self.data = data
        self.offset = offset
        self.frames = frames
        self.reverse = reverse
        self.start = clip.start
        self.end = clip.start + frames
        self.channels = int(data.shape[1])
        self.gain = 10 ** (clip.gain_db / 20)

    def add_into(self, dest: Float32, a: int, b: int) -> None:
        """Add timeline frames [a, b) of the clip (inside it) to ``dest`` ((channels or 2,
        b - a) float32: a mono clip feeds both sides of a stereo track), with no copy of
        the samples beyond the decode when the clip has no fade or gain there."""
        k0, k1 = a - self.start, b - self.start
        if self.reverse:
            base = self.offset + self.frames
            x = self.data[base - k1 : base - k0][::-1]
        else:
            x = self.data[self.offset + k0 : self.offset + k1]
        env = self._envelope(k0, k1)
        if env is not None:
            dest += (x.T * env).astype(np.float32)
        elif self.gain != 1.0:
            dest += x.T * np.float32(self.gain)
        else:
            dest += x.T

    def write_into(self, dest: Float32, a: int, b: int) -> None:
        """Timeline frames [a, b) of the clip written over ``dest`` (as ``add_into`` on zeros:
        the same samples), decoded straight into it when the clip and ``dest`` are both mono
        and play forwards, so the samples are touched once more only for a fade or gain."""
        k0, k1 = a - self.start, b - self.start
        n = k1 - k0
        mono = self.channels == 1
        if mono and not self.reverse:
            row = dest[0]
            self.data.read_into(self.offset + k0, row)
        else:
            raw: Float32 = np.empty((n, self.channels), dtype=np.float32)
            if self.reverse:
                base = self.offset + self.frames
                self.data.read_into(base - k1, raw)
                raw = raw[::-1]
            else:
                self.data.read_into(self.offset + k0, raw)
            row = dest[0]
            if mono:
                row[...] = raw[:, 0]
            else:
                dest[...] = raw.T
        env = self._envelope(k0, k1)
        target = row if mono else dest
        if env is not None:
            np.multiply(target, env, out=target, casting="same_kind")
        elif self.gain != 1.0:
            target *= np.float32(self.gain)
        if mono and dest.shape[0] == 2:
            dest[1] = row

    def _envelope(self, k0: int, k1: int) -> npt.NDArray[np.float64] | None:
        fin, fout = self.clip.fade_in, self.clip.fade_out
        touches_in = fin.length > 0 and k0 < fin.length
        touches_out = fout.length > 0 and k1 > self.frames - fout.length
        if not touches_in and not touches_out:
            return None
        k = np.arange(k0, k1, dtype=np.int64)
        env = np.full(k1 - k0, self.gain, dtype=np.float64)
        if touches_in:
            env *= fade_curve(fin, k)
        if touches_out:
            env *= fade_curve(fout, self.frames - 1 - k)
        return env
