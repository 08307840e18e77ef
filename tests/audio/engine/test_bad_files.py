"""Hostile and broken files: every one ends in an AudioError with a clear message, fast.

Corpus-wide checks run in a child process, so a decoder crash would fail the test rather than
take pytest down, and so the child's own peak memory can be measured.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audio.engine import errors
from audio.engine.analysis import analyze_file
from audio.engine.io import probe, read_blocks
from tests.audio.engine.files import flac_bomb, make_seeds, wav_bytes

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
CHILD = r"""
import json, re, sys, time
from pathlib import Path
from audio.engine.analysis import analyze_file
from audio.engine.errors import AudioError
for path in sorted(Path(sys.argv[1]).iterdir()):
    start = time.perf_counter()
    try:
        analyze_file(path, with_peaks=True)
        outcome, detail = "report", ""
    except AudioError as exc:
        outcome, detail = "audio_error", f"{exc.code}: {exc}"
    except BaseException as exc:
        outcome, detail = "other", f"{type(exc).__name__}: {exc}"
    print(json.dumps({"file": path.name, "outcome": outcome, "detail": detail,
                      "seconds": time.perf_counter() - start}), flush=True)
status = open("/proc/self/status").read()  # VmHWM: ru_maxrss would include pytest's
print(json.dumps({"maxrss_mib": int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024}))
"""


def run_corpus(folder: Path, timeout: float = 240) -> tuple[list[dict[str, object]], float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"child died ({done.returncode}): {done.stderr[-2000:]}"
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return lines[:-1], float(lines[-1]["maxrss_mib"])


def expect(path: Path, kind: type[errors.AudioError], text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(kind) as caught:
        analyze_file(path)
    assert text in str(caught.value), str(caught.value)
    assert time.perf_counter() - start < 2.0


def patch(data: bytes, offset: int, fmt: str, value: int | float) -> bytes:
    raw = bytearray(data)
    struct.pack_into(fmt, raw, offset, value)
    return bytes(raw)


WAV = wav_bytes()  # 16-bit stereo 44.1 kHz; fmt body at 20, data size at 40


HEADER_CASES = [
    (patch(WAV, 22, "<H", 0), errors.ChannelLimit, "0 channels outside 1-8"),
    (patch(WAV, 22, "<H", 65535), errors.ChannelLimit, "65535 channels outside 1-8"),
    (patch(WAV, 24, "<I", 0), errors.SampleRateLimit, "sample rate 0 Hz outside 8000-192000"),
    (
        patch(WAV, 24, "<I", 4294967295),
        errors.SampleRateLimit,
        "sample rate 4294967295 Hz outside 8000-192000",
    ),
    (patch(WAV, 24, "<I", 7999), errors.SampleRateLimit, "7999 Hz"),
    (patch(WAV, 24, "<I", 192001), errors.SampleRateLimit, "192001 Hz"),
    (patch(WAV, 34, "<H", 0), errors.UnsupportedFormat, "0 bits"),
    (patch(WAV, 34, "<H", 7), errors.UnsupportedFormat, "7 bits"),
    (patch(WAV, 34, "<H", 255), errors.UnsupportedFormat, "255 bits"),
    (patch(WAV, 32, "<H", 0), errors.Corrupt, "block align 0"),
    (patch(WAV, 20, "<H", 2), errors.UnsupportedFormat, "codec 0x0002"),
    (patch(WAV, 40, "<I", 0xFFFFFFFF), errors.Corrupt, "data chunk claims 4294967295 bytes"),
    (patch(WAV, 40, "<I", len(WAV)), errors.Corrupt, "data chunk claims"),
    (patch(WAV, 16, "<I", 12), errors.Corrupt, "fmt chunk is 12 bytes"),
    (WAV[:30], errors.Corrupt, "fmt chunk"),
    (
        WAV[:12] + b"LIST" + struct.pack("<I", 2**31) + WAV[12:],
        errors.Corrupt,
        "'LIST' chunk claims 2147483648 bytes",
    ),
    (WAV[:12] + b"junk\x00\x00\x00\x00" * 10000 + WAV[12:], errors.Corrupt, "more than 64 chunks"),
    (b"RF64" + WAV[4:], errors.Corrupt, "without a ds64"),
    (b"RF64" + WAV[4:40] + b"\xff\xff\xff\xff" + WAV[44:], errors.Corrupt, "without a ds64"),
    (WAV[:44], errors.Corrupt, "data chunk claims 17640 bytes but only 0 are in the file"),
    (WAV[:36] + b"data\x00\x00\x00\x00", errors.EmptyAudio, "no audio frames"),
    (b"\x00" * 1000, errors.UnsupportedFormat, "not a WAV, AIFF, FLAC, MP3 or Ogg"),
    (b"<html>hello</html>", errors.UnsupportedFormat, "not a WAV"),
    (b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + bytes(100), errors.Corrupt, "ID3 tag claims"),
    (b"OggS" + bytes(60), errors.UnsupportedFormat, "neither Vorbis nor Opus"),
    (b"fLaC\x00\x00\x00\x22" + bytes(34), errors.SampleRateLimit, "sample rate 0 Hz"),
]


@pytest.mark.parametrize(
    ("mutation", "kind", "text"),
    HEADER_CASES,
    ids=[f"{i}-{c[1].__name__}" for i, c in enumerate(HEADER_CASES)],
)
def test_absurd_header_fields(
    tmp_path: Path, mutation: bytes, kind: type[errors.AudioError], text: str
) -> None:
    """Each absurd header value is reported with the exact value, before decoding."""
    path = tmp_path / "bad.wav"
    path.write_bytes(mutation)
    expect(path, kind, text)


def aiff_with_rate(rate_bytes: bytes, channels: int = 2) -> bytes:
    comm = struct.pack(">hIh", channels, 10, 16) + rate_bytes
    ssnd = struct.pack(">II", 0, 0) + bytes(10 * 2 * max(channels, 0) * 2)
    body = b"AIFF" + b"COMM" + struct.pack(">I", len(comm)) + comm
    body += b"SSND" + struct.pack(">I", len(ssnd)) + ssnd
    return b"FORM" + struct.pack(">I", len(body)) + body


@pytest.mark.parametrize(
    ("rate_bytes", "channels", "kind", "text"),
    [
        (b"\x7f\xff\xc0" + bytes(7), 2, errors.SampleRateLimit, "not a number"),
        (b"\x7f\xff\x80" + bytes(7), 2, errors.SampleRateLimit, "not a number"),
        (bytes(10), 2, errors.SampleRateLimit, "sample rate 0 Hz"),
        (b"\x40\x0e\xac\x44" + bytes(6), 0, errors.ChannelLimit, "0 channels"),
        (b"\x40\x0e\xac\x44" + bytes(6), -1, errors.ChannelLimit, "-1 channels"),
    ],
)
def test_aiff_absurd_fields(
    tmp_path: Path, rate_bytes: bytes, channels: int, kind: type[errors.AudioError], text: str
) -> None:
    """AIFF's 80-bit rate as NaN, infinity or 0, and impossible channel counts."""
    path = tmp_path / "bad.aiff"
    path.write_bytes(aiff_with_rate(rate_bytes, channels))
    expect(path, kind, text)


