"""Each feature of a mix spec against the spec's formulas computed again in numpy, sample by
sample; stretch and pitch by duration and frequency; effects against pedalboard itself."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pedalboard
import pytest
import soxr

from audio.engine.render.effects import EFFECTS, build_plugin
from tests.audio.engine.mixes import (
    db,
    fade_in,
    mix,
    mono_law,
    mono_track,
    noise,
    placed,
    spec_of,
    stereo_law,
    tone,
)

pytestmark = pytest.mark.engine

RATE = 16000
TOL = 1e-6


def close(got: np.ndarray, want: np.ndarray, tol: float = TOL) -> None:
    assert got.shape == want.shape, (got.shape, want.shape)
    assert float(np.max(np.abs(got - want), initial=0.0)) <= tol


@pytest.mark.parametrize("pan", [-1.0, -0.2, 0.0, 0.7, 1.0])
def test_gain_and_the_mono_pan_law(tmp_path: Path, pan: float) -> None:
    """Clip gain and fader add in dB; a mono track at pan p gives cos θ / sin θ, θ=(p+1)π/4."""
    x = noise(RATE, 0.5)
    spec = spec_of(
        RATE,
        [
            {
                "id": "a",
                "gain_db": -6.0,
                "pan": pan,
                "clips": [{"source": "a.wav", "start": 0, "gain_db": 3.0}],
            }
        ],
    )
    got, report = mix(tmp_path, spec, {"a.wav": (x, RATE)})
    close(got, mono_track(x * db(3.0), pan, -6.0))
    assert report["frames"] == x.shape[1]
    if pan == 0.0:  # -3 dB at the centre
        assert math.isclose(mono_law(0.0)[0], 10 ** (-3.0103 / 20), rel_tol=1e-4)


@pytest.mark.parametrize("pan", [-0.6, 0.0, 0.5])
def test_stereo_balance_law(tmp_path: Path, pan: float) -> None:
    """A stereo track is balanced: L × min(1, √2 cos θ), R × min(1, √2 sin θ)."""
    x = noise(RATE, 0.5, channels=2, seed=3)
    spec = spec_of(RATE, [{"id": "s", "pan": pan, "clips": [{"source": "s.wav", "start": 0}]}])
    got, _ = mix(tmp_path, spec, {"s.wav": (x, RATE)})
    left, right = stereo_law(pan)
    close(got, np.stack([x[0] * left, x[1] * right]))
    if pan == 0.0:
        close(got, x.astype(np.float64))


def test_gain_and_pan_automation(tmp_path: Path) -> None:
    """Gain points add to the fader, interpolated linearly in dB and held at both ends; pan
    points are the pan, interpolated linearly."""
    n = RATE
    x = noise(RATE, 1.0, seed=1)
    points = [[2000, 0.0], [6000, -12.0], [10000, 6.0]]
    pans = [[4000, -1.0], [12000, 0.5]]
    spec = spec_of(
        RATE,
        [
            {
                "id": "a",
                "gain_db": -2.0,
                "pan": 0.9,  # unused: the pan lane rules
                "automation": {"gain_db": points, "pan": pans},
                "clips": [{"source": "a.wav", "start": 0}],
            }
        ],
    )
    got, _ = mix(tmp_path, spec, {"a.wav": (x, RATE)})
    frames = np.arange(n)
    gain = db(-2.0 + np.interp(frames, [p[0] for p in points], [p[1] for p in points]))
    left, right = mono_law(np.interp(frames, [p[0] for p in pans], [p[1] for p in pans]))
    close(got, np.stack([x[0] * gain * left, x[0] * gain * right]))
    assert np.all(got[1, :4000] == 0.0)  # held at pan -1 before the first pan point


@pytest.mark.parametrize("shape", ["linear", "equal_power", "s_curve", "exponential"])
def test_fades_of_every_shape(tmp_path: Path, shape: str) -> None:
    """Fade-in gain at n of N: the shape's formula; the fade-out mirrors it, ending at the
    clip's last sample; then the clip's gain."""
    x = noise(RATE, 0.5, seed=2)
    n = x.shape[1]
    spec = spec_of(
        RATE,
        [
            {
                "id": "a",
                "pan": -1.0,
                "clips": [
                    {
                        "source": "a.wav",
                        "start": 100,
                        "gain_db": -1.5,
                        "fade_in": {"length": 1000, "shape": shape},
                        "fade_out": {"length": 2500, "shape": shape},
                    }
                ],
            }
        ],
    )
    got, report = mix(tmp_path, spec, {"a.wav": (x, RATE)})
    env = fade_in(shape, 1000, n) * fade_in(shape, 2500, n)[::-1] * db(-1.5)
    want = placed(n + 100, 100, mono_track(x * env, -1.0))
    close(got, want)
    assert got[0, 100] == 0.0 and got[0, -1] == 0.0
    assert report["frames"] == n + 100


def test_trims_offsets_and_clips_summing(tmp_path: Path) -> None:
    """A clip plays source[source_in : source_in + length] from ``start``; clips on a track
    sum; the spec's length cuts or pads the timeline."""
    x = noise(RATE, 1.0, seed=4)
    y = noise(RATE, 1.0, seed=5)
    total = 20000
    clips = [
        {"source": "x.wav", "start": 500, "source_in": 1000, "length": 4000},
        {"source": "y.wav", "start": 3000, "source_in": 0, "length": 8000},
        {"source": "x.wav", "start": 18000, "source_in": 10000, "length": 5000},  # cut at 20000
    ]
    spec = spec_of(RATE, [{"id": "a", "pan": 1.0, "clips": clips}], length=total)
    got, report = mix(tmp_path, spec, {"x.wav": (x, RATE), "y.wav": (y, RATE)})
    want = (
        placed(total, 500, x[:, 1000:5000])
        + placed(total, 3000, y[:, 0:8000])
        + placed(total, 18000, x[:, 10000:15000])
    )
    close(got, mono_track(want, 1.0))
    assert report["frames"] == total


