"""Sources read in place: a WAV or AIFF at the spec's rate is decoded block by block from the
file itself, by several threads at once, with exactly the samples of a decode from the start,
and a render from it equals a render of the same file decoded into the cache first. Also: the
mixer's one call per chunk into an fx chain gives the samples of one call per block."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.engine.errors import AudioError
from audio.engine.io import read_all
from audio.engine.render import MixSpec, SpecInvalid, clips, mixer, render
from audio.engine.render.clips import ClipStore, FileFrames, Frames, HandlePool
from audio.engine.render.effects import EFFECTS, build_board
from audio.engine.render.mixer import BLOCK, Strip, run_fx
from audio.engine.render.spec import Automation, Effect
from tests.audio.engine.mixes import noise, spec_of, write_source

pytestmark = pytest.mark.engine

RATE = 16000


def _with_chunk_before_data(path: Path) -> None:
    """Put an odd-sized chunk (with its pad byte) between a WAV's fmt and data chunks."""
    data = path.read_bytes()
    at = data.index(b"data")
    extra = b"odd " + (5).to_bytes(4, "little") + b"12345\0"
    data = data[:at] + extra + data[at:]
    path.write_bytes(data[:4] + (len(data) - 8).to_bytes(4, "little") + data[8:])


@pytest.mark.parametrize(
    ("name", "subtype", "channels", "container", "raw"),
    [
        ("a.wav", "PCM_16", 1, "WAV", True),
        ("a.wav", "PCM_24", 2, "WAV", True),
        ("a.wav", "PCM_24", 1, "odd chunk", True),
        ("a.wav", "PCM_32", 1, "WAV", True),
        ("a.wav", "FLOAT", 2, "WAV", True),
        ("a.wav", "PCM_24", 2, "WAVEX", True),
        ("a.wav", "PCM_16", 2, "RF64", True),
        ("a.wav", "DOUBLE", 1, "WAV", False),
        ("a.wav", "PCM_U8", 1, "WAV", False),
        ("a.aiff", "PCM_24", 2, "AIFF", False),
    ],
)
def test_in_place_reads_are_the_decoded_samples(
    tmp_path: Path, name: str, subtype: str, channels: int, container: str, raw: bool
) -> None:
    """Read by position, through libsndfile or (a little-endian PCM or float WAV) straight
    from the file's bytes in numpy, the samples are libsndfile's decode from the start."""
    x = noise(RATE, 1.3, seed=4, channels=channels) * 1.9  # some samples past full scale
    path = tmp_path / name
    fmt = "WAV" if container == "odd chunk" else container
    sf.write(path, np.ascontiguousarray(x.T), RATE, subtype=subtype, format=fmt)
    if container == "odd chunk":
        _with_chunk_before_data(path)
    store = ClipStore(tmp_path / "cache", RATE)
    (tmp_path / "cache").mkdir()
    source = store.load("a", path, need_hash=False)
    assert isinstance(source.data, FileFrames) and source.sha256 is None
    assert (source.data.layout is not None) == raw
    assert not list((tmp_path / "cache").iterdir())  # no copy, no hash memo
    whole = read_all(path).samples.T  # (frames, channels)
    assert source.frames == whole.shape[0]
    spans = [(a, min(a + 3001, source.frames)) for a in range(0, source.frames, 3001)]
    spans += [(5, 6), (source.frames - 1, source.frames), (7, 7)]
    with ThreadPoolExecutor(4) as pool:  # handles shared between threads
        got = list(pool.map(lambda ab: source.data[ab[0] : ab[1]], spans * 3))
    for (a, b), block in zip(spans * 3, got, strict=True):
        assert block.dtype == np.float32 and block.shape == (b - a, channels)
        assert np.array_equal(block.view(np.int32), whole[a:b].view(np.int32))
    into = np.empty((4000, channels), dtype=np.float32)
    source.data.read_into(source.frames - 4000, into)
    assert np.array_equal(into.view(np.int32), whole[-4000:].view(np.int32))
    with pytest.raises(AudioError, match="ends at frame"):
        source.data.read_into(source.frames - 10, into)
    store.handles.close()


