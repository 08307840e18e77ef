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


# --- A2: ten hours of MPEG-2 MP3 at 8 kb/s ----------------------------------------------------

# MPEG-2 Layer III sample-rate index: the rates a phone or a voice recorder writes at 8 kb/s.
MPEG2_RATE_INDEX = {22050: 0, 24000: 1, 16000: 2}
MPEG2_RATES = list(MPEG2_RATE_INDEX)
TEN_HOURS_S = 10 * 3600


def mpeg2_mp3(seconds: float, rate: int, *, first_kbps: int = 8) -> bytes:
    """MPEG-2 Layer III mono at 8 kb/s: 576 samples of silence per frame (zero side
    information), ~1,000 bytes a second, so ten hours are ~36 MB. The padding bit keeps 22.05
    kHz on its 26.12-byte mean. With `first_kbps`, the first frame claims that bitrate (the
    decoder's length estimate then falls short of the truth)."""
    exact = 72 * 8000 / rate
    base = int(exact)
    period = 1 if exact == base else 8
    block, carry = bytearray(), 0.0
    for _ in range(period):
        carry += exact - base
        pad = int(carry >= 1)
        carry -= pad
        header = bytes([0xFF, 0xF3, 0x10 | MPEG2_RATE_INDEX[rate] << 2 | pad << 1, 0xC0])
        block += header + bytes(base + pad - 4)
    frames = -(-round(seconds * rate) // 576)
    body = bytes(block) * (frames // period)
    if first_kbps == 8:
        return body
    index = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160].index(first_kbps) + 1
    size = 72 * first_kbps * 1000 // rate
    first = bytes([0xFF, 0xF3, index << 4 | MPEG2_RATE_INDEX[rate] << 2, 0xC0]) + bytes(size - 4)
    return first + body


def ten_hour_mp3(rate: int) -> Path:
    """The 36 MB file, written once per rate under the test var dir (regenerated if damaged)."""
    folder = ROOT / "var" / "test-bombs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mpeg2-{rate}-8kbps-10h.mp3"
    data = mpeg2_mp3(TEN_HOURS_S, rate)
    if not path.exists() or path.stat().st_size != len(data):
        path.write_bytes(data)
    return path


# Probes one file in a fresh interpreter and reports what the probe alone read and cost: the
# bytes read (/proc/self/io's rchar around the call), CPU seconds and the peak RSS (VmHWM, which
# starts afresh at exec, unlike getrusage's figure that carries the parent's over).
PROBE_CHILD = """
import json, sys, time
from audio.engine import errors
from audio.engine.io import probe

def rchar():
    with open("/proc/self/io") as f:
        return int(f.readline().split()[1])

before, cpu = rchar(), time.process_time()
try:
    probe(sys.argv[1])
    error = None
except errors.AudioError as exc:
    error = [type(exc).__name__, str(exc)]
print(json.dumps({
    "error": error,
    "read": rchar() - before,
    "cpu": time.process_time() - cpu,
    "rss_kib": next(
        int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")
    ),
}))
"""


@pytest.mark.parametrize("rate", MPEG2_RATES)
def test_a_ten_hour_mpeg2_mp3_is_refused_at_the_cap_reading_almost_nothing(rate: int) -> None:
    """A2: 10 hours of 8 kb/s MPEG-2 MP3 (~36 MB) is refused at the 60-minute cap from the
    frame header's figure, reading no more than the cap's worth of the file (60 minutes at 8
    kb/s is 3.6 MB, plus one block), in well under 10 s and 256 MiB."""
    import json

    path = ten_hour_mp3(rate)
    assert 35_500_000 < path.stat().st_size < 36_500_000
    done = subprocess.run(
        [sys.executable, "-c", PROBE_CHILD, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["error"] == ["TooLong", found["error"][1]], found
    assert "audio longer than the 60-minute limit" in found["error"][1]
    cap_bytes = 3600 * 1000 + BLOCK_FRAMES * 2 * 1000 // rate
    assert found["read"] <= cap_bytes, found
    assert found["cpu"] < 10.0 and found["rss_kib"] < 256 * 1024, found
    print(f"\n10 h MPEG-2 {rate} Hz: {found}")


@pytest.mark.parametrize("rate", MPEG2_RATES)
def test_a_ten_hour_mpeg2_mp3_is_refused_by_the_cli(rate: int) -> None:
    """The same file through `python -m audio.engine analyze`: exit 2, one `error:` line."""
    path = ten_hour_mp3(rate)
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "audio.engine", "analyze", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    used = _children_cpu() - cpu
    assert done.returncode == 2 and done.stdout == "", done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "audio longer than the 60-minute limit" in lines[0], lines
    assert used < 10.0
    print(f"\nCLI 10 h MPEG-2 {rate} Hz: {used:.3f} CPU s, {time.perf_counter() - start:.3f} s")


def test_an_mp3_whose_first_frame_lies_about_its_bitrate_is_still_bounded(
    tmp_path: Path,
) -> None:
    """Ten hours of 8 kb/s frames behind one frame claiming 160 kb/s: the decoder's estimate
    says 30 minutes, so the probe passes it; reading it whole still stops within the cap plus
    one block (it ends at the estimate), in under 10 s."""
    rate = 16000
    path = _write(tmp_path, "liar.mp3", mpeg2_mp3(TEN_HOURS_S, rate, first_kbps=160))
    info = probe(path)
    assert info.duration_s < 3600
    cpu, decoded = time.process_time(), 0
    try:
        for block in read_blocks(path, info=info):
            decoded += block.shape[1]
    except errors.TooLong:
        pass
    assert decoded <= DEFAULT_LIMITS.max_frames(rate) + BLOCK_FRAMES
    assert time.process_time() - cpu < 10.0
    print(f"\nliar MP3: {decoded / rate / 60:.1f} minutes decoded")
