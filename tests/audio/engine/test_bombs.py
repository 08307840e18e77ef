"""Decompression bombs are refused before any analysis, cheaply; silence-heavy real files pass.

Every bomb is generated here (nothing committed). Each refusal is timed only as a generous
bound (the aim is under 5 s); where it can, a test asserts on how much was decoded.
"""

from __future__ import annotations

import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.engine import errors
from audio.engine.io import BLOCK_FRAMES, DEFAULT_LIMITS, Limits, probe, read_blocks
from tests.audio.engine.files import (
    constant_flac,
    flac_46kb_bomb,
    flac_bomb,
    silent_mp3,
    wav_bytes,
)

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
REFUSAL_BOUND_S = 5.0


def _refused(path: Path, kind: type[errors.AudioError], text: str) -> errors.AudioError:
    start, cpu = time.perf_counter(), time.process_time()
    with pytest.raises(kind) as caught:
        probe(path)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    assert text in str(caught.value), str(caught.value)
    assert used < REFUSAL_BOUND_S, f"{path.name} refused after {used:.2f} CPU s"
    print(
        f"\n{path.name}: {path.stat().st_size} bytes refused in {used:.3f} CPU s "
        f"({elapsed:.3f} s wall): {caught.value}"
    )
    return caught.value


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _bombs(tmp_path: Path) -> dict[str, tuple[Path, type[errors.AudioError], str]]:
    rf64 = bytearray(wav_bytes())
    ds64 = b"ds64" + struct.pack("<I", 28) + struct.pack("<QQQI", 2**40, 2**40, 2**38, 0)
    rf64[0:4] = b"RF64"
    rf64[40:44] = b"\xff\xff\xff\xff"
    rf64 = rf64[:12] + ds64 + rf64[12:]
    return {
        "flac-46kb": (
            _write(tmp_path, "bomb-46kb.flac", flac_46kb_bomb()),
            errors.TooLong,
            "audio longer than the 60-minute limit (found by decoding",
        ),
        "flac-no-length-48k-stereo": (
            _write(
                tmp_path,
                "no-length.flac",
                constant_flac(2 * 3600, rate=48000, channels=2, blocksize=16384),
            ),
            errors.Overcompressed,
            "decodes to more than",
        ),
        "flac-high-ratio-8ch-192k": (
            _write(
                tmp_path,
                "ratio-8ch.flac",
                constant_flac(
                    20 * 60, rate=192000, channels=8, bits=24, blocksize=65535, state_length=True
                ),
            ),
            errors.Overcompressed,
            "claims 1843.2 million samples",
        ),
        "flac-8k-mono-states-3h": (
            _write(
                tmp_path,
                "8k-3h.flac",
                constant_flac(3 * 3600, blocksize=65535, state_length=True),
            ),
            errors.TooLong,
            "the header says 180.0 minutes",
        ),
        "wav-claims-4gib": (
            _write(
                tmp_path,
                "huge.wav",
                bytes(wav_bytes()[:40]) + b"\xff\xff\xff\xff" + wav_bytes()[44:],
            ),
            errors.Corrupt,
            "data chunk claims 4294967295 bytes",
        ),
        "rf64-claims-1tib": (
            _write(tmp_path, "huge-rf64.wav", bytes(rf64)),
            errors.Corrupt,
            "data chunk claims 1099511627776 bytes",
        ),
        "mp3-61min-8kbps": (
            _write(tmp_path, "silence.mp3", silent_mp3(61 * 60)),
            errors.TooLong,
            "audio longer than the 60-minute limit",
        ),
    }


BOMB_NAMES = [
    "flac-46kb",
    "flac-no-length-48k-stereo",
    "flac-high-ratio-8ch-192k",
    "flac-8k-mono-states-3h",
    "wav-claims-4gib",
    "rf64-claims-1tib",
    "mp3-61min-8kbps",
]


def test_the_issues_bomb_is_46_kb_and_hides_its_length(tmp_path: Path) -> None:
    """The generated bomb is what its name says: ~46 KB, total_samples 0, and it does
    decode to 61 minutes (counted here without any cap)."""
    data = flac_46kb_bomb()
    assert 44_000 < len(data) < 48_000
    assert int.from_bytes(data[18:26], "big") & ((1 << 36) - 1) == 0
    path = _write(tmp_path, "bomb.flac", data)
    unlimited = Limits(max_duration_s=10 * 3600.0)
    assert probe(path, unlimited).frames == 61 * 60 * 8000


@pytest.mark.parametrize("name", BOMB_NAMES)
def test_bombs_are_refused_by_the_probe(tmp_path: Path, name: str) -> None:
    path, kind, text = _bombs(tmp_path)[name]
    _refused(path, kind, text)


@pytest.mark.parametrize("name", BOMB_NAMES)
def test_bombs_are_refused_by_the_cli(tmp_path: Path, name: str) -> None:
    """`python -m audio.engine analyze FILE`: exit 2, one `error:` line, no report."""
    path, _kind, text = _bombs(tmp_path)[name]
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "audio.engine", "analyze", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed, used = time.perf_counter() - start, _children_cpu() - cpu
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], lines
    assert used < REFUSAL_BOUND_S, f"the CLI used {used:.2f} CPU s"
    print(f"\nCLI {name}: {used:.3f} CPU s, {elapsed:.3f} s wall (interpreter start included)")