def test_the_raw_path_is_dropped_when_it_disagrees_with_libsndfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked at both ends against libsndfile when opened: a raw read that differs (here a
    conversion made wrong on purpose) leaves the source to libsndfile, with its samples."""
    x = noise(RATE, 1.0, seed=8)
    path = write_source(tmp_path, "a.wav", x, RATE)
    real = clips.read_raw

    def off_by_one(path: str, layout: clips.RawLayout, a: int, out: np.ndarray) -> int:
        got = real(path, layout, a, out)
        out.reshape(-1)[-1] += 1.0
        return got

    monkeypatch.setattr(clips, "read_raw", off_by_one)
    frames = FileFrames(path, 1, HandlePool())
    assert frames.layout is None
    assert np.array_equal(frames[0 : x.shape[1]][:, 0], read_all(path).samples[0])
    frames.pool.close()


def test_a_resampled_or_compressed_source_is_decoded_into_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    x = np.ascontiguousarray(noise(RATE, 0.5, seed=5).T)
    sf.write(tmp_path / "low.wav", x, RATE // 2, subtype="PCM_16")
    sf.write(tmp_path / "a.flac", x, RATE, subtype="PCM_16")
    store = ClipStore(cache, RATE)
    for name in ("low.wav", "a.flac"):
        source = store.load(name, tmp_path / name, need_hash=False)
        assert isinstance(source.data, Frames) and source.sha256 is not None
    assert len([p for p in cache.iterdir() if p.name.startswith("src-")]) == 2


def test_the_handle_pool_stays_bounded(tmp_path: Path) -> None:
    pool = HandlePool()
    pool.MAX_OPEN = 3
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], np.zeros(100, dtype=np.float32), RATE, subtype="PCM_16")
    frames = [FileFrames(p, 1, pool) for p in paths]
    for f in frames * 2:
        assert f[10:20].shape == (10, 1)
    assert len(pool._idle) == 3
    pool.close()
    assert not pool._idle


def _render_bytes(tmp_path: Path, spec: dict, sources: dict[str, Path], out: str) -> bytes:
    render(MixSpec.from_dict(spec), sources, tmp_path / out, threads=2)
    return (tmp_path / out).read_bytes()


def test_a_render_in_place_equals_one_from_the_decoded_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 24-bit WAV read in place and the same file decoded into the cache (as every source
    was before) give the same output bytes, with fx, fades, reverse and a trim."""
    x = np.ascontiguousarray(noise(RATE, 2.0, seed=6, channels=2).T)
    sf.write(tmp_path / "s.wav", x, RATE, subtype="PCM_24")
    clip = {
        "source": "s",
        "start": 700,
        "source_in": 1234,
        "length": 20000,
        "reverse": True,
        "fade_in": {"length": 900, "shape": "s_curve"},
    }
    track = {"id": "t", "fx": [{"type": "Compressor", "threshold_db": -20, "ratio": 3}]}
    spec = spec_of(RATE, [{**track, "clips": [clip, {"source": "s", "start": 9000}]}])
    in_place = _render_bytes(tmp_path, spec, {"s": tmp_path / "s.wav"}, "a.wav")
    monkeypatch.setattr(clips, "IN_PLACE_FORMATS", ())
    copied = _render_bytes(tmp_path, spec, {"s": tmp_path / "s.wav"}, "b.wav")
    assert in_place == copied


