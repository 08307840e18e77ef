"""Small valid files of every supported format, written into a test's tmp_path."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.engine.io import write_flac, write_mp3, write_wav
from tests.audio.engine.signals import sine


def wav_bytes(
    channels: int = 2,
    rate: int = 44100,
    bits: int = 16,
    frames: int = 4410,
    tag: int = 1,
    extensible: bool = False,
) -> bytes:
    """A hand-built PCM WAV, so tests can then bend any header field."""
    block = channels * bits // 8
    data = bytes(frames * block)
    if extensible:
        fmt = (
            struct.pack(
                "<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 3
            )
            + struct.pack("<H", tag)
            + (b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
        )
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def make_seeds(folder: Path, seconds: float = 0.3) -> dict[str, Path]:
    """One short programme-like file per format."""
    rate = 44100
    x = sine(rate, seconds, -6.0, freq=440)
    x[1] *= 0.5
    paths = {
        "wav16": folder / "seed16.wav",
        "wav24": folder / "seed24.wav",
        "wavf": folder / "seedf.wav",
        "flac": folder / "seed.flac",
        "mp3": folder / "seed.mp3",
        "ogg": folder / "seed.ogg",
        "aiff": folder / "seed.aiff",
    }
    write_wav(paths["wav16"], x, rate, 16)
    write_wav(paths["wav24"], x, rate, 24)
    write_wav(paths["wavf"], x, rate, 32)
    write_flac(paths["flac"], x, rate)
    write_mp3(paths["mp3"], x, rate)
    sf.write(paths["ogg"], x.T, rate, format="OGG", subtype="VORBIS")
    sf.write(paths["aiff"], x.T, rate, format="AIFF", subtype="PCM_16")
    return paths


def flac_bomb(path: Path, hours: float = 3.0, rate: int = 8000, hide_length: bool = True) -> None:
    """A ~100 KB FLAC of silence that decodes to hours; optionally with STREAMINFO's length
    zeroed ("unknown"), so only counting decoded frames can stop it."""
    with sf.SoundFile(path, "w", rate, 1, "PCM_16", format="FLAC") as f:
        chunk = np.zeros(rate * 600, dtype=np.int16)
        for _ in range(round(hours * 6)):
            f.write(chunk)
    if hide_length:
        raw = bytearray(path.read_bytes())
        assert raw[:4] == b"fLaC"
        packed = int.from_bytes(raw[18:26], "big") & ~((1 << 36) - 1)
        raw[18:26] = packed.to_bytes(8, "big")
        raw[26:42] = bytes(16)  # MD5 of nothing known
        path.write_bytes(bytes(raw))


# --- hand-built bombs: small files that decode to far more audio than their size holds ---------


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC's frame number coding (UTF-8 style, up to 2^21 here)."""
    if n < 0x80:
        return bytes([n])
    if n < 0x800:
        return bytes([0xC0 | n >> 6, 0x80 | n & 0x3F])
    if n < 0x10000:
        return bytes([0xE0 | n >> 12, 0x80 | (n >> 6) & 0x3F, 0x80 | n & 0x3F])
    return bytes([0xF0 | n >> 18, 0x80 | (n >> 12) & 0x3F, 0x80 | (n >> 6) & 0x3F, 0x80 | n & 0x3F])


def constant_flac(
    seconds: float,
    *,
    rate: int = 8000,
    channels: int = 1,
    bits: int = 16,
    blocksize: int = 4096,
    state_length: bool = False,
) -> bytes:
    """A valid FLAC of digital silence built frame by frame (one CONSTANT subframe per channel,
    ~4 bytes each), so any ratio is reachable without encoding hours of audio. STREAMINFO's
    total_samples is 0 ("unknown") unless ``state_length``."""
    total = round(seconds * rate)
    frames = []
    for number in range(-(-total // blocksize)):
        size = min(blocksize, total - number * blocksize)
        # sync + fixed blocking, 16-bit block size at the end, rate and depth from STREAMINFO
        head = bytes([0xFF, 0xF8, 0x70, (channels - 1) << 4]) + _utf8_number(number)
        head += struct.pack(">H", size - 1)
        head += bytes([_crc8(head)])
        body = head + (b"\x00" + bytes(bits // 8)) * channels
        frames.append(body + struct.pack(">H", _crc16(body)))
    packed = (rate << 44) | ((channels - 1) << 41) | ((bits - 1) << 36)
    packed |= total if state_length else 0
    lengths = [len(f) for f in frames]
    info = struct.pack(">HH", blocksize, blocksize)
    info += min(lengths).to_bytes(3, "big") + max(lengths).to_bytes(3, "big")
    info += packed.to_bytes(8, "big") + bytes(16)
    return b"fLaC" + bytes([0x80, 0, 0, 34]) + info + b"".join(frames)


def flac_46kb_bomb() -> bytes:
    """A FLAC bomb: ~46 KB, STREAMINFO without a length, 61 minutes of 8 kHz mono."""
    return constant_flac(61 * 60, rate=8000, channels=1, blocksize=9216)


def silent_mp3(seconds: float) -> bytes:
    """MPEG-2.5 Layer III, 8 kHz mono at 8 kb/s (the lowest bitrate): 72-byte frames of zero
    side information, each decoding to 576 samples of silence."""
    frame = bytes([0xFF, 0xE3, 0x18, 0xC0]) + bytes(68)
    return frame * (-(-round(seconds * 8000) // 576))
