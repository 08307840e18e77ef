"""Demo audio for `seed_demo`: a few short synthesised stems and two mix versions of "Night Drive",
with comments and an approval, so a new user meets a waveform at once; the stems of
"Glass Harbour" with a version rendered from them (a draft from the stems at unity, a few fader,
pan and send moves, the render job), so a new user meets a rendered version and its mixer too;
and for that version a reference track and Master 1 made by the master job (the Spotify preset,
matched to the reference at 70 %), so a new user meets a master and its report.

The signals are made with numpy here (deterministic, so a re-run deduplicates by checksum) and go
through the same services as an upload: probe, store, analysis job, attach, events.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio.engine.io import write_wav
from audio.jobs import runner
from audio.models import Master, Mix
from audio.services import masters, renders
from audio.services.assets import asset_ingest_file, stem_attach
from audio.services.mixes import mix_create
from studio.models import Project, Song

RATE = 44100
SECONDS = 48.0
BPM = 104.0


def _time(seconds: float = SECONDS) -> npt.NDArray[np.float64]:
    return np.arange(int(RATE * seconds)) / RATE


def _stereo(mono: npt.NDArray[np.float64], pan: float) -> npt.NDArray[np.float32]:
    left, right = np.cos((pan + 1) * np.pi / 4), np.sin((pan + 1) * np.pi / 4)
    return np.stack([mono * left, mono * right]).astype(np.float32)


def synth_stems(
    *, bpm: float = BPM, transpose: int = 0, seconds: float = SECONDS
) -> dict[str, npt.NDArray[np.float32]]:
    """Drums, bass, keys and a lead line in F# minor at 104 BPM (or `transpose` semitones
    away, at `bpm`)."""
    t = _time(seconds)
    beat = 60.0 / bpm
    rng = np.random.default_rng(round(bpm) + transpose)
    shift = 2 ** (transpose / 12)
    phase = t % beat
    kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-phase * 30)) * phase) * np.exp(-phase * 9)
    hat_phase = (t + beat / 2) % beat
    hats = rng.standard_normal(t.size) * np.exp(-hat_phase * 60) * 0.25
    roots = [46.25, 36.71, 41.20, 55.00]  # F#1, D1, E1, A1 (Hz)
    bar = (t // (4 * beat)).astype(int) % 4
    freq = np.take(roots, bar) * shift
    bass = np.tanh(3 * np.sin(2 * np.pi * freq * t)) * 0.5
    chord = np.zeros_like(t)
    for ratio in (4.0, 4.0 * 1.189, 4.0 * 1.498):  # minor triad, two octaves up
        chord += np.sin(2 * np.pi * freq * ratio * t + ratio)
    keys = chord / 3 * (0.6 + 0.4 * np.sin(2 * np.pi * t / (8 * beat)) ** 2) * 0.5
    melody = np.take([369.99, 440.0, 493.88, 554.37], (t // (2 * beat)).astype(int) % 4) * shift
    vibrato = 1 + 0.006 * np.sin(2 * np.pi * 5.5 * t)
    lead = np.sin(2 * np.pi * np.cumsum(melody * vibrato) / RATE) * 0.4
    lead *= np.clip((t % (2 * beat)) * 8, 0, 1)
    return {
        "drums": _stereo(kick * 0.8 + hats, 0.0),
        "bass": _stereo(bass, 0.0),
        "keys": _stereo(keys, -0.3),
        "lead vocal": _stereo(lead, 0.15),
    }


def mixdown(
    stems: dict[str, npt.NDArray[np.float32]], gains_db: dict[str, float]
) -> npt.NDArray[np.float32]:
    """Sum the stems at the given gains, peak-normalised to -1 dBFS."""
    total = np.sum(
        [stem * 10 ** (gains_db.get(name, 0.0) / 20) for name, stem in stems.items()], axis=0
    )
    peak = float(np.max(np.abs(total))) or 1.0
    return (total * (10 ** (-1 / 20) / peak)).astype(np.float32)


def seed_demo_audio(*, project: Project, users: dict[str, Any]) -> tuple[Mix, Mix]:
    """Four synthesised stems of 'Night Drive' and two mix versions (analysis queued)."""
    song = Song.objects.get(project=project, title="Night Drive")
    leo = users["leo"]
    stems = synth_stems()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, samples in stems.items():
            path = folder / f"{name}.wav"
            write_wav(path, samples, RATE, bit_depth=24)
            asset = asset_ingest_file(
                actor=leo, project=project, path=path, original_name=f"Night Drive - {name}.wav"
            )
            stem_attach(actor=leo, song=song, asset=asset, instrument=name)
        mixes = []
        for number, gains in enumerate(
            [{"lead vocal": -3.0, "keys": 0.0}, {"lead vocal": -2.0, "keys": -1.5}], start=1
        ):
            path = folder / f"mix{number}.wav"
            write_wav(path, mixdown(stems, gains), RATE, bit_depth=24)
            asset = asset_ingest_file(
                actor=leo,
                project=project,
                path=path,
                original_name=f"Night Drive - mix {number}.wav",
            )
            note = "First pass." if number == 1 else "Vocal up 1 dB, pad tucked under it."
            mixes.append(mix_create(actor=leo, song=song, asset=asset, note=note))
    first, second = mixes
    return first, second


# The rendered demo version: the stems at unity, then what an engineer would do first.
RENDER_MOVES: dict[str, dict[str, Any]] = {
    "drums": {"gain_db": -1.0},
    "bass": {"gain_db": -2.0},
    "keys": {"gain_db": -4.0, "pan": -0.3, "send_db": -24.0},
    "lead-vocal": {"gain_db": -1.5, "pan": 0.1, "send_db": -16.0},
}
RENDER_MASTER_DB = -6.0


def seed_demo_render(*, project: Project, users: dict[str, Any]) -> Mix:
    """Four synthesised stems of 'Glass Harbour' (at its 88 BPM) and Mix 1 rendered
    from them through the render job, run here as a worker would run it (a worker that takes
    its message later skips it as a duplicate)."""
    song = Song.objects.get(project=project, title="Glass Harbour")
    leo = users["leo"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, samples in synth_stems(bpm=88.0, transpose=5, seconds=32.0).items():
            path = Path(tmp) / f"{name}.wav"
            write_wav(path, samples, RATE, bit_depth=24)
            asset = asset_ingest_file(
                actor=leo, project=project, path=path, original_name=f"Glass Harbour - {name}.wav"
            )
            stem_attach(actor=leo, song=song, asset=asset, instrument=name)
    draft = renders.draft_create(
        actor=leo, song=song, from_keepers=True, note="Rendered from the stems on the server."
    )
    spec = dict(draft.spec or {})
    for track in spec["tracks"]:
        moves = RENDER_MOVES.get(track["id"], {})
        track["gain_db"] = moves.get("gain_db", 0.0)
        track["pan"] = moves.get("pan", 0.0)
        if "send_db" in moves:
            track["sends"][0]["level_db"] = moves["send_db"]
    spec["master"]["gain_db"] = RENDER_MASTER_DB
    draft = renders.spec_replace(actor=leo, mix=draft, spec=spec)
    job = renders.render_start(actor=leo, mix=draft)
    runner.run_job(job.pk)
    draft.refresh_from_db()
    return draft


def seed_demo_master(*, project: Project, users: dict[str, Any], mix: Mix) -> Master:
    """A synthesised reference song (another tempo and key, mixed louder, as commercial masters
    are) attached to the mix's song, and Master 1 of the mix through the master job, run here
    as a worker would run it (a worker that takes its message later skips it)."""
    leo = users["leo"]
    song = mix.song
    reference = mixdown(
        synth_stems(bpm=96.0, transpose=2, seconds=32.0), {"lead vocal": -1.0, "keys": -2.0}
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.wav"
        write_wav(path, np.tanh(reference * 1.6).astype(np.float32), RATE, bit_depth=24)
        asset = asset_ingest_file(
            actor=leo, project=project, path=path, original_name="Reference - Harbour Lights.wav"
        )
    ref = masters.reference_add(
        actor=leo, song=song, asset=asset, title="Harbour Lights (reference)"
    )
    job = masters.master_request(
        actor=leo,
        mix=mix,
        settings={
            "preset": "spotify",
            "references": [ref.pk],
            "intensity": 70,
            "stages": {"compressor": {"threshold_db": -20, "ratio": 2}},
        },
    )
    runner.run_job(job.pk)
    return Master.objects.get(job_id=job.pk)