def test_a_non_finite_float_source_is_a_bad_source(tmp_path: Path) -> None:
    x = np.zeros((RATE, 1), dtype=np.float32)
    x[RATE // 2] = np.nan
    sf.write(tmp_path / "nan.wav", x, RATE, subtype="FLOAT")
    spec = spec_of(RATE, [{"id": "t", "clips": [{"source": "nan.wav", "start": 0}]}])
    with pytest.raises(SpecInvalid, match="non-finite"):
        render(MixSpec.from_dict(spec), {"nan.wav": tmp_path / "nan.wav"}, tmp_path / "o.wav")
    assert not list(tmp_path.glob("o.wav*")) and not list(tmp_path.glob(".o.wav*"))


@pytest.mark.parametrize("kind", sorted(EFFECTS))
@pytest.mark.parametrize("channels", [1, 2])
def test_chunked_fx_calls_equal_block_by_block_calls(kind: str, channels: int) -> None:
    """The mixer hands each chain a whole chunk with ``buffer_size=BLOCK``; that gives,
    to the bit, the samples of one call per BLOCK frames (the block size fixes the output),
    including a last partial block padded with zeros."""
    params: dict[str, float | str] = {"mode": "BPF24"} if kind == "LadderFilter" else {}
    x = noise(48000, 0.9, seed=21, channels=channels) * 0.8
    n = x.shape[1]  # not a multiple of BLOCK
    chunked, blockwise = build_board([(kind, params)]), build_board([(kind, params)])
    got = np.concatenate(
        [run_fx(chunked, x[:, a : a + 3 * BLOCK], a, 48000) for a in range(0, n, 3 * BLOCK)], axis=1
    )
    want = np.zeros_like(x)
    for a in range(0, n, BLOCK):
        blk = np.zeros((channels, BLOCK), dtype=np.float32)
        m = min(BLOCK, n - a)
        blk[:, :m] = x[:, a : a + m]
        want[:, a : a + m] = blockwise.process(blk, 48000, reset=False)[:, :m]
    assert got.shape == x.shape and got.dtype == np.float32
    assert np.array_equal(got.view(np.int32), want.view(np.int32))


def test_plugins_left_out_in_the_silence_after_the_last_clip_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a track's last clip, a plugin that can only give silence from then on is not run
    (a compressor's envelope decays into slow denormal numbers there): the tail renders to
    the same bytes as with every plugin run, for chains that settle, that ring (a delay, a
    reverb) or both, with polarity inverted too."""
    x = noise(RATE, 1.2, seed=9) * 0.8
    sources = {"x": write_source(tmp_path, "x.wav", x, RATE)}
    peak = {"type": "PeakFilter", "cutoff_frequency_hz": 150, "gain_db": 12, "q": 8}
    comp = {"type": "Compressor", "threshold_db": -30, "ratio": 6}
    chains = [
        [peak, comp],
        [comp, {"type": "HighpassFilter", "cutoff_frequency_hz": 20}, {"type": "Limiter"}],
        [{"type": "HighShelfFilter", "gain_db": 6}, {"type": "Delay", "feedback": 0.5}, comp],
        [{"type": "NoiseGate", "threshold_db": -40}, {"type": "Reverb"}, {"type": "Gain"}],
    ]
    tracks = [
        {
            "id": f"t{i}",
            "polarity_invert": i == 1,
            "fx": fx,
            "clips": [
                {"source": "x", "start": 3000 * i, "length": 9000},
                {"source": "x", "start": 30000 + 5000 * i, "source_in": 2000},
            ],
        }
        for i, fx in enumerate(chains)
    ]
    spec = spec_of(RATE, tracks)
    skipping = _render_bytes(tmp_path, spec, sources, "a.wav")
    monkeypatch.setattr(mixer, "SETTLES", frozenset())
    every = _render_bytes(tmp_path, spec, sources, "b.wav")
    assert skipping == every


def test_which_plugins_are_left_out_in_silence() -> None:
    """A settling chain is left out chunk by chunk once silent; a ringing plugin always runs,
    and what follows it too."""
    peak = Effect("PeakFilter", (("cutoff_frequency_hz", 300.0), ("gain_db", 9.0)))
    comp = Effect("Compressor", (("ratio", 4.0), ("threshold_db", -30.0)))
    delay = Effect("Delay", (("delay_seconds", 0.05), ("feedback", 0.5)))
    tone_in = noise(48000, 0.5, seed=3) * 0.5
    for fx, dead in [((peak, comp), [True, True]), ((comp, delay, comp), [True, False, False])]:
        strip = Strip("t", 1, 0.0, 0.0, Automation(), fx, "master", [], 48000)
        strip.silent_from = 3 * BLOCK
        strip.through_fx(np.ascontiguousarray(tone_in[:, : 3 * BLOCK]), 0)
        for k in range(3, 9, 2):  # silence, two blocks at a time
            strip.through_fx(np.zeros((1, 2 * BLOCK), dtype=np.float32), k * BLOCK)
        assert strip.dead == dead