def test_aiff_valid_hand_built(tmp_path: Path) -> None:
    """The hand-built AIFF used above is valid when its fields are (so the tests are fair)."""
    path = tmp_path / "ok.aiff"
    path.write_bytes(aiff_with_rate(b"\x40\x0e\xac\x44" + bytes(6)))
    assert probe(path).sample_rate == 44100


def test_flac_streaminfo_claiming_hours(tmp_path: Path) -> None:
    """STREAMINFO total_samples of 2^36-1 is rejected from the header, without decoding."""
    seeds = make_seeds(tmp_path)
    raw = bytearray(seeds["flac"].read_bytes())
    raw[21] |= 0x0F
    raw[22:26] = b"\xff\xff\xff\xff"
    path = tmp_path / "claims.flac"
    path.write_bytes(bytes(raw))
    expect(path, errors.TooLong, "audio longer than the 60-minute limit")


def test_tiny_flac_that_decodes_to_hours(tmp_path: Path) -> None:
    """A ~100 KB FLAC hiding its length stops at the 60-minute cap, in bounded time."""
    path = tmp_path / "bomb.flac"
    flac_bomb(path, hours=3.0)
    assert path.stat().st_size < 1_000_000
    start = time.perf_counter()
    with pytest.raises(errors.TooLong, match="60-minute limit"):
        for _ in read_blocks(path):
            pass
    assert time.perf_counter() - start < 10


