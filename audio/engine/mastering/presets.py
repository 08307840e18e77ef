"""Platform presets as data: each service's loudness reference, its ceiling, and what it does.

``turns_up``: whether the service raises a quieter master (Spotify only as far as a -1 dBTP
peak allows in its default mode; Apple's Sound Check raises and lowers); the others only turn
loud masters down. ``source`` names where the figure is published.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    lufs: float | None  # None: the medium does not normalise (CD)
    ceiling_dbtp: float
    turns_up: bool
    source: str


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "spotify",
            -14.0,
            -1.0,
            True,
            "Spotify for Artists, 'Loudness normalization': -14 LUFS integrated, masters "
            "at or under -1 dBTP; quiet tracks raised only up to -1 dBTP in the default mode",
        ),
        Preset(
            "apple",
            -16.0,
            -1.0,
            True,
            "Apple Digital Masters / Sound Check (Apple Music for Artists): -16 LUFS "
            "integrated, -1 dBTP",
        ),
        Preset(
            "youtube",
            -14.0,
            -1.0,
            False,
            "YouTube's loudness normalisation (measured as 'stats for nerds' content "
            "loudness): -14 LUFS, turned down only",
        ),
        Preset(
            "amazon",
            -14.0,
            -2.0,
            False,
            "Amazon Music's delivery guidance: -14 LUFS integrated, true peak -2 dBTP",
        ),
        Preset(
            "tidal",
            -14.0,
            -1.0,
            False,
            "TIDAL support, 'Loudness normalization': -14 LUFS, turned down only",
        ),
        Preset(
            "deezer",
            -15.0,
            -1.0,
            False,
            "Deezer's loudness normalisation: -15 LUFS, turned down only",
        ),
        Preset(
            "cd",
            None,
            -1.0,
            False,
            "Red Book CD: no loudness normalisation (a player plays the master as it is); "
            "the target stays the engine's default or --target-lufs, the ceiling -1 dBTP",
        ),
    )
}


def playback_gain_db(
    preset: Preset, integrated_lufs: float | None, true_peak_dbtp: float | None
) -> float:
    """How much the service turns this master up (+) or down (-); 0 where it does nothing."""
    if preset.lufs is None or integrated_lufs is None:
        return 0.0
    gain = preset.lufs - integrated_lufs
    if gain <= 0:
        return round(gain, 2)
    if not preset.turns_up:
        return 0.0
    if preset.name == "spotify" and true_peak_dbtp is not None:
        gain = max(0.0, min(gain, -1.0 - true_peak_dbtp))
    return round(gain, 2)


def platforms_report(
    integrated_lufs: float | None, true_peak_dbtp: float | None
) -> dict[str, dict[str, object]]:
    """``{"spotify": {"lufs", "tp", "playback_gain_db", "source"}, ...}`` for a master."""
    return {
        p.name: {
            "lufs": p.lufs,
            "tp": p.ceiling_dbtp,
            "playback_gain_db": playback_gain_db(p, integrated_lufs, true_peak_dbtp),
            "source": p.source,
        }
        for p in PRESETS.values()
    }
