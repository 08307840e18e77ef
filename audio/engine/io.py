"""Read any common audio file safely, in blocks; write WAV, FLAC and MP3.

Untrusted files are checked in pure Python first (RIFF/RF64, AIFF, FLAC STREAMINFO, the Ogg
identification header, the first MPEG frame header), so absurd channel counts, rates or sizes are
reported with the exact value before libsndfile sees them (its history has crashes on exactly
those). Decoding then goes through libsndfile in fixed blocks, counting decoded frames, because
header lengths are never trusted. Every failure becomes an ``AudioError``.

The cost of refusing a file is bounded before any analysis runs (see ``Limits``): a length the
header states is checked against the duration cap and the decode budget at once; a FLAC whose
STREAMINFO omits its length is decoded once, counting only, and stopped at the first of the two;
a FLAC that states a length must hold it to its end (a truncated one is refused here, as a
truncated WAV is, rather than becoming an asset whose analysis then fails).
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio.engine.errors import (
    AudioError,
    ChannelLimit,
    Corrupt,
    DecoderCrashed,
    EmptyAudio,
    FileMissing,
    Overcompressed,
    SampleRateLimit,
    TooLarge,
    TooLong,
    Unreadable,
    UnsupportedFormat,
)
from audio.engine.formats import labels_sentence
from audio.engine.types import Audio, AudioInfo

PathLike = str | os.PathLike[str]

BLOCK_FRAMES = 65536
SEEK_SET = 0
MAX_HEADER_CHUNKS = 64
_DECODER_ERRORS = (RuntimeError, ValueError, TypeError, OverflowError, struct.error, EOFError)


@dataclass(frozen=True)
class Limits:
    """What the engine agrees to decode; checked from the header and again while decoding.

    The decode budget: a file may decode to at most ``free_samples`` + ``max_samples_per_byte``
    x its size in samples (frames x channels). It is a compression-ratio rule with a floor, in
    samples because the cost of decoding and analysing is per sample. Why these numbers:

    - Music in FLAC is 2:1 to 8:1, at most ~4 samples per byte (16-bit at 8:1); lossy codecs
      reach ~24 (MP3 at 32 kb/s) and ~128 (Opus at 6 kb/s stereo). Digital silence is ~500
      (libsndfile's FLAC) to ~10,000 (hand-made frames). So 64 per byte is 16x music.
    - A stem that is mostly silence still pays for its signal: with silence at ~500 samples per
      byte, any file with more than ~5 % non-silent signal passes at any length (a vocal stem
      with a verse in a ten-minute song, minutes of silence inside a song).
    - The floor lets a file pass whatever it holds up to 115.2 million samples: 20 minutes of
      48 kHz stereo (10 of 96 kHz stereo) of pure digital silence, e.g. the empty track of a
      DAW's "export all tracks".
    - Refusing costs at most the floor plus 64 x size in decoded samples, and only where the
      length must be found by decoding (FLAC without a length, counted at ~50-120 million
      samples/s on one core): about 1-2 s for a small bomb, before any analysis.

    A wall-clock budget was not chosen: it would refuse a legitimate long file on a busy
    machine, and this rule refuses the same files on every machine. (The web tier's sandbox
    still stops a probe that runs past its own timeout.)
    """

    max_duration_s: float = 3600.0
    min_channels: int = 1
    max_channels: int = 8
    min_sample_rate: int = 8000
    max_sample_rate: int = 192000
    max_file_bytes: int = 4 * 1024**3
    free_samples: int = 20 * 60 * 48000 * 2
    max_samples_per_byte: int = 64

    def max_frames(self, sample_rate: int) -> int:
        return math.ceil(self.max_duration_s * sample_rate)

    def max_samples(self, file_bytes: int) -> int:
        """The decode budget of a file of ``file_bytes``, in samples (frames x channels)."""
        return self.free_samples + self.max_samples_per_byte * file_bytes

    def duration_text(self) -> str:
        minutes = self.max_duration_s / 60
        return f"{minutes:g}-minute" if minutes >= 1 else f"{self.max_duration_s:g}-second"


DEFAULT_LIMITS = Limits()


@dataclass
class _Header:
    format: str
    codec: str
    sample_rate: int
    channels: int
    bit_depth: int | None
    frames: int | None  # None when the container does not say (MP3, Ogg, FLAC with 0)


# ---------------------------------------------------------------------------------------------
# stderr: libsndfile's MP3 decoder prints notes; keep the CLI's "error:" line first.

_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr(enabled: bool = True) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (a C library writes there)."""
    if not enabled:
        yield
        return
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
            finally:
                os.close(devnull)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# ---------------------------------------------------------------------------------------------
# Pure-Python header checks


def _check_channels(channels: int, limits: Limits) -> None:
    if not limits.min_channels <= channels <= limits.max_channels:
        raise ChannelLimit(
            f"{channels} channels outside {limits.min_channels}-{limits.max_channels}"
        )


def _check_rate(rate: float, limits: Limits) -> None:
    if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        shown = f"{rate:g}" if isinstance(rate, float) and not rate.is_integer() else f"{rate:.0f}"
        raise SampleRateLimit(
            f"sample rate {shown} Hz outside {limits.min_sample_rate}-{limits.max_sample_rate}"
        )


def _check_duration(frames: int, rate: int, limits: Limits) -> None:
    if frames > limits.max_frames(rate):
        raise TooLong(
            f"audio longer than the {limits.duration_text()} limit "
            f"(the header says {frames / rate / 60:.1f} minutes)"
        )


def _human_bytes(n: int) -> str:
    for unit, size in (("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _check_budget(samples: int, file_bytes: int, limits: Limits, *, decoded: bool) -> None:
    allowed = limits.max_samples(file_bytes)
    if samples > allowed:
        said = "decodes to more than" if decoded else "claims"
        raise Overcompressed(
            f"the file {said} {samples / 1e6:.1f} million samples from "
            f"{_human_bytes(file_bytes)}, more than audio compresses to (at most "
            f"{allowed / 1e6:.1f} million for this size): refused as a decompression bomb"
        )


def _skip_id3(f: _Reader) -> int:
    """Offset after any ID3v2 tags at the start (FLAC and MP3 may carry them)."""
    offset = 0
    for _ in range(16):
        head = f.read_at(offset, 10)
        if len(head) < 10 or head[:3] != b"ID3":
            return offset
        if any(b & 0x80 for b in head[6:10]):
            raise Corrupt("ID3 tag has an invalid size field")
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        offset += 10 + size + (10 if head[5] & 0x10 else 0)
        if offset >= f.size:
            raise Corrupt(f"ID3 tag claims {size} bytes, past the end of the {f.size}-byte file")
    raise Corrupt("too many ID3 tags at the start of the file")


class _Reader:
    """Bounded random access to the start of a file, for header parsing."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self._fh = fh
        self.size = size

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or offset >= self.size:
            return b""
        self._fh.seek(offset)
        return self._fh.read(n)


def _need(data: bytes, n: int, what: str) -> bytes:
    if len(data) < n:
        raise Corrupt(f"file ends inside the {what}")
    return data


_PCM_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def _parse_wav(f: _Reader, limits: Limits) -> _Header:
    head = _need(f.read_at(0, 12), 12, "RIFF header")
    riff_id = head[:4]
    if head[8:12] != b"WAVE":
        raise UnsupportedFormat("RIFF file is not a WAVE file")
    is_rf64 = riff_id in (b"RF64", b"BW64")
    ds64_data: int | None = None
    fmt: bytes | None = None
    data_size: int | None = None
    offset = 12
    for _ in range(MAX_HEADER_CHUNKS):
        ch = f.read_at(offset, 8)
        if len(ch) < 8:
            break
        cid, size = ch[:4], struct.unpack("<I", ch[4:8])[0]
        body_at = offset + 8
        if cid == b"ds64" and is_rf64:
            body = _need(f.read_at(body_at, 28), 28, "ds64 chunk")
            ds64_data = struct.unpack("<Q", body[8:16])[0]
        if cid == b"data":
            if is_rf64 and ds64_data is None:
                raise Corrupt("RF64 file without a ds64 chunk before its data")
            if is_rf64 and size == 0xFFFFFFFF:
                size = int(ds64_data or 0)
            remaining = f.size - body_at
            if size > remaining:
                raise Corrupt(
                    f"data chunk claims {size} bytes but only {remaining} are in the file"
                )
            data_size = size
            if fmt is not None:
                break
        elif cid == b"fmt ":
            if size < 16:
                raise Corrupt(f"fmt chunk is {size} bytes, shorter than 16")
            fmt = _need(f.read_at(body_at, min(size, 40)), 16, "fmt chunk")
            if data_size is not None:
                break
        elif size > f.size - body_at:
            raise Corrupt(
                f"{cid.decode('latin-1')!r} chunk claims {size} bytes, past the end of the file"
            )
        offset = body_at + size + (size & 1)
    else:
        raise Corrupt(f"more than {MAX_HEADER_CHUNKS} chunks before the audio data")
    if fmt is None:
        raise Corrupt("WAV file has no fmt chunk")
    if data_size is None:
        raise Corrupt("WAV file has no data chunk")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE:
        if len(fmt) < 40:
            raise Corrupt("WAVE_FORMAT_EXTENSIBLE fmt chunk is too short")
        if fmt[26:40] != _PCM_GUID_TAIL:
            raise UnsupportedFormat("WAV sub-format is not PCM or IEEE float")
        tag = struct.unpack("<H", fmt[24:26])[0]
    _check_channels(channels, limits)
    _check_rate(rate, limits)
    if tag == 1 and bits in (8, 16, 24, 32):
        codec = {8: "PCM_U8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32"}[bits]
    elif tag == 3 and bits in (32, 64):
        codec = "FLOAT" if bits == 32 else "DOUBLE"
    elif tag in (1, 3):
        raise UnsupportedFormat(f"WAV with {bits} bits per sample is not supported")
    else:
        raise UnsupportedFormat(f"WAV codec 0x{tag:04X} is not supported (use PCM or float)")
    if block_align != channels * bits // 8:
        raise Corrupt(f"WAV block align {block_align} does not match {channels} x {bits} bits")
    frames = data_size // block_align
    return _Header("wav", codec, rate, channels, bits, frames)


def _extended_to_float(b: bytes) -> float:
    """IEEE 754 80-bit extended (AIFF's sample rate) to a Python float (nan/inf kept)."""
    exponent = ((b[0] & 0x7F) << 8) | b[1]
    mantissa = int.from_bytes(b[2:10], "big")
    if exponent == 0x7FFF:
        return math.nan if mantissa & ((1 << 63) - 1) else math.inf
    if exponent == 0 and mantissa == 0:
        return 0.0
    value = math.ldexp(mantissa, exponent - 16383 - 63) if exponent < 16383 + 1024 else math.inf
    return -value if b[0] & 0x80 else value


_AIFC_CODECS = {
    b"NONE": "PCM",
    b"twos": "PCM",
    b"sowt": "PCM",
    b"fl32": "FLOAT",
    b"FL32": "FLOAT",
    b"fl64": "DOUBLE",
    b"FL64": "DOUBLE",
}


def _parse_aiff(f: _Reader, limits: Limits) -> _Header:
    head = _need(f.read_at(0, 12), 12, "FORM header")
    is_aifc = head[8:12] == b"AIFC"
    comm: bytes | None = None
    ssnd_size: int | None = None
    offset = 12
    for _ in range(MAX_HEADER_CHUNKS):
        ch = f.read_at(offset, 8)
        if len(ch) < 8:
            break
        cid, size = ch[:4], struct.unpack(">I", ch[4:8])[0]
        body_at = offset + 8
        remaining = f.size - body_at
        if size > remaining:
            raise Corrupt(
                f"{cid.decode('latin-1')!r} chunk claims {size} bytes but only {remaining} "
                "are in the file"
            )
        if cid == b"COMM":
            comm = _need(f.read_at(body_at, min(size, 64)), 22 if is_aifc else 18, "COMM chunk")
        elif cid == b"SSND":
            ssnd = _need(f.read_at(body_at, 8), 8, "SSND chunk")
            data_offset = struct.unpack(">I", ssnd[:4])[0]
            ssnd_size = max(0, size - 8 - data_offset)
        if comm is not None and ssnd_size is not None:
            break
        offset = body_at + size + (size & 1)
    else:
        raise Corrupt(f"more than {MAX_HEADER_CHUNKS} chunks before the audio data")
    if comm is None:
        raise Corrupt("AIFF file has no COMM chunk")
    channels, frames, bits = struct.unpack(">hIh", comm[:8])
    rate = _extended_to_float(comm[8:18])
    if math.isnan(rate) or math.isinf(rate):
        raise SampleRateLimit(f"sample rate {rate} Hz is not a number")
    _check_channels(channels, limits)
    _check_rate(rate, limits)
    kind = "PCM"
    if is_aifc:
        kind = _AIFC_CODECS.get(comm[18:22], "")
        if not kind:
            raise UnsupportedFormat(
                f"AIFF-C compression {comm[18:22].decode('latin-1')!r} is not supported"
            )
    if kind == "PCM" and bits not in (8, 16, 24, 32):
        raise UnsupportedFormat(f"AIFF with {bits} bits per sample is not supported")
    if kind == "FLOAT":
        bits = 32
    elif kind == "DOUBLE":
        bits = 64
    if frames and ssnd_size is None:
        raise Corrupt("AIFF file has no SSND chunk")
    needed = frames * channels * (bits // 8)
    if ssnd_size is not None and needed > ssnd_size:
        raise Corrupt(f"AIFF header claims {frames} frames but the sound data holds fewer")
    codec = {"FLOAT": "FLOAT", "DOUBLE": "DOUBLE"}.get(kind, f"PCM_{bits}")
    return _Header("aiff", codec, round(rate), channels, bits, frames)


def _parse_flac(f: _Reader, limits: Limits, start: int) -> _Header:
    block = _need(f.read_at(start + 4, 4 + 34), 38, "FLAC STREAMINFO block")
    if block[0] & 0x7F != 0 or int.from_bytes(block[1:4], "big") != 34:
        raise Corrupt("FLAC file does not start with a STREAMINFO block")
    info = block[4:]
    packed = int.from_bytes(info[10:18], "big")
    rate = packed >> 44
    channels = ((packed >> 41) & 0x7) + 1
    bits = ((packed >> 36) & 0x1F) + 1
    total = packed & ((1 << 36) - 1)
    _check_rate(rate, limits)
    _check_channels(channels, limits)
    if bits not in (8, 16, 24):
        raise UnsupportedFormat(f"FLAC with {bits} bits per sample is not supported")
    return _Header("flac", f"PCM_{bits if bits > 8 else 'S8'}", rate, channels, bits, total or None)


def _parse_ogg(f: _Reader, limits: Limits) -> _Header:
    page = _need(f.read_at(0, 27), 27, "Ogg page header")
    nseg = page[26]
    packet = f.read_at(27 + nseg, 64)
    if packet[:7] == b"\x01vorbis":
        body = _need(packet, 16, "Vorbis identification header")
        channels = body[11]
        rate = struct.unpack("<I", body[12:16])[0]
        _check_channels(channels, limits)
        _check_rate(rate, limits)
        return _Header("ogg", "VORBIS", rate, channels, None, None)
    if packet[:8] == b"OpusHead":
        body = _need(packet, 19, "Opus identification header")
        channels = body[9]
        _check_channels(channels, limits)
        return _Header("ogg", "OPUS", 48000, channels, None, None)
    raise UnsupportedFormat("Ogg stream is neither Vorbis nor Opus")


_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_header(b: bytes) -> tuple[int, int] | None:
    """(sample_rate, channels) if ``b`` starts with a plausible MPEG audio frame header."""
    if len(b) < 4 or b[0] != 0xFF or b[1] & 0xE0 != 0xE0:
        return None
    version, layer = (b[1] >> 3) & 3, (b[1] >> 1) & 3
    bitrate, rate_index = b[2] >> 4, (b[2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate == 15 or rate_index == 3:
        return None
    return _MPEG_RATES[version][rate_index], 1 if b[3] >> 6 == 3 else 2


def _parse_mp3(f: _Reader, limits: Limits, start: int) -> _Header:
    window = f.read_at(start, 65536)
    for i in range(max(0, len(window) - 3)):
        if window[i] == 0xFF:
            found = _mpeg_header(window[i : i + 4])
            if found:
                rate, channels = found
                _check_rate(rate, limits)
                _check_channels(channels, limits)
                return _Header("mp3", "MPEG_LAYER_III", rate, channels, None, None)
    raise Corrupt("no MPEG audio frame found after the ID3 tag")


def _sniff(f: _Reader, limits: Limits) -> _Header:
    head = f.read_at(0, 16)
    if head[:4] in (b"RIFF", b"RF64", b"BW64"):
        return _parse_wav(f, limits)
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _parse_aiff(f, limits)
    if head[:4] == b"OggS":
        return _parse_ogg(f, limits)
    start = _skip_id3(f)
    after = f.read_at(start, 4)
    if after == b"fLaC":
        return _parse_flac(f, limits, start)
    if start > 0 or _mpeg_header(after):
        return _parse_mp3(f, limits, start)
    raise UnsupportedFormat(f"not a {labels_sentence()} file")


# ---------------------------------------------------------------------------------------------
# Public API


def _stat(path: PathLike, limits: Limits) -> int:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileMissing(f"file not found: {os.fspath(path)}") from None
    except OSError as exc:
        raise Unreadable(f"cannot read {os.fspath(path)}: {exc.strerror}") from None
    if not Path(path).is_file():
        raise Unreadable(f"not a regular file: {os.fspath(path)}")
    if st.st_size == 0:
        raise EmptyAudio("the file is empty")
    if st.st_size > limits.max_file_bytes:
        raise TooLarge(f"file is {st.st_size} bytes, over the {limits.max_file_bytes}-byte limit")
    return st.st_size


def _open_soundfile(path: PathLike, fmt: str) -> sf.SoundFile:
    try:
        with _quiet_stderr(fmt == "mp3"):
            return sf.SoundFile(os.fspath(path))
    except MemoryError:
        raise DecoderCrashed("the decoder ran out of memory opening the file") from None
    except (*_DECODER_ERRORS, OSError) as exc:
        raise Corrupt(f"cannot decode the {fmt.upper()} file: {_short(exc)}") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.replace("Error opening ", "").strip()[:200]


def _read_into(snd: sf.SoundFile, out: npt.NDArray[Any], done: int) -> int:
    """Decode up to ``len(out)`` frames into ``out`` (float32 or int16, C order); the count.

    Calls libsndfile directly: soundfile's ``read`` seeks back to its own position after each
    block, and libsndfile's FLAC seek fails at the end of a stream whose STREAMINFO omits the
    length, so such a (legitimate, e.g. piped) FLAC could never be read to its end.
    """
    kind = "float" if out.dtype == np.float32 else "short"
    pointer = sf._ffi.cast(f"{kind} *", sf._ffi.from_buffer(out))
    read = getattr(sf._snd, f"sf_readf_{kind}")
    try:
        got = int(read(snd._file, pointer, out.shape[0]))
    except MemoryError:
        raise DecoderCrashed("the decoder ran out of memory") from None
    if sf._snd.sf_error(snd._file):
        reason = sf._ffi.string(sf._snd.sf_strerror(snd._file)).decode("utf-8", "replace")
        raise Corrupt(f"decoding failed after {done} frames: {reason.strip()[:200]}")
    return got


def _count_frames(snd: sf.SoundFile, size: int, limits: Limits) -> int:
    """Decode a file whose header gives no length, counting only; stop at the duration cap or
    the decode budget, whichever comes first, so refusing a bomb costs at most that."""
    rate, channels = snd.samplerate, snd.channels
    max_frames = limits.max_frames(rate)
    buf = np.empty((BLOCK_FRAMES, channels), dtype=np.int16)
    total = 0
    while n := _read_into(snd, buf, total):
        total += n
        if total > max_frames:
            raise TooLong(
                f"audio longer than the {limits.duration_text()} limit (found by decoding: "
                "the header gives no length)"
            )
        _check_budget(total * channels, size, limits, decoded=True)
    return total


def _check_flac_end(snd: sf.SoundFile, frames: int) -> None:
    """A FLAC that states its length must hold it: read its last frames (a seek and one or two
    FLAC frames of decoding, whatever the length)."""
    start = max(0, frames - 2 * 4096)
    truncated = Corrupt(
        f"the FLAC file is truncated: it holds fewer than the {frames} frames its header states"
    )
    if int(sf._snd.sf_seek(snd._file, start, SEEK_SET)) != start:
        raise truncated
    buf = np.empty((frames - start + 1, snd.channels), dtype=np.int16)
    try:
        got = _read_into(snd, buf, start)
    except Corrupt:
        raise truncated from None
    if got != frames - start:
        raise truncated


def probe(path: PathLike, limits: Limits = DEFAULT_LIMITS) -> AudioInfo:
    """Describe a file and check it against the limits; raise an ``AudioError`` if it breaks
    one. Decodes nothing, except a FLAC without a stated length (counted under the budget) and
    the last frames of a FLAC that states one."""
    size = _stat(path, limits)
    try:
        with open(path, "rb") as fh:
            header = _sniff(_Reader(fh, size), limits)
    except AudioError:
        raise
    except OSError as exc:
        raise Unreadable(f"cannot read {os.fspath(path)}: {exc.strerror}") from None
    except (*_DECODER_ERRORS, IndexError, KeyError) as exc:
        raise Corrupt(f"unreadable {type(exc).__name__} in the file header") from None
    if header.frames is not None:
        _check_duration(header.frames, header.sample_rate, limits)
        _check_budget(header.frames * header.channels, size, limits, decoded=False)
    with _open_soundfile(path, header.format) as snd:
        rate, channels, frames = snd.samplerate, snd.channels, snd.frames
        if channels != header.channels or rate != header.sample_rate:
            raise Corrupt(
                f"the decoder sees {channels} channels at {rate} Hz but the header says "
                f"{header.channels} at {header.sample_rate} Hz"
            )
        if header.format == "flac" and header.frames is None:
            frames = _count_frames(snd, size, limits)
            if frames == 0:
                raise EmptyAudio("the file holds no audio frames")
        elif header.format == "flac" and header.frames is not None:
            _check_flac_end(snd, header.frames)
    if header.frames is None and header.format != "flac":
        # MP3/Ogg: libsndfile's figure may be an estimate; still a cheap early reject, and the
        # reader counts anyway.
        frames = max(0, int(frames)) if frames < 2**62 else 0
        _check_duration(frames, rate, limits)
        _check_budget(frames * channels, size, limits, decoded=False)
    elif header.frames is not None:
        frames = header.frames
    return AudioInfo(
        format=header.format,
        codec=header.codec,
        sample_rate=rate,
        channels=channels,
        bit_depth=header.bit_depth,
        frames=frames,
        duration_s=frames / rate,
    )


def read_blocks(
    path: PathLike,
    block_frames: int = BLOCK_FRAMES,
    limits: Limits = DEFAULT_LIMITS,
    *,
    info: AudioInfo | None = None,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield float32 (channels, frames) blocks; memory stays flat whatever the file's length.

    Decoded frames are counted and ``TooLong`` (or ``Overcompressed``) raised once past the cap
    or the decode budget, whatever the header said. Pass ``info`` from an earlier ``probe`` to
    skip probing twice.
    """
    if block_frames <= 0:
        raise ValueError("block_frames must be positive")
    if info is None:
        info = probe(path, limits)
    max_frames = limits.max_frames(info.sample_rate)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise Unreadable(f"cannot read {os.fspath(path)}: {exc.strerror}") from None
    quiet = info.format == "mp3"
    check_finite = info.codec in ("FLOAT", "DOUBLE")
    total = 0
    snd = _open_soundfile(path, info.format)
    try:
        buf = np.empty((block_frames, info.channels), dtype=np.float32)
        while True:
            with _quiet_stderr(quiet):
                n = _read_into(snd, buf, total)
            if n == 0:
                break
            total += n
            if total > max_frames:
                raise TooLong(f"audio longer than the {limits.duration_text()} limit")
            _check_budget(total * info.channels, size, limits, decoded=True)
            block = np.ascontiguousarray(buf[:n].T)
            if check_finite and not np.isfinite(block).all():
                raise Corrupt(f"the file holds non-finite samples near frame {total - n}")
            yield block
            if n < block_frames and info.format in ("wav", "aiff"):
                break
    finally:
        snd.close()
    if total == 0:
        raise EmptyAudio("the file holds no audio frames")


def read_all(path: PathLike, limits: Limits = DEFAULT_LIMITS) -> Audio:
    """Whole file in memory: for short files only (renders, tests)."""
    info = probe(path, limits)
    blocks = list(read_blocks(path, limits=limits, info=info))
    return Audio(np.concatenate(blocks, axis=1), info.sample_rate)


# ---------------------------------------------------------------------------------------------
# Writers


def _as_samples(samples: npt.ArrayLike) -> npt.NDArray[np.float32]:
    arr = np.asarray(samples, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise ValueError("samples must be shaped (channels, frames)")
    return arr


def _to_int(chunk: npt.NDArray[np.float32], bits: int) -> npt.NDArray[np.int32]:
    """Round (not floor, as libsndfile does) to ``bits``; 24-bit goes left-justified in int32."""
    scale = float(2 ** (bits - 1))
    ints = np.clip(np.rint(chunk.astype(np.float64) * scale), -scale, scale - 1).astype(np.int32)
    return ints << (32 - bits) if bits == 24 else ints


def _write_pcm(
    path: PathLike, samples: npt.ArrayLike, sample_rate: int, bits: int, fmt: str
) -> None:
    arr = _as_samples(samples)
    subtype = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}.get(bits)
    if subtype is None or (fmt == "FLAC" and bits == 32):
        raise ValueError(f"unsupported bit depth {bits} for {fmt}")
    with sf.SoundFile(os.fspath(path), "w", sample_rate, arr.shape[0], subtype, format=fmt) as f:
        for start in range(0, arr.shape[1], BLOCK_FRAMES):
            chunk = arr[:, start : start + BLOCK_FRAMES]
            if bits == 32:
                f.write(np.ascontiguousarray(chunk.T))
            else:
                ints = _to_int(chunk, bits)
                f.write(np.ascontiguousarray((ints if bits == 24 else ints.astype(np.int16)).T))


def write_wav(
    path: PathLike, samples: npt.ArrayLike, sample_rate: int, bit_depth: int = 24
) -> None:
    """WAV: 16/24-bit PCM (rounded, no dither: dither belongs to delivery) or 32-bit float."""
    _write_pcm(path, samples, sample_rate, bit_depth, "WAV")


def write_flac(
    path: PathLike, samples: npt.ArrayLike, sample_rate: int, bit_depth: int = 24
) -> None:
    """FLAC, 16 or 24 bit."""
    _write_pcm(path, samples, sample_rate, bit_depth, "FLAC")


def write_mp3(
    path: PathLike, samples: npt.ArrayLike, sample_rate: int, quality: str | int = "V2"
) -> None:
    """MP3 through pedalboard's LAME (32/44.1/48 kHz only); read it back with soundfile."""
    from pedalboard.io import AudioFile

    if sample_rate not in (32000, 44100, 48000):
        raise UnsupportedFormat(f"MP3 encoding needs 32, 44.1 or 48 kHz, not {sample_rate} Hz")
    arr = _as_samples(samples)
    with AudioFile(os.fspath(path), "w", sample_rate, arr.shape[0], quality=quality) as f:
        for start in range(0, arr.shape[1], BLOCK_FRAMES):
            f.write(np.ascontiguousarray(arr[:, start : start + BLOCK_FRAMES]))


def read_spec_file(path: Path, *, limit: int, what: str) -> bytes:
    """The bytes of a small JSON file a command reads (a mix spec, a release), checked before
    reading: missing, unreadable, a folder or over `limit` bytes each get their own sentence,
    which names `what` the file should be."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise FileMissing(f"{path}: file not found") from None
    except OSError as exc:
        raise Unreadable(f"{path}: cannot read ({exc.strerror})") from None
    if size > limit:
        raise TooLarge(f"{path}: {size} bytes, over the {limit}-byte limit of a {what}")
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise Unreadable(f"{path}: is a folder, not a {what} file") from None
    except OSError as exc:
        raise Unreadable(f"{path}: cannot read ({exc.strerror})") from None