def test_truncated_files_at_many_offsets(tmp_path: Path) -> None:
    """Every format cut at many offsets gives a report or an AudioError, never anything else."""
    seeds = make_seeds(tmp_path)
    corpus = tmp_path / "truncated"
    corpus.mkdir()
    for name, path in seeds.items():
        data = path.read_bytes()
        offsets = sorted({*range(0, 200, 7), *range(0, len(data), max(1, len(data) // 40))})
        for cut in offsets:
            (corpus / f"{name}-{cut:07d}").write_bytes(data[:cut])
    results, maxrss = run_corpus(corpus)
    assert len(results) > 300
    others = [r for r in results if r["outcome"] == "other"]
    assert not others, others[:5]
    assert max(float(str(r["seconds"])) for r in results) < 2.0
    assert maxrss < 256
    empties = [r for r in results if r["file"].endswith("-0000000")]
    assert all("audio.empty" in str(r["detail"]) for r in empties)


def test_random_byte_flips(tmp_path: Path) -> None:
    """Seeded random byte flips and splices of valid files: report or AudioError only."""
    seeds = make_seeds(tmp_path)
    rng = random.Random(1234)
    corpus = tmp_path / "flipped"
    corpus.mkdir()
    for name, path in seeds.items():
        data = path.read_bytes()
        for i in range(40):
            raw = bytearray(data)
            for _ in range(rng.choice([1, 2, 8, 64])):
                pos = rng.randrange(min(len(raw), 256) if i % 2 else len(raw))
                raw[pos] = rng.randrange(256)
            if i % 5 == 0:
                a, b = sorted(rng.sample(range(len(raw)), 2))
                raw = raw[:a] + raw[b:]
            (corpus / f"{name}-{i:03d}").write_bytes(bytes(raw))
    results, maxrss = run_corpus(corpus)
    others = [r for r in results if r["outcome"] == "other"]
    assert not others, others[:5]
    assert max(float(str(r["seconds"])) for r in results) < 2.0
    assert maxrss < 256
    counts = {o: sum(r["outcome"] == o for r in results) for o in ("report", "audio_error")}
    print(f"\nbyte flips: {counts}, child peak RSS {maxrss:.0f} MiB")


MAGICS = [b"RIFF", b"RF64", b"FORM", b"fLaC", b"OggS", b"ID3\x03", b"\xff\xfb"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=2048),
        st.tuples(st.sampled_from(MAGICS), st.binary(max_size=2048)).map(lambda t: t[0] + t[1]),
        st.tuples(st.integers(0, len(WAV) - 1), st.binary(min_size=1, max_size=8)).map(
            lambda t: WAV[: t[0]] + t[1] + WAV[t[0] + len(t[1]) :]
        ),
    )
)
def test_any_bytes_give_a_report_or_an_audio_error(data: bytes) -> None:
    """Property: whatever the bytes, analyze_file returns a report or raises AudioError."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.bin"
        path.write_bytes(data)
        try:
            report = analyze_file(path)
        except errors.AudioError as exc:
            assert exc.code.startswith("audio.") and str(exc)
        else:
            assert report.frames > 0
