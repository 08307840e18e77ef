"""The render's WAV writer: written here, byte for byte, so two renders give identical files.

libsndfile puts a PEAK chunk with a timestamp into float WAVs; this writer writes only RIFF,
a 28-byte JUNK chunk (room for a ds64 chunk, so a file past 4 GB becomes RF64 in place),
fmt, fact (float only) and data. 32-bit float keeps peaks over full scale. 24 and 16 bit
clip at full scale (the writer counts the samples that clipped); 16 bit gets TPDF dither of
+-1 LSB, added once, last, from a generator seeded by the caller and by each sample's
position, so a window of a render gets the same dither as the whole render.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from audio.engine.errors import Unreadable

DITHER_BLOCK = 8192  # dither noise is drawn per block of this many frames, by block index
BIT_DEPTHS = ("32f", "24", "16")
_HEADER = 12 + 8 + 28  # RIFF/WAVE, JUNK
_RIFF_MAX = 0xFFFFFFFF


def _fmt(bits: str, channels: int, rate: int) -> bytes:
    if bits == "32f":
        body = struct.pack("<HHIIHHH", 3, channels, rate, rate * channels * 4, channels * 4, 32, 0)
        return b"fmt " + struct.pack("<I", len(body)) + body
    width = int(bits) // 8
    body = struct.pack(
        "<HHIIHH", 1, channels, rate, rate * channels * width, channels * width, int(bits)
    )
    return b"fmt " + struct.pack("<I", len(body)) + body


class WavWriter:
    """Write (channels, frames) float32 blocks in order; ``close()`` renames into place.

    Writes to a temporary name in the destination's folder; on an exception (or ``abort``)
    that file is removed, so no partial output is ever left under ``path``.
    """

    def __init__(
        self, path: Path, sample_rate: int, channels: int, bit_depth: str, seed: int
    ) -> None:
        if bit_depth not in BIT_DEPTHS:
            raise ValueError(f"bit depth {bit_depth!r} is not one of {BIT_DEPTHS}")
        self.path = path
        self.rate = sample_rate
        self.channels = channels
        self.bits = bit_depth
        self.seed = seed
        self.width = 4 if bit_depth == "32f" else int(bit_depth) // 8
        self.frames = 0
        self.clipped = 0
        self.sha = hashlib.sha256()
        self.tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.part"
        # os.open with 0o666 honours the umask (mkstemp would leave the file private)
        try:
            fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as exc:
            raise Unreadable(f"{path}: cannot write there ({exc.strerror})") from None
        self.fh: BinaryIO = os.fdopen(fd, "wb")
        self.fmt = _fmt(bit_depth, channels, sample_rate)
        self.fh.write(self._header(0))

    def _header(self, frames: int) -> bytes:
        data = frames * self.channels * self.width
        fact = b"fact" + struct.pack("<II", 4, frames) if self.bits == "32f" else b""
        rest = len(self.fmt) + len(fact) + 8
        riff = 4 + 36 + rest + data
        if riff + 8 <= _RIFF_MAX:
            head = b"RIFF" + struct.pack("<I", riff) + b"WAVE"
            head += b"JUNK" + struct.pack("<I", 28) + bytes(28)
            tail = b"data" + struct.pack("<I", data)
        else:
            head = b"RF64" + struct.pack("<I", _RIFF_MAX) + b"WAVE"
            head += b"ds64" + struct.pack("<IQQQI", 28, riff, data, frames, 0)
            fact = b"fact" + struct.pack("<II", 4, _RIFF_MAX) if fact else b""
            tail = b"data" + struct.pack("<I", _RIFF_MAX)
        return head + self.fmt + fact + tail

    def _ints(self, block: npt.NDArray[np.float32], first: int) -> npt.NDArray[np.int32]:
        scale = float(2 ** (int(self.bits) - 1))
        x = block.astype(np.float64) * scale
        if self.bits == "16":
            x += self._dither(first, block.shape[1])
        r = np.rint(x)
        over = (r > scale - 1) | (r < -scale)
        self.clipped += int(np.count_nonzero(over))
        return np.clip(r, -scale, scale - 1).astype(np.int32)

    def _dither(self, first: int, n: int) -> npt.NDArray[np.float64]:
        """TPDF noise in LSB for frames [first, first + n), the same wherever a render starts."""
        out = np.empty((self.channels, n))
        k = first // DITHER_BLOCK
        done = 0
        while done < n:
            rng = np.random.default_rng([self.seed, k])
            noise = rng.random((self.channels, DITHER_BLOCK)) - rng.random(
                (self.channels, DITHER_BLOCK)
            )
            lo = first + done - k * DITHER_BLOCK
            take = min(DITHER_BLOCK - lo, n - done)
            out[:, done : done + take] = noise[:, lo : lo + take]
            done += take
            k += 1
        return out

    def write(self, block: npt.NDArray[np.float32], first: int) -> npt.NDArray[np.float32]:
        """Append frames ``first..`` (absolute, for the dither); returns what was stored."""
        data: bytes | memoryview
        if self.bits == "32f":
            stored = block
            data = np.ascontiguousarray(block.T, dtype="<f4").data.cast("B")  # one copy
        else:
            ints = self._ints(block, first)
            stored = (ints / float(2 ** (int(self.bits) - 1))).astype(np.float32)
            inter = np.ascontiguousarray(ints.T).astype("<i4")
            if self.bits == "16":
                data = inter.astype("<i2").tobytes()
            else:
                data = inter.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        self._put(data)
        self.sha.update(data)
        self.frames += block.shape[1]
        return stored

    def close(self) -> None:
        """Patch the sizes, flush to disk and rename over ``path``."""
        try:
            self.fh.seek(0)
            self.fh.write(self._header(self.frames))
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise Unreadable(f"{self.path}: cannot write ({exc.strerror})") from None

    def _put(self, data: bytes | memoryview) -> None:
        """A full disk or a vanished folder is bad output, reported as such, not a crash."""
        try:
            self.fh.write(data)
        except OSError as exc:
            raise Unreadable(f"{self.path}: cannot write ({exc.strerror})") from None

    def abort(self) -> None:
        if not self.fh.closed:
            self.fh.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abort()
