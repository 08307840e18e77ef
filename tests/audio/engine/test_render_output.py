"""What a render writes: the same bytes for any thread count and every time, a window equal
to the full render over it, a cache that spares clip work, bit depths that clip and dither."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audio.engine.errors import AudioError
from audio.engine.loudness import measure
from audio.engine.render import MixSpec, RangeInvalid, SpecInvalid, clips, render
from tests.audio.engine.mixes import noise, spec_of, tone, write_source

pytestmark = pytest.mark.engine

RATE = 16000
REPORT_KEYS = {
    "duration_s",
    "sample_rate",
    "channels",
    "frames",
    "sample_peak_dbfs",
    "true_peak_dbtp",
    "integrated_lufs",
    "clipped_samples",
    "samples_sha256",
    "render_s",
    "tracks",
}


def busy_spec(length: int | None = None) -> dict[str, Any]:
    """Stateful everywhere: EQ and compression on tracks, a stretched clip, a reverb bus, a
    delay on the master, automation."""
    tracks = [
        {
            "id": "drums",
            "fx": [
                {"type": "HighpassFilter", "cutoff_frequency_hz": 80},
                {"type": "Compressor", "threshold_db": -20, "ratio": 4},
            ],
            "sends": [{"bus": "verb", "level_db": -8}],
            "automation": {"gain_db": [[0, -3.0], [20000, 0.0]]},
            "clips": [
                {"source": "a.wav", "start": 0},
                {"source": "a.wav", "start": 30000, "source_in": 2000, "length": 9000},
            ],
        },
        {
            "id": "keys",
            "pan": 0.4,
            "fx": [{"type": "PeakFilter", "cutoff_frequency_hz": 900, "gain_db": 4, "q": 1}],
            "sends": [{"bus": "verb", "level_db": -4, "pre_fader": True}],
            "clips": [{"source": "b.wav", "start": 5000, "stretch": 1.25, "pitch_semitones": 3}],
        },
        {"id": "plain", "pan": -0.7, "clips": [{"source": "c.wav", "start": 12000}]},
    ]
    buses = [{"id": "verb", "fx": [{"type": "Reverb", "room_size": 0.4, "wet_level": 0.6}]}]
    master = {"gain_db": -1.0, "fx": [{"type": "Delay", "delay_seconds": 0.1, "mix": 0.2}]}
    extra: dict[str, Any] = {"buses": buses, "master": master}
    if length is not None:
        extra["length"] = length
    return spec_of(RATE, tracks, **extra)


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    return {
        "a.wav": write_source(tmp_path, "a.wav", noise(RATE, 1.5, seed=1), RATE),
        "b.wav": write_source(tmp_path, "b.wav", tone(RATE, 1.0, 330, channels=2), RATE),
        "c.wav": write_source(tmp_path, "c.wav", noise(22050, 1.0, seed=2, channels=2), 22050),
    }


def run(tmp: Path, spec: dict[str, Any], sources: dict[str, Path], name: str, **kw: Any) -> Any:
    report = render(MixSpec.from_dict(spec), sources, tmp / name, **kw)
    return report, (tmp / name).read_bytes()


def test_same_bytes_for_one_or_two_threads_and_every_time(
    tmp_path: Path, sources: dict[str, Path]
) -> None:
    """No timestamp in the file, a fixed block size and a fixed summing order."""
    spec = busy_spec()
    one, b1 = run(tmp_path, spec, sources, "one.wav", threads=1)
    two, b2 = run(tmp_path, spec, sources, "two.wav", threads=2)
    again, b3 = run(tmp_path, spec, sources, "again.wav", threads=2, cache_dir=tmp_path / "c")
    assert b1 == b2 == b3
    assert set(one) == REPORT_KEYS
    assert one["samples_sha256"] == two["samples_sha256"] == again["samples_sha256"]
    assert one["samples_sha256"] == hashlib.sha256(b1[b1.index(b"data") + 8 :]).hexdigest()
    assert one["channels"] == 2 and one["sample_rate"] == RATE
    assert [t["id"] for t in one["tracks"]] == ["drums", "keys", "plain"]
    assert b1[:4] == b"RIFF" and b"PEAK" not in b1[:200]
    json.dumps(one, allow_nan=False)


@pytest.mark.parametrize("bits", ["32f", "16"])
@pytest.mark.parametrize(("start", "end"), [(0, 9000), (23456, 31000), (40000, 10**9)])
def test_a_range_equals_the_full_render_over_it(
    tmp_path: Path, sources: dict[str, Path], bits: str, start: int, end: int
) -> None:
    """Chains with state run from frame 0; dither is indexed by position; the end is cut to
    the mix's end (here the tail of the reverb and the delay)."""
    spec = busy_spec()
    full, _ = run(tmp_path, spec, sources, "full.wav", bit_depth=bits)
    part, _ = run(tmp_path, spec, sources, "part.wav", bit_depth=bits, frame_range=(start, end))
    whole, _ = sf.read(tmp_path / "full.wav", dtype="float64")
    window, _ = sf.read(tmp_path / "part.wav", dtype="float64")
    stop = min(end, full["frames"])
    assert part["frames"] == stop - start
    assert np.array_equal(window, whole[start:stop])