def test_reverse(tmp_path: Path) -> None:
    """Reverse plays the clip's segment backwards, fades then applying on the timeline."""
    x = noise(RATE, 0.5, seed=6)
    clip = {
        "source": "x.wav",
        "start": 0,
        "source_in": 100,
        "length": 3000,
        "reverse": True,
        "fade_in": {"length": 300, "shape": "linear"},
    }
    spec = spec_of(RATE, [{"id": "a", "clips": [clip]}])
    got, _ = mix(tmp_path, spec, {"x.wav": (x, RATE)})
    seg = x[:, 100:3100][:, ::-1] * fade_in("linear", 300, 3000)
    close(got, mono_track(seg))


def test_polarity(tmp_path: Path) -> None:
    x = noise(RATE, 0.3, seed=7)
    spec = spec_of(
        RATE, [{"id": "a", "polarity_invert": True, "clips": [{"source": "x.wav", "start": 0}]}]
    )
    got, _ = mix(tmp_path, spec, {"x.wav": (x, RATE)})
    close(got, mono_track(-x))


def test_mute_and_solo(tmp_path: Path) -> None:
    """A muted track is silent; with a solo, only soloed tracks are heard, through the buses
    they reach (a bus fed only by unsoloed tracks stays silent)."""
    a, b, c = noise(RATE, 0.3, seed=8), noise(RATE, 0.3, seed=9), noise(RATE, 0.3, seed=10)
    src = {"a.wav": (a, RATE), "b.wav": (b, RATE), "c.wav": (c, RATE)}
    buses = [{"id": "bus", "gain_db": -4.0}]
    tracks = [
        {"id": "a", "mute": True, "clips": [{"source": "a.wav", "start": 0}]},
        {"id": "b", "clips": [{"source": "b.wav", "start": 0}]},
        {"id": "c", "output": "bus", "clips": [{"source": "c.wav", "start": 0}]},
    ]
    got, report = mix(tmp_path, spec_of(RATE, tracks, buses=buses), src)
    close(got, mono_track(b) + mono_track(c) * db(-4.0))
    assert report["tracks"][0] == {"id": "a", "peak_dbfs": None}
    tracks[2]["solo"] = True
    got, report = mix(tmp_path, spec_of(RATE, tracks, buses=buses), src, out="solo.wav")
    close(got, mono_track(c) * db(-4.0))
    assert report["tracks"][1]["peak_dbfs"] is None
    assert report["tracks"][2]["peak_dbfs"] is not None


