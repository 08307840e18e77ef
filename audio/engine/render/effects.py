"""The effects a mix spec may use: pedalboard's built-in plugins, each parameter range-checked.

Ranges are what the plugin handles sanely (filters need a cutoff below Nyquist, a compressor's
ratio starts at 1), not what a mixer would usually pick. None of these plugins reports latency:
streamed block by block with ``reset=False`` they give exactly the samples of a one-shot call
(checked by the tests), so the renderer needs no latency compensation for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One parameter: its range, its default (pedalboard's), and for ``mode`` its choices."""

    lo: float
    hi: float
    default: float
    unit: str = ""
    choices: tuple[str, ...] = ()
    below_nyquist: bool = False


def _p(lo: float, hi: float, default: float, unit: str = "", nyq: bool = False) -> Param:
    return Param(lo, hi, default, unit, below_nyquist=nyq)


_CUTOFF = _p(10.0, 40000.0, 1000.0, "Hz", nyq=True)
_Q = _p(0.1, 20.0, 0.7071067811865476)
_EQ_GAIN = _p(-36.0, 36.0, 0.0, "dB")
_ATTACK = _p(0.01, 1000.0, 1.0, "ms")
_RELEASE = _p(1.0, 5000.0, 100.0, "ms")
_MIX = _p(0.0, 1.0, 0.5)
LADDER_MODES = ("LPF12", "HPF12", "BPF12", "LPF24", "HPF24", "BPF24")

EFFECTS: dict[str, dict[str, Param]] = {
    "HighpassFilter": {"cutoff_frequency_hz": _p(10.0, 40000.0, 50.0, "Hz", nyq=True)},
    "LowpassFilter": {"cutoff_frequency_hz": _p(10.0, 40000.0, 20000.0, "Hz", nyq=True)},
    "HighShelfFilter": {"cutoff_frequency_hz": _CUTOFF, "gain_db": _EQ_GAIN, "q": _Q},
    "LowShelfFilter": {"cutoff_frequency_hz": _CUTOFF, "gain_db": _EQ_GAIN, "q": _Q},
    "PeakFilter": {"cutoff_frequency_hz": _CUTOFF, "gain_db": _EQ_GAIN, "q": _Q},
    "LadderFilter": {
        "mode": Param(0, 0, 0, choices=LADDER_MODES),
        "cutoff_hz": _p(10.0, 40000.0, 200.0, "Hz", nyq=True),
        "resonance": _p(0.0, 1.0, 0.0),
        "drive": _p(1.0, 100.0, 1.0),
    },
    "Compressor": {
        "threshold_db": _p(-100.0, 0.0, 0.0, "dB"),
        "ratio": _p(1.0, 100.0, 1.0),
        "attack_ms": _ATTACK,
        "release_ms": _RELEASE,
    },
    "NoiseGate": {
        "threshold_db": _p(-100.0, 0.0, -100.0, "dB"),
        "ratio": _p(1.0, 100.0, 10.0),
        "attack_ms": _ATTACK,
        "release_ms": _RELEASE,
    },
    "Limiter": {"threshold_db": _p(-60.0, 0.0, -10.0, "dB"), "release_ms": _RELEASE},
    "Gain": {"gain_db": _p(-60.0, 24.0, 0.0, "dB")},
    "Distortion": {"drive_db": _p(0.0, 60.0, 25.0, "dB")},
    "Clipping": {"threshold_db": _p(-60.0, 0.0, -6.0, "dB")},
    "Chorus": {
        "rate_hz": _p(0.01, 99.0, 1.0, "Hz"),
        "depth": _p(0.0, 1.0, 0.25),
        "centre_delay_ms": _p(1.0, 100.0, 7.0, "ms"),
        "feedback": _p(-0.95, 0.95, 0.0),
        "mix": _MIX,
    },
    "Phaser": {
        "rate_hz": _p(0.01, 99.0, 1.0, "Hz"),
        "depth": _p(0.0, 1.0, 0.5),
        "centre_frequency_hz": _p(20.0, 20000.0, 1300.0, "Hz", nyq=True),
        "feedback": _p(-0.95, 0.95, 0.0),
        "mix": _MIX,
    },
    "Delay": {
        "delay_seconds": _p(0.0, 5.0, 0.5, "s"),
        "feedback": _p(0.0, 0.99, 0.0),
        "mix": _MIX,
    },
    "Reverb": {
        "room_size": _p(0.0, 1.0, 0.5),
        "damping": _p(0.0, 1.0, 0.5),
        "wet_level": _p(0.0, 1.0, 0.33),
        "dry_level": _p(0.0, 1.0, 0.4),
        "width": _p(0.0, 1.0, 1.0),
        "freeze_mode": _p(0.0, 1.0, 0.0),
    },
    "Bitcrush": {"bit_depth": _p(1.0, 32.0, 8.0, "bits")},
}


def range_text(param: Param) -> str:
    """'1-100', '-36-36 dB' reads badly, so negative bounds get 'to': '-36 to 36 dB'."""
    sep = " to " if param.lo < 0 or param.hi < 0 else "-"
    unit = f" {param.unit}" if param.unit else ""
    return f"{param.lo:g}{sep}{param.hi:g}{unit}"


def build_plugin(kind: str, params: dict[str, float | str]) -> Any:
    """A fresh pedalboard plugin; ``params`` were checked against ``EFFECTS`` already.

    pedalboard is imported here, not at the top: ``python -m audio.engine analyze`` (the
    upload probe's path) loads the render command's module but must not pay for pedalboard.
    """
    import pedalboard

    cls = getattr(pedalboard, kind)
    values: dict[str, Any] = dict(params)
    if kind == "LadderFilter" and "mode" in values:
        values["mode"] = getattr(pedalboard.LadderFilter.Mode, str(values["mode"]))
    return cls(**values)


def build_board(fx: list[tuple[str, dict[str, float | str]]]) -> Any:
    """A ``pedalboard.Pedalboard`` of fresh plugins, in order (imported lazily, as above)."""
    import pedalboard

    return pedalboard.Pedalboard([build_plugin(k, p) for k, p in fx])  # type: ignore[attr-defined, unused-ignore]