def test_a_range_of_a_stateless_mix_skips_what_is_before_it(
    tmp_path: Path, sources: dict[str, Path]
) -> None:
    """No fx anywhere: the window is computed alone, with the same samples."""
    spec = spec_of(
        RATE,
        [
            {"id": "a", "gain_db": -2, "clips": [{"source": "a.wav", "start": 0}]},
            {"id": "c", "pan": 0.3, "clips": [{"source": "c.wav", "start": 3000}]},
        ],
    )
    run(tmp_path, spec, sources, "full.wav")
    run(tmp_path, spec, sources, "part.wav", frame_range=(17001, 20002))
    whole, _ = sf.read(tmp_path / "full.wav", dtype="float32")
    window, _ = sf.read(tmp_path / "part.wav", dtype="float32")
    assert np.array_equal(window, whole[17001:20002])


def test_bad_ranges(tmp_path: Path, sources: dict[str, Path]) -> None:
    spec = MixSpec.from_dict(busy_spec(length=20000))
    for bad in [(5, 5), (-1, 10), (20000, 30000)]:
        with pytest.raises(RangeInvalid, match="range: "):
            render(spec, sources, tmp_path / "x.wav", frame_range=bad)
    assert not list(tmp_path.glob("x.wav*")) and not list(tmp_path.glob(".x.wav*"))


def test_a_fader_move_redoes_only_the_mix(tmp_path: Path, sources: dict[str, Path]) -> None:
    """Resampled and stretched material, and each fx track's signal after its fx, are cached
    by content and parameters (a WAV at the spec's rate is read in place, not copied): a
    fader change reuses every entry (and gives the bytes of a render without cache), a
    stretch change makes a new clip and track entry."""
    cache = tmp_path / "cache"
    spec = busy_spec()
    first, _ = run(tmp_path, spec, sources, "1.wav", cache_dir=cache)
    entries = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    kinds = [n.split("-")[0] for n in entries]
    assert (kinds.count("src"), kinds.count("clip"), kinds.count("track")) == (1, 1, 2)
    assert not [n for n in entries if n.endswith(".part")]
    spec["tracks"][0]["gain_db"] = -9.0
    spec["tracks"][1]["sends"][0]["level_db"] = -20.0
    second, cached = run(tmp_path, spec, sources, "2.wav", cache_dir=cache)
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == entries
    assert second["samples_sha256"] != first["samples_sha256"]
    _, fresh = run(tmp_path, spec, sources, "fresh.wav")  # no cache at all
    assert cached == fresh
    spec["tracks"][1]["clips"][0]["stretch"] = 1.5
    third, _ = run(tmp_path, spec, sources, "3.wav", cache_dir=cache)
    assert len(list(cache.iterdir())) == len(entries) + 2
    assert third["samples_sha256"] == run(tmp_path, spec, sources, "4.wav")[0]["samples_sha256"]


def _rewrite_keeping_size_and_mtime(path: Path, samples: np.ndarray) -> None:
    """New samples in the same file (same inode, same size), its mtime put back: only the
    status-change time, which no program can set, tells it changed."""
    before = path.stat()
    fresh = path.with_name("fresh-" + path.name)
    sf.write(fresh, np.ascontiguousarray(samples.T), RATE, subtype="FLOAT")
    data = fresh.read_bytes()
    fresh.unlink()
    assert len(data) == before.st_size
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