def test_sends_pre_and_post_fader_and_buses(tmp_path: Path) -> None:
    """A post-fader send takes the track after fader and pan; a pre-fader one after its fx,
    before the fader (a mono one reaching both sides). Buses have a fader and a balance pan
    and may feed other buses."""
    x = noise(RATE, 0.4, seed=11)
    tracks = [
        {
            "id": "a",
            "gain_db": -10.0,
            "pan": -0.5,
            "sends": [
                {"bus": "post", "level_db": -6.0},
                {"bus": "pre", "level_db": -3.0, "pre_fader": True},
            ],
            "clips": [{"source": "x.wav", "start": 0}],
        }
    ]
    buses = [
        {"id": "pre", "gain_db": 2.0, "pan": 0.4, "output": "sub"},
        {"id": "post", "gain_db": -1.0},
        {"id": "sub", "gain_db": -2.0, "pan": -0.3},
    ]
    got, _ = mix(tmp_path, spec_of(RATE, tracks, buses=buses), {"x.wav": (x, RATE)})
    track = mono_track(x, -0.5, -10.0)
    post_bus = track * db(-6.0) * db(-1.0)  # stereo, centre: unity balance
    pre_in = np.stack([x[0], x[0]]) * db(-3.0)
    l1, r1 = stereo_law(0.4)
    pre_out = np.stack([pre_in[0] * l1, pre_in[1] * r1]) * db(2.0)
    l2, r2 = stereo_law(-0.3)
    sub_out = np.stack([pre_out[0] * l2, pre_out[1] * r2]) * db(-2.0)
    close(got, track + post_bus + sub_out)


def test_master_gain_and_no_clipping(tmp_path: Path) -> None:
    """The master's gain applies last; float output keeps peaks far over 0 dBFS."""
    x = tone(RATE, 0.5, 500, level=0.9)
    spec = spec_of(
        RATE,
        [{"id": "a", "gain_db": 12.0, "clips": [{"source": "x.wav", "start": 0}]}],
        master={"gain_db": 3.0},
    )
    got, report = mix(tmp_path, spec, {"x.wav": (x, RATE)})
    close(got, mono_track(x, 0.0, 15.0), tol=1e-5)
    assert report["sample_peak_dbfs"] > 10 and report["clipped_samples"] == 0


def test_resampled_source_matches_soxr(tmp_path: Path) -> None:
    """A source at another rate is resampled with soxr VHQ; the clip indexes the result."""
    x = noise(22050, 1.0, seed=12, channels=2)
    clip = {"source": "x.wav", "start": 0, "source_in": 1000, "length": 12000}
    spec = spec_of(RATE, [{"id": "a", "clips": [clip]}])
    got, _ = mix(tmp_path, spec, {"x.wav": (x, 22050)})
    want = soxr.resample(np.ascontiguousarray(x.T), 22050, RATE, quality="VHQ").T
    close(got, want[:, 1000:13000].astype(np.float64))


