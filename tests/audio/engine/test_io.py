"""io: probe without decoding, block reading with limits, writers that round-trip."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.engine import errors
from audio.engine.io import Limits, probe, read_all, read_blocks, write_flac, write_mp3, write_wav
from tests.audio.engine.files import make_seeds, wav_bytes
from tests.audio.engine.signals import sine

pytestmark = pytest.mark.engine


@pytest.fixture
def seeds(tmp_path: Path) -> dict[str, Path]:
    return make_seeds(tmp_path)


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "bits"),
    [
        ("wav16", "wav", "PCM_16", 16),
        ("wav24", "wav", "PCM_24", 24),
        ("wavf", "wav", "FLOAT", 32),
        ("flac", "flac", "PCM_24", 24),
        ("mp3", "mp3", "MPEG_LAYER_III", None),
        ("ogg", "ogg", "VORBIS", None),
        ("aiff", "aiff", "PCM_16", 16),
    ],
)
def test_probe_every_format(
    seeds: dict[str, Path], name: str, fmt: str, codec: str, bits: int | None
) -> None:
    """probe names the format, codec, rate, channels and length of each supported format."""
    info = probe(seeds[name])
    assert (info.format, info.codec, info.bit_depth) == (fmt, codec, bits)
    assert (info.sample_rate, info.channels) == (44100, 2)
    assert info.frames == 13230
    assert info.duration_s == pytest.approx(0.3)
    assert info.to_dict()["format"] == fmt


@pytest.mark.parametrize("name", ["wav16", "wav24", "wavf", "flac", "mp3", "ogg", "aiff"])
def test_read_blocks_are_float32_channels_first(seeds: dict[str, Path], name: str) -> None:
    """Blocks are float32 (channels, frames) and add up to the file's exact length."""
    blocks = list(read_blocks(seeds[name], block_frames=4096))
    assert all(b.dtype == np.float32 and b.shape[0] == 2 for b in blocks)
    assert all(b.shape[1] == 4096 for b in blocks[:-1])
    assert sum(b.shape[1] for b in blocks) == 13230  # MP3 too: libsndfile trims the padding


def test_wav_writers_round_trip(tmp_path: Path) -> None:
    """16/24-bit writes round (within half an LSB); 32-bit float is exact."""
    x = sine(48000, 0.5, -1.0, freq=997)
    for bits, tol in ((16, 0.5 / 32768), (24, 0.5 / 2**23), (32, 0.0)):
        path = tmp_path / f"out{bits}.wav"
        write_wav(path, x, 48000, bits)
        back = read_all(path)
        assert back.sample_rate == 48000
        assert np.max(np.abs(back.samples - x)) <= tol + 1e-9
        assert probe(path).bit_depth == bits


def test_flac_and_mp3_writers(tmp_path: Path) -> None:
    """FLAC is lossless at its depth; MP3 decodes to the same length and roughly the same."""
    x = sine(44100, 1.0, -6.0, freq=440)
    write_flac(tmp_path / "a.flac", x, 44100, 16)
    assert np.max(np.abs(read_all(tmp_path / "a.flac").samples - x)) <= 0.5 / 32768 + 1e-9
    write_mp3(tmp_path / "a.mp3", x, 44100)
    back = read_all(tmp_path / "a.mp3").samples
    assert back.shape == x.shape
    assert np.sqrt(np.mean((back - x) ** 2)) < 0.05
    with pytest.raises(errors.UnsupportedFormat):
        write_mp3(tmp_path / "b.mp3", x, 96000)


def test_extensible_rf64_and_aifc(tmp_path: Path) -> None:
    """WAVE_FORMAT_EXTENSIBLE, RF64 and AIFF-C float are read."""
    x = sine(48000, 0.2, -3.0, channels=6)
    sf.write(tmp_path / "ext.wav", x.T, 48000, format="WAVEX", subtype="PCM_24")
    assert (tmp_path / "ext.wav").read_bytes()[20:22] == b"\xfe\xff"
    assert probe(tmp_path / "ext.wav").channels == 6
    sf.write(tmp_path / "big.wav", x[:2].T, 48000, format="RF64", subtype="FLOAT")
    assert (tmp_path / "big.wav").read_bytes()[:4] == b"RF64"
    assert read_all(tmp_path / "big.wav").frames == x.shape[1]
    sf.write(tmp_path / "f.aifc", x[:2].T, 48000, format="AIFF", subtype="FLOAT")
    info = probe(tmp_path / "f.aifc")
    assert (info.format, info.codec) == ("aiff", "FLOAT")
    assert np.allclose(read_all(tmp_path / "f.aifc").samples, x[:2])


def test_hand_built_extensible_wav(tmp_path: Path) -> None:
    """A minimal extensible float WAV parses (the sub-format GUID decides the codec)."""
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(bits=32, tag=3, extensible=True))
    assert probe(path).codec == "FLOAT"


def test_duration_limit_from_header_and_while_reading(tmp_path: Path) -> None:
    """TooLong comes from the header when it says so, and from counting frames otherwise."""
    path = tmp_path / "a.wav"
    write_wav(path, sine(8000, 3.0, -6.0), 8000, 16)
    short = Limits(max_duration_s=2.0)
    with pytest.raises(errors.TooLong, match="limit"):
        probe(path, short)
    info = probe(path)  # a header that (wrongly) passes the check: reading still stops
    with pytest.raises(errors.TooLong):
        list(read_blocks(path, 1000, short, info=info))


def test_other_limits(tmp_path: Path) -> None:
    """Channel, rate and file-size limits are configurable and named in the message."""
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(channels=2, rate=44100))
    with pytest.raises(errors.ChannelLimit, match="2 channels outside 1-1"):
        probe(path, Limits(max_channels=1))
    with pytest.raises(errors.SampleRateLimit, match="44100 Hz outside 8000-32000"):
        probe(path, Limits(max_sample_rate=32000))
    with pytest.raises(errors.TooLarge):
        probe(path, Limits(max_file_bytes=100))


def test_missing_empty_and_directory(tmp_path: Path) -> None:
    """Missing, empty and non-regular paths are AudioErrors with their own codes."""
    with pytest.raises(errors.FileMissing) as missing:
        probe(tmp_path / "nope.wav")
    assert missing.value.code == "audio.file_missing"
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(errors.EmptyAudio):
        probe(tmp_path / "empty.wav")
    with pytest.raises(errors.AudioError):
        probe(tmp_path)


def test_wav_with_no_frames_is_empty(tmp_path: Path) -> None:
    """A valid header with zero frames reads as EmptyAudio, not as a report of nothing."""
    path = tmp_path / "zero.wav"
    path.write_bytes(wav_bytes(frames=0))
    with pytest.raises(errors.EmptyAudio):
        list(read_blocks(path))


def test_float_wav_with_nan_is_corrupt(tmp_path: Path) -> None:
    """Non-finite float samples would poison every figure: they are Corrupt."""
    path = tmp_path / "nan.wav"
    x = sine(8000, 0.1, -6.0)
    x[0, 100] = np.nan
    write_wav(path, x, 8000, 32)
    with pytest.raises(errors.Corrupt, match="non-finite"):
        list(read_blocks(path))


def test_error_codes_are_stable() -> None:
    """Codes are part of the API."""
    assert errors.UnsupportedFormat("x").code == "audio.unsupported_format"
    assert errors.TooLong("x").code == "audio.too_long"
    assert str(errors.Corrupt("a sentence")) == "a sentence"
    assert struct.calcsize("<I") == 4