def test_counting_stops_at_the_budget(tmp_path: Path) -> None:
    """A FLAC without a length is decoded only up to its budget, not to its end: the refusal
    names a count within one block of the budget, far below the 2 hours the file holds."""
    path, kind, text = _bombs(tmp_path)["flac-no-length-48k-stereo"]
    error = _refused(path, kind, text)
    budget = DEFAULT_LIMITS.max_samples(path.stat().st_size)
    decoded = float(str(error).split("more than ")[1].split(" million")[0]) * 1e6
    assert budget < decoded <= budget + 2 * BLOCK_FRAMES * 2 + 1e5
    assert decoded < 2 * 3600 * 48000 * 2 / 2


def test_a_stated_ratio_is_refused_without_decoding(tmp_path: Path) -> None:
    """A FLAC that states its length is judged from STREAMINFO: 1.8 billion samples from
    ~150 KB is refused before libsndfile opens it (well under a decode's cost)."""
    path, kind, _text = _bombs(tmp_path)["flac-high-ratio-8ch-192k"]
    cpu = time.process_time()
    with pytest.raises(kind, match="claims"):
        probe(path)
    assert time.process_time() - cpu < 0.5  # decoding it would take over 10 s


def test_read_blocks_holds_the_budget_whatever_the_probe_said(tmp_path: Path) -> None:
    """The reader counts against the budget too (an Ogg's stated length is libsndfile's
    figure): with a tight budget it stops decoding at it."""
    path = tmp_path / "silence.ogg"
    with sf.SoundFile(path, "w", 48000, 2, "VORBIS", format="OGG") as f:
        zeros = np.zeros((48000, 2), dtype=np.float32)
        for _ in range(60):
            f.write(zeros)
    info = probe(path)
    tight = Limits(free_samples=1_000_000, max_samples_per_byte=64)
    decoded = 0
    with pytest.raises(errors.Overcompressed, match="decodes to more than"):
        for block in read_blocks(path, limits=tight, info=info):
            decoded += block.shape[1] * 2
    assert decoded <= tight.max_samples(path.stat().st_size)


# --- what must pass --------------------------------------------------------------------------


def test_a_mostly_silent_vocal_stem_passes(tmp_path: Path) -> None:
    """A six-minute 48 kHz 24-bit stereo vocal stem with 15 s of voice and long stretches of
    digital silence (minutes of it at a time) is read whole."""
    rate = 48000
    rng = np.random.default_rng(7)
    path = tmp_path / "vocal-stem.flac"
    with sf.SoundFile(path, "w", rate, 2, "PCM_24", format="FLAC") as f:
        silence = np.zeros((rate * 30, 2), dtype=np.float32)
        for minute in range(12):  # twelve 30 s stretches; three of them start with 5 s of voice
            if minute in (1, 5, 9):
                voice = 0.2 * rng.standard_normal((rate * 5, 2)).astype(np.float32)
                f.write(voice)
                f.write(silence[: rate * 25])
            else:
                f.write(silence)
    size = path.stat().st_size
    samples = 6 * 60 * rate * 2
    assert samples / size > 8  # compresses far beyond music's 2:1 to 8:1
    info = probe(path)
    assert info.frames == 6 * 60 * rate
    assert sum(b.shape[1] for b in read_blocks(path, info=info)) == info.frames


def test_twenty_minutes_of_pure_silence_pass(tmp_path: Path) -> None:
    """The floor: an empty 48 kHz stereo track of 19 minutes (a DAW's export of a muted
    track) passes, with or without a stated length."""
    for state_length in (True, False):
        data = constant_flac(19 * 60, rate=48000, channels=2, state_length=state_length)
        path = _write(tmp_path, f"empty-{state_length}.flac", data)
        assert probe(path).frames == 19 * 60 * 48000


def test_a_flac_without_a_length_reads_to_its_end(tmp_path: Path) -> None:
    """A FLAC whose STREAMINFO omits the length (as a piped encoder writes it) is counted by
    the probe and read to its last frame (soundfile's own read failed at the end)."""
    path = tmp_path / "piped.flac"
    flac_bomb(path, hours=1 / 6, rate=8000)
    info = probe(path)
    assert info.frames == 600 * 8000
    assert sum(b.shape[1] for b in read_blocks(path, info=info)) == 600 * 8000


# --- truncated FLAC --------------------------------------------------------------------------


@pytest.mark.parametrize("keep", ["42-byte header", "40%", "99.9%"])
def test_a_truncated_flac_is_refused(tmp_path: Path, keep: str) -> None:
    """A FLAC cut short of the length its header states is refused by the probe, like a WAV
    whose data chunk runs past the end, instead of becoming an asset whose analysis fails."""
    rate = 44100
    rng = np.random.default_rng(3)
    full = tmp_path / "full.flac"
    sf.write(full, (0.3 * rng.standard_normal((rate * 10, 2))).astype(np.float32), rate)
    data = full.read_bytes()
    cut = {"42-byte header": 42, "40%": int(len(data) * 0.4), "99.9%": int(len(data) * 0.999)}
    path = _write(tmp_path, "cut.flac", data[: cut[keep]])
    _refused(path, errors.Corrupt, "the FLAC file is truncated")
    assert probe(full).frames == rate * 10