def test_source_length_at_the_spec_rate(tmp_path: Path) -> None:
    """A clip with no length plays to the source's end: round(n · out/in) frames."""
    x = noise(44100, 0.5, seed=13)
    spec = spec_of(48000, [{"id": "a", "clips": [{"source": "x.wav", "start": 10}]}])
    _, report = mix(tmp_path, spec, {"x.wav": (x, 44100)})
    assert report["frames"] == 10 + round(x.shape[1] * 48000 / 44100)


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize(("stretch", "pitch"), [(2.0, 0.0), (0.5, 0.0), (1.0, 12.0), (1.5, -5.0)])
def test_stretch_and_pitch(tmp_path: Path, stretch: float, pitch: float) -> None:
    """``stretch`` scales the duration at the same pitch; semitones shift the frequency."""
    x = tone(RATE, 1.0, 440.0)
    clip = {"source": "x.wav", "start": 0, "stretch": stretch, "pitch_semitones": pitch}
    got, report = mix(tmp_path, spec_of(RATE, [{"id": "a", "clips": [clip]}]), {"x.wav": (x, RATE)})
    assert report["frames"] == round(x.shape[1] * stretch)
    body = got[0, len(got[0]) // 4 : 3 * len(got[0]) // 4]
    want = 440.0 * 2 ** (pitch / 12)
    assert abs(_peak_hz(body, RATE) - want) < want * 0.02


def _params(kind: str) -> dict[str, float | str]:
    """A setting that does something audible (not the defaults) inside the ranges."""
    custom: dict[str, dict[str, float | str]] = {
        "Compressor": {"threshold_db": -20.0, "ratio": 4.0},
        "Gain": {"gain_db": -4.0},
        "LadderFilter": {"mode": "HPF24", "cutoff_hz": 800.0, "resonance": 0.3},
        "LowpassFilter": {"cutoff_frequency_hz": 2000.0},
        "PeakFilter": {"cutoff_frequency_hz": 1000.0, "gain_db": 6.0, "q": 2.0},
        "Delay": {"delay_seconds": 0.05, "feedback": 0.3, "mix": 0.5},
        "Limiter": {"threshold_db": -12.0},
    }
    return custom.get(kind, {})


@pytest.mark.parametrize("kind", sorted(EFFECTS))
def test_effects_equal_pedalboard_applied_directly(tmp_path: Path, kind: str) -> None:
    """A track's fx chain gives what pedalboard's plugin gives on the same signal, one shot:
    no latency to compensate, no difference from processing in blocks."""
    x = noise(RATE, 1.5, channels=2, seed=14)
    params = _params(kind)
    spec = spec_of(
        RATE,
        [{"id": "a", "fx": [{"type": kind, **params}], "clips": [{"source": "x.wav", "start": 0}]}],
        length=x.shape[1],
    )
    got, _ = mix(tmp_path, spec, {"x.wav": (x, RATE)})
    want = build_plugin(kind, params)(x, RATE)
    close(got, want.astype(np.float64))


def test_a_chain_of_effects_on_a_bus(tmp_path: Path) -> None:
    """Chains run in order, on tracks and buses (and master) alike."""
    x = noise(RATE, 1.0, channels=2, seed=15)
    fx = [
        {"type": "HighpassFilter", "cutoff_frequency_hz": 120},
        {"type": "Compressor", "threshold_db": -18, "ratio": 3},
    ]
    spec = spec_of(
        RATE,
        [{"id": "a", "output": "b", "clips": [{"source": "x.wav", "start": 0}]}],
        buses=[{"id": "b", "fx": fx}],
        master={"fx": [{"type": "Gain", "gain_db": -3.0}]},
        length=x.shape[1],
    )
    got, _ = mix(tmp_path, spec, {"x.wav": (x, RATE)})
    board = pedalboard.Pedalboard(  # type: ignore[attr-defined]
        [
            pedalboard.HighpassFilter(cutoff_frequency_hz=120),
            pedalboard.Compressor(threshold_db=-18, ratio=3),
            pedalboard.Gain(gain_db=-3.0),
        ]
    )
    close(got, board(x, RATE).astype(np.float64))


def test_the_tail_rings_out_and_stops_at_minus_90(tmp_path: Path) -> None:
    """With no length, a reverb tail follows the last clip (at most 10 s), cut after its last
    sample above -90 dBFS; with nothing that rings, the mix ends with the last clip."""
    x = noise(RATE, 0.3, seed=16)
    tracks = [{"id": "a", "output": "verb", "clips": [{"source": "x.wav", "start": 0}]}]
    buses = [{"id": "verb", "fx": [{"type": "Reverb", "room_size": 0.5, "wet_level": 0.5}]}]
    got, report = mix(tmp_path, spec_of(RATE, tracks, buses=buses), {"x.wav": (x, RATE)})
    n = x.shape[1]
    assert n < report["frames"] <= n + 10 * RATE
    assert np.abs(got[:, -1]).max() > 10 ** (-90 / 20)
    tracks[0]["output"] = "master"
    _, plain = mix(tmp_path, spec_of(RATE, tracks), {"x.wav": (x, RATE)}, out="plain.wav")
    assert plain["frames"] == n


def test_a_tiny_stretched_clip(tmp_path: Path) -> None:
    """Two frames stretched fourfold are eight frames on the timeline (pedalboard would read a
    (2, 2) array the wrong way round; the engine pads it first)."""
    x = noise(RATE, 0.1, channels=2, seed=17)
    clip = {"source": "x.wav", "start": 5, "length": 2, "stretch": 4.0, "pitch_semitones": 1}
    got, report = mix(tmp_path, spec_of(RATE, [{"id": "a", "clips": [clip]}]), {"x.wav": (x, RATE)})
    assert report["frames"] == 13 and got.shape == (2, 13)


def test_a_mono_clip_on_a_stereo_track_feeds_both_sides(tmp_path: Path) -> None:
    """A track with any stereo clip is stereo (balance law); its mono clips play on both sides."""
    m = noise(RATE, 0.3, seed=18)
    s = noise(RATE, 0.3, channels=2, seed=19)
    clips = [{"source": "m.wav", "start": 0}, {"source": "s.wav", "start": 1000}]
    spec = spec_of(RATE, [{"id": "a", "pan": 0.25, "clips": clips}])
    got, _ = mix(tmp_path, spec, {"m.wav": (m, RATE), "s.wav": (s, RATE)})
    n = 1000 + s.shape[1]
    both = placed(n, 0, np.concatenate([m, m])) + placed(n, 1000, s)
    left, right = stereo_law(0.25)
    close(got, np.stack([both[0] * left, both[1] * right]))