def test_a_changed_source_is_never_served_from_the_cache(
    tmp_path: Path, sources: dict[str, Path]
) -> None:
    """A source rewritten in place with its size and mtime restored is hashed again: the
    render after it equals a render without cache of the new file, not the old frozen
    tracks, and a source replaced by a new file of the same name likewise."""
    cache = tmp_path / "cache"
    spec = busy_spec()
    first, _ = run(tmp_path, spec, sources, "1.wav", cache_dir=cache)
    _rewrite_keeping_size_and_mtime(sources["a.wav"], noise(RATE, 1.5, seed=9))
    second, cached = run(tmp_path, spec, sources, "2.wav", cache_dir=cache)
    _, fresh = run(tmp_path, spec, sources, "fresh.wav")
    assert cached == fresh and second["samples_sha256"] != first["samples_sha256"]
    write_source(tmp_path, "b.wav", tone(RATE, 1.0, 440, channels=2), RATE)  # a new inode
    third, cached = run(tmp_path, spec, sources, "3.wav", cache_dir=cache)
    _, fresh = run(tmp_path, spec, sources, "fresh.wav")
    assert cached == fresh and third["samples_sha256"] != second["samples_sha256"]


def test_known_digests_key_the_cache_without_hashing_a_source(
    tmp_path: Path, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's SHA-256 of each file (the app's Asset hash) is the key a render would
    compute itself: the same entries, the same bytes, and no file read to be hashed; a
    malformed digest is bad input."""
    hashed = tmp_path / "hashed"
    _, by_hash = run(tmp_path, busy_spec(), sources, "1.wav", cache_dir=hashed)
    digests = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in sources.items()}

    def no_hashing(path: Any) -> str:
        raise AssertionError(f"{path} was hashed")

    monkeypatch.setattr(clips, "file_sha256", no_hashing)
    known = tmp_path / "known"
    _, by_digest = run(tmp_path, busy_spec(), sources, "2.wav", cache_dir=known, digests=digests)
    assert by_digest == by_hash
    assert sorted(p.name for p in known.iterdir()) == sorted(
        p.name for p in hashed.iterdir() if not p.name.startswith("hash-")
    )
    assert any(digests["c.wav"] in p.name for p in known.iterdir())  # the resampled copy
    _, again = run(tmp_path, busy_spec(), sources, "3.wav", cache_dir=known, digests=digests)
    assert again == by_hash
    with pytest.raises(AudioError, match=r"digests\['a.wav'\]"):
        run(tmp_path, busy_spec(), sources, "4.wav", digests={"a.wav": "ABC"})
    assert not (tmp_path / "4.wav").exists()


def _pcm(data: bytes, bits: int) -> np.ndarray:
    body = data[data.index(b"data") + 8 :]
    if bits == 16:
        return np.frombuffer(body, dtype="<i2").astype(np.int64)
    raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
    padded = np.zeros((raw.shape[0], 4), dtype=np.uint8)
    padded[:, 1:] = raw
    return padded.view("<i4")[:, 0].astype(np.int64) >> 8


def test_bit_depths_clip_count_and_dither(tmp_path: Path) -> None:
    """Float keeps overs; 24 and 16 clip at full scale and count it; 16 adds TPDF dither of at
    most 1 LSB (silence becomes -1, 0, 1), the same noise every time."""
    loud = tone(RATE, 0.5, 250, level=0.5)
    quiet = np.zeros((1, RATE // 2), dtype=np.float32)
    src = {
        "loud.wav": write_source(tmp_path, "loud.wav", loud, RATE),
        "quiet.wav": write_source(tmp_path, "quiet.wav", quiet, RATE),
    }
    hot = spec_of(RATE, [{"id": "a", "gain_db": 12, "clips": [{"source": "loud.wav", "start": 0}]}])
    f32, _ = run(tmp_path, hot, src, "f.wav")
    assert f32["clipped_samples"] == 0 and f32["sample_peak_dbfs"] > 0
    r24, b24 = run(tmp_path, hot, src, "24.wav", bit_depth="24")
    peak = 0.5 * 10 ** (12 / 20) * np.cos(np.pi / 4)
    t = np.arange(loud.shape[1]) / RATE
    overs = int(np.count_nonzero(np.abs(peak * np.sin(2 * np.pi * 250 * t)) * 2**23 > 2**23 - 1))
    assert abs(r24["clipped_samples"] - 2 * overs) <= 4
    assert r24["sample_peak_dbfs"] <= 0.0
    assert _pcm(b24, 24).max() == 2**23 - 1
    silent = spec_of(RATE, [{"id": "q", "clips": [{"source": "quiet.wav", "start": 0}]}])
    r16, b16 = run(tmp_path, silent, src, "16.wav", bit_depth="16")
    _, again = run(tmp_path, silent, src, "16b.wav", bit_depth="16")
    ints = _pcm(b16, 16)
    assert (
        set(np.unique(ints)) <= {-1, 0, 1} and abs(np.count_nonzero(ints) / len(ints) - 0.25) < 0.02
    )  # P(|n1 - n2| >= 0.5)
    assert b16 == again and r16["clipped_samples"] == 0
    fmt = b16[b16.index(b"fmt ") + 8 :][:16]
    assert struct.unpack("<HHIIHH", fmt) == (1, 2, RATE, RATE * 4, 4, 16)


def test_no_partial_file_when_a_render_fails(tmp_path: Path, sources: dict[str, Path]) -> None:
    """A cancel (on_progress raising) or a bad source leaves no output and no temporary."""
    spec = MixSpec.from_dict(busy_spec())

    def cancel(fraction: float) -> None:
        if fraction > 0.3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render(spec, sources, tmp_path / "out.wav", on_progress=cancel, cache_dir=tmp_path / "c")
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.endswith(".part")]
    missing = {**sources, "b.wav": tmp_path / "gone.wav"}
    with pytest.raises(SpecInvalid, match=r"tracks\[1\]\.clips\[0\]\.source: .*gone\.wav"):
        render(spec, missing, tmp_path / "out.wav")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out", "out"))]


def test_the_report_measures_what_was_written(tmp_path: Path, sources: dict[str, Path]) -> None:
    """Loudness, true peak and sample peak are the engine's meter on the stored samples;
    each track's peak is its post-fader level."""
    spec = busy_spec()
    report, _ = run(tmp_path, spec, sources, "m.wav")
    data, _ = sf.read(tmp_path / "m.wav", dtype="float32")
    figures = measure(data.T, RATE)
    assert report["integrated_lufs"] == pytest.approx(figures.integrated_lufs, abs=1e-3)
    assert report["true_peak_dbtp"] == pytest.approx(figures.true_peak_dbtp, abs=1e-3)
    assert report["sample_peak_dbfs"] == pytest.approx(figures.sample_peak_dbfs, abs=1e-3)
    assert report["duration_s"] == pytest.approx(report["frames"] / RATE)
    solo = copy.deepcopy(spec)
    solo["tracks"] = [dict(solo["tracks"][2])]  # alone, no master fx: its peak is the mix's
    solo.pop("master")
    alone, _ = run(tmp_path, solo, sources, "alone.wav")
    assert alone["tracks"][0]["peak_dbfs"] == pytest.approx(alone["sample_peak_dbfs"], abs=1e-3)


