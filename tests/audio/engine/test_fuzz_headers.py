"""A3, the header validators under structured mutations (hypothesis): every field a WAV's fmt
chunk, an RF64's ds64, a FLAC's STREAMINFO, an MP3's ID3 size and frame header and an AIFF's
80-bit rate can hold, with chunk sizes from 0 to the largest, followed by random bytes. Whatever
the header says, the probe answers an AudioInfo inside the limits or an AudioError, never
another exception, in well under a second each.

(Random bytes, a magic plus random bytes and byte flips of valid files are A1 and the A3
property test in `test_bad_files.py`; these reach the parsers' fields one by one.)"""

from __future__ import annotations

import os
import struct
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audio.engine.errors import AudioError
from audio.engine.io import DEFAULT_LIMITS, probe

pytestmark = pytest.mark.engine

SMOKE = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
FULL = settings(
    max_examples=3000, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

u16 = st.one_of(st.sampled_from([0, 1, 2, 7, 8, 255, 65535]), st.integers(0, 2**16 - 1))
u32 = st.one_of(
    st.sampled_from([0, 1, 7999, 8000, 44100, 192000, 192001, 2**31, 2**32 - 1]),
    st.integers(0, 2**32 - 1),
)
u64 = st.one_of(st.sampled_from([0, 1, 2**32, 2**40, 2**63, 2**64 - 1]), st.integers(0, 2**64 - 1))
tail = st.binary(max_size=600)
FORMAT_TAGS = st.sampled_from([0, 1, 2, 3, 6, 7, 0x55, 0xFFFE, 0xFFFF])


def _chunk(tag: bytes, body: bytes, size: int | None = None) -> bytes:
    return tag + struct.pack("<I", len(body) if size is None else size) + body


@st.composite
def wav_headers(draw: st.DrawFn) -> bytes:
    fmt = struct.pack(
        "<HHIIHH",
        draw(FORMAT_TAGS),
        draw(u16),  # channels
        draw(u32),  # sample rate
        draw(u32),  # byte rate
        draw(u16),  # block align
        draw(u16),  # bits
    )
    fmt_size = draw(st.one_of(st.just(None), st.sampled_from([0, 14, 15, 17, 2**32 - 1])))
    extra = draw(st.lists(st.tuples(st.binary(min_size=4, max_size=4), u32), max_size=3))
    body = _chunk(b"fmt ", fmt, fmt_size)
    for tag, size in extra:
        body += _chunk(tag, b"", size)
    body += _chunk(b"data", draw(tail), draw(st.one_of(st.just(None), u32)))
    riff_size = draw(st.one_of(st.just(len(body) + 4), u32))
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + body


@st.composite
def rf64_headers(draw: st.DrawFn) -> bytes:
    ds64 = struct.pack("<QQQI", draw(u64), draw(u64), draw(u64), 0)
    ds64_size = draw(st.sampled_from([28, 0, 27, 2**32 - 1]))
    fmt = struct.pack("<HHIIHH", 1, draw(u16), draw(u32), draw(u32), draw(u16), draw(u16))
    present = draw(st.booleans())
    body = (_chunk(b"ds64", ds64, ds64_size) if present else b"") + _chunk(b"fmt ", fmt)
    body += _chunk(b"data", draw(tail), 0xFFFFFFFF)
    return draw(st.sampled_from([b"RF64", b"BW64"])) + b"\xff\xff\xff\xffWAVE" + body


@st.composite
def flac_headers(draw: st.DrawFn) -> bytes:
    min_block, max_block = draw(u16), draw(u16)
    min_frame, max_frame = draw(st.integers(0, 2**24 - 1)), draw(st.integers(0, 2**24 - 1))
    rate = draw(
        st.one_of(
            st.sampled_from([0, 1, 7999, 44100, 655350, 2**20 - 1]), st.integers(0, 2**20 - 1)
        )
    )
    channels = draw(st.integers(0, 7))  # stored minus one
    bits = draw(st.integers(0, 31))  # stored minus one
    total = draw(st.one_of(st.sampled_from([0, 1, 2**36 - 1]), st.integers(0, 2**36 - 1)))
    packed = (rate << 44) | (channels << 41) | (bits << 36) | total
    info = struct.pack(">HH", min_block, max_block)
    info += min_frame.to_bytes(3, "big") + max_frame.to_bytes(3, "big") + packed.to_bytes(8, "big")
    info += bytes(16)  # MD5
    length = draw(st.one_of(st.just(34), st.integers(0, 2**24 - 1)))
    last = draw(st.booleans())
    block_header = bytes(
        [(0x80 if last else 0) | draw(st.integers(0, 127) if not last else st.just(0))]
    )
    return b"fLaC" + block_header + length.to_bytes(3, "big") + info + draw(tail)


@st.composite
def mp3_headers(draw: st.DrawFn) -> bytes:
    out = b""
    if draw(st.booleans()):
        size = draw(st.one_of(st.sampled_from([0, 10, 2**28 - 1]), st.integers(0, 2**28 - 1)))
        syncsafe = bytes([(size >> shift) & 0x7F for shift in (21, 14, 7, 0)])
        flags = draw(st.sampled_from([0, 0x10, 0x40, 0xFF]))
        out += b"ID3" + bytes([draw(st.integers(2, 5)), 0, flags]) + syncsafe
    frame = bytes(
        [
            0xFF,
            0xE0 | draw(st.integers(0, 31)),
            draw(st.integers(0, 255)),
            draw(st.integers(0, 255)),
        ]
    )
    return out + frame + draw(tail)


@st.composite
def aiff_headers(draw: st.DrawFn) -> bytes:
    rate = draw(
        st.one_of(
            st.sampled_from(
                [
                    bytes(10),  # zero
                    b"\x7f\xff" + bytes(8),  # infinity
                    b"\x7f\xff\xc0" + bytes(7),  # NaN
                    b"\xff\xff" + bytes(8),  # minus infinity
                    b"\x40\x0e\xac\x44" + bytes(6),  # 44100
                    b"\xc0\x0e\xac\x44" + bytes(6),  # -44100
                ]
            ),
            st.binary(min_size=10, max_size=10),
        )
    )
    comm = (
        struct.pack(
            ">hIh",
            draw(st.integers(-(2**15), 2**15 - 1)),
            draw(u32),
            draw(st.integers(-(2**15), 2**15 - 1)),
        )
        + rate
    )
    aifc = draw(st.booleans())
    if aifc:
        comm += draw(st.sampled_from([b"NONE", b"sowt", b"fl32", b"ulaw", b"XXXX"])) + b"\x00\x00"
    comm_size = draw(st.one_of(st.just(len(comm)), u32))
    ssnd = struct.pack(">II", 0, 0) + draw(tail)
    body = b"COMM" + struct.pack(">I", comm_size) + comm
    body += b"SSND" + struct.pack(">I", draw(st.one_of(st.just(len(ssnd)), u32))) + ssnd
    form = b"AIFC" if aifc else b"AIFF"
    return b"FORM" + struct.pack(">I", draw(st.one_of(st.just(len(body) + 4), u32))) + form + body


HEADERS = {
    "wav": wav_headers(),
    "rf64": rf64_headers(),
    "flac": flac_headers(),
    "mp3": mp3_headers(),
    "aiff": aiff_headers(),
}


def probe_holds(data: bytes, suffix: str) -> None:
    """The contract: an AudioInfo inside the limits, or an AudioError; quickly."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzzed.{suffix}"
        path.write_bytes(data)
        start = time.process_time()
        try:
            info = probe(path)
        except AudioError:
            pass
        else:
            limits = DEFAULT_LIMITS
            assert limits.min_channels <= info.channels <= limits.max_channels, info
            assert limits.min_sample_rate <= info.sample_rate <= limits.max_sample_rate, info
            assert info.frames >= 0 and info.duration_s <= limits.max_duration_s, info
        assert time.process_time() - start < 2.0


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_mutated_headers_give_a_report_or_an_audio_error(kind: str) -> None:
    @SMOKE
    @given(data=HEADERS[kind])
    def run(data: bytes) -> None:
        probe_holds(data, "wav" if kind == "rf64" else kind)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_mutated_headers_full_size(kind: str) -> None:
    @FULL
    @given(data=HEADERS[kind])
    def run(data: bytes) -> None:
        probe_holds(data, "wav" if kind == "rf64" else kind)

    run()


def _seed_corpus(folder: Path) -> None:
    """One valid header of each kind, for atheris to mutate from."""
    from tests.audio.engine.files import constant_flac, silent_mp3, wav_bytes

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wav").write_bytes(bytes(wav_bytes())[:512])
    (folder / "flac").write_bytes(constant_flac(1, state_length=True)[:512])
    (folder / "mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + silent_mp3(0.1)[:300])


FUZZ_ADDRESS_SPACE = 1 << 30


@pytest.mark.slow
def test_atheris_finds_no_crasher_in_bounded_time(tmp_path: Path) -> None:
    """A3's coverage-guided run: 120 s of atheris on the header validator, no crasher.

    Memory is bounded by the child's address space (1 GiB: an input that makes the parser
    allocate more raises MemoryError, which the harness lets through as a crash), not by
    libFuzzer's ``-rss_limit_mb``: that reads ``ru_maxrss``, which Linux carries over from the
    forking parent, so after the heavier slow tests it started at this pytest's own peak
    (731 MB) and stopped the run in its first second."""
    import resource
    import subprocess
    import sys

    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    _seed_corpus(corpus)

    def cap_address_space() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (FUZZ_ADDRESS_SPACE, FUZZ_ADDRESS_SPACE))

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.audio.engine.fuzz_headers_atheris",
            "-max_total_time=120",
            "-rss_limit_mb=0",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        preexec_fn=cap_address_space,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    crashers = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert done.returncode == 0 and not crashers, done.stderr[-3000:]
    print("\n" + next((line for line in reversed(done.stderr.splitlines()) if "Done" in line), ""))
