"""Reference meters used as oracles: pyloudnorm in process, ffmpeg's ebur128 filter by
subprocess (Debian ffmpeg; test and benchmark peer only, never in the engine)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt

FFMPEG = shutil.which("ffmpeg")


def pyloudnorm_integrated(samples: npt.NDArray[np.float32], rate: int) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.T.astype(np.float64)))


def ffmpeg_ebur128(path: Path) -> dict[str, float]:
    """Integrated, LRA and true peak from ffmpeg's summary (it prints one decimal)."""
    assert FFMPEG is not None
    done = subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-nostats",
            "-protocol_whitelist",
            "file",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary = done.stderr[done.stderr.rfind("Summary:") :]
    found = {
        "integrated_lufs": re.search(r"I:\s+(-?[\d.]+) LUFS", summary),
        "loudness_range_lu": re.search(r"LRA:\s+(-?[\d.]+) LU", summary),
        "true_peak_dbtp": re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary),
    }
    return {k: float(m.group(1)) for k, m in found.items() if m}