@pytest.mark.parametrize("bits", ["32f", "24"])
def test_a_window_reads_the_frozen_tracks_of_the_full_render(
    tmp_path: Path, sources: dict[str, Path], bits: str
) -> None:
    """After a full render, a preview of the same mix reads each fx track's frozen copy (and
    writes none): the same samples as the full render over the window."""
    cache = tmp_path / "cache"
    spec = busy_spec()
    spec["master"] = {"gain_db": -1.0}  # nothing after the tracks' fx keeps state but the bus
    full, _ = run(tmp_path, spec, sources, "full.wav", bit_depth=bits, cache_dir=cache)
    entries = sorted(p.name for p in cache.iterdir())
    spec["tracks"][0]["gain_db"] = -4.0  # a fader move, then a preview of it
    part, _ = run(
        tmp_path,
        spec,
        sources,
        "part.wav",
        bit_depth=bits,
        cache_dir=cache,
        frame_range=(21000, 33000),
    )
    again, _ = run(tmp_path, spec, sources, "again.wav", bit_depth=bits)
    assert sorted(p.name for p in cache.iterdir()) == entries
    whole, _ = sf.read(tmp_path / "again.wav", dtype="float64")
    window, _ = sf.read(tmp_path / "part.wav", dtype="float64")
    assert part["frames"] == 12000 and full["samples_sha256"] != again["samples_sha256"]
    assert np.array_equal(window, whole[21000:33000])
    # the copies are what the window read: zeroed, they silence their tracks in a new window
    for frozen in cache.glob("track-*"):
        frozen.write_bytes(bytes(frozen.stat().st_size))
    run(
        tmp_path,
        spec,
        sources,
        "zeroed.wav",
        bit_depth=bits,
        cache_dir=cache,
        frame_range=(21000, 33000),
    )
    zeroed, _ = sf.read(tmp_path / "zeroed.wav", dtype="float64")
    assert not np.array_equal(zeroed, window)
