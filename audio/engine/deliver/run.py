"""Deliver a release: check it all, then make every file track by track, then rename into place.

Order, so that a refusal costs nothing and leaves nothing:
1. Every source is probed (headers only) and the artwork read; the release is held to the Red
   Book at the sources' lengths after resampling (``Release.check_lengths``) and laid out on CD
   frames (``layout.plan``). Any problem is one ``ReleaseInvalid`` before a file is written.
2. Everything is written into a staging folder beside OUTDIR (``.OUTDIR.<random>.part``), which
   is renamed to OUTDIR at the end and removed on any failure.
3. Track by track: the source is decoded, resampled, trimmed, faded and dithered to 16 bit
   once (``tracks.track_blocks`` into the renderer's ``WavWriter``), giving the track's WAV.
   One pass over that WAV's int16 samples then feeds the album WAV, the DDP image, the FLAC and
   the MP3 encoders and the meters (the MP3 encoder on a thread of its own: LAME releases the
   GIL); the MP3 is decoded once more for its QC figures. Memory is a
   few blocks: no track, let alone the album, is ever held whole.
4. The QC report, then the manifest (every file's size and SHA-256).

Same release, same sources, same engine: same bytes (the dither is seeded from the release's
canonical JSON and the track's number; no file carries a time).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio.engine.analysis import Analyzer
from audio.engine.deliver.layout import Layout, TrackPlace, plan
from audio.engine.deliver.outputs import (
    AlbumWav,
    Artwork,
    DdpImage,
    FlacTrack,
    Mp3Track,
    Tags,
    cue_sheet,
    file_stem,
    image_size,
    pcm_bytes,
    sha256_of,
)
from audio.engine.deliver.qc import AlbumFigures, Mp3Figures, TrackFigures, report, report_html
from audio.engine.deliver.redbook import CD_CHANNELS, CD_RATE, FRAME_SAMPLES
from audio.engine.deliver.release import ARTWORK_TYPES, Release, ReleaseInvalid
from audio.engine.deliver.tracks import track_blocks
from audio.engine.errors import AudioError, Unreadable
from audio.engine.io import BLOCK_FRAMES, DEFAULT_LIMITS, Limits, probe, read_blocks
from audio.engine.mastering.master import _measure_decoded, lossy_check
from audio.engine.render.clips import resampled_frames
from audio.engine.render.wav import WavWriter
from audio.engine.types import AudioInfo, ProgressFn

MAX_ARTWORK_BYTES = 20 * 1024 * 1024
PROGRESS_EVERY_S = 0.1
MANIFEST = "manifest.json"


class _Background:
    """The MP3 encoder of one track on a thread of its own: LAME (in pedalboard) releases the
    GIL, so it encodes while the main thread meters and writes the other files. The queue is
    bounded, so at most a few blocks wait in memory; the first error is raised in ``join``."""

    def __init__(self, encoder: Mp3Track, finish: Callable[[], Mp3Figures]) -> None:
        self.encoder = encoder
        self.finish = finish
        self.result: Mp3Figures | None = None
        self.queue: queue.Queue[npt.NDArray[np.int16] | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="deliver-mp3", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.encoder.write(block)
                except BaseException as exc:  # handed to the main thread in join
                    self.error = exc
        if self.error is None:
            try:
                self.result = self.finish()  # tag, decode and measure: overlaps the next track
            except BaseException as exc:
                self.error = exc

    def write(self, block: npt.NDArray[np.int16]) -> None:
        self.queue.put(block)

    def end(self) -> None:
        """No more blocks: the thread goes on to tag and measure the MP3."""
        self.queue.put(None)

    def join(self) -> Mp3Figures:
        self.thread.join()
        if self.error is not None:
            self.encoder.abort()
            raise self.error
        if self.result is None:
            raise AudioError("the MP3 encoder ended without a result")
        return self.result


class _Progress:
    def __init__(self, fn: ProgressFn | None, total: int) -> None:
        self.fn = fn
        self.total = max(1, total)
        self.done = 0
        self.last = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.fn is not None and now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            self.fn(min(0.99, self.done / self.total))


def _artwork(base: Path, name: str | None) -> Artwork | None:
    if name is None:
        return None
    path = base / name
    try:
        size = path.stat().st_size
        if size > MAX_ARTWORK_BYTES:
            raise ReleaseInvalid([f"artwork: {name} is {size} bytes, over {MAX_ARTWORK_BYTES}"])
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseInvalid([f"artwork: {name}: file not found"]) from None
    except IsADirectoryError:
        raise ReleaseInvalid([f"artwork: {name}: is a folder, not an image"]) from None
    except OSError as exc:
        raise ReleaseInvalid([f"artwork: {name}: cannot read ({exc.strerror})"]) from None
    mime = ARTWORK_TYPES[path.suffix.lower()]
    is_png = data[:8] == b"\x89PNG\r\n\x1a\n"
    is_jpeg = data[:3] == b"\xff\xd8\xff"
    if (mime == "image/png" and not is_png) or (mime == "image/jpeg" and not is_jpeg):
        raise ReleaseInvalid([f"artwork: {name} is not a {mime.split('/')[1].upper()} image"])
    dims = image_size(data)
    if dims is None:
        raise ReleaseInvalid([f"artwork: {name}: its width and height cannot be read"])
    return Artwork(data, mime, *dims)


def _sources(
    release: Release, base: Path, limits: Limits
) -> tuple[dict[int, Path], dict[int, AudioInfo], dict[int, int], dict[int, str]]:
    paths: dict[int, Path] = {}
    infos: dict[int, AudioInfo] = {}
    lengths: dict[int, int] = {}
    errors: dict[int, str] = {}
    for i, track in enumerate(release.tracks):
        path = base / track.source
        paths[i] = path
        try:
            info = probe(path, limits)
        except AudioError as exc:
            errors[i] = f"{track.source}: {exc}"
            continue
        if info.channels > 2:
            errors[i] = f"{track.source}: {info.channels} channels; a master is mono or stereo"
            continue
        infos[i] = info
        lengths[i] = resampled_frames(info.frames, info.sample_rate, CD_RATE)
    return paths, infos, lengths, errors


def _check_outdir(outdir: Path) -> None:
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise Unreadable(f"{outdir}: already exists; give a new folder (or an empty one)")
    if not outdir.parent.is_dir():
        raise Unreadable(f"{outdir.parent}: no such folder")


def deliver(
    release: Release,
    base: Path,
    outdir: Path,
    *,
    on_progress: ProgressFn | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Make the release's files in ``outdir`` (which must not exist, or be empty); source and
    artwork paths are relative to ``base``. Returns the summary (the CLI's report). Raises
    ``AudioError`` (``ReleaseInvalid`` for the release) with nothing written."""
    started = time.perf_counter()
    paths, infos, lengths, errors = _sources(release, base, limits)
    try:
        art = _artwork(base, release.artwork)
        art_problem: list[str] = []
    except ReleaseInvalid as exc:
        art, art_problem = None, exc.problems
    try:
        release.check_lengths(lengths, errors)
    except ReleaseInvalid as exc:
        raise ReleaseInvalid(art_problem + exc.problems) from None
    if art_problem:
        raise ReleaseInvalid(art_problem)
    layout = plan(release, lengths)
    _check_outdir(outdir)
    staging = outdir.parent / f".{outdir.name}.{secrets.token_hex(8)}.part"
    try:
        staging.mkdir()
    except OSError as exc:
        raise Unreadable(f"{outdir.parent}: cannot write there ({exc.strerror})") from None
    try:
        summary = _Delivery(release, layout, paths, infos, art, staging, limits).run(on_progress)
        if outdir.exists():
            outdir.rmdir()
        staging.rename(outdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary["deliver_s"] = round(time.perf_counter() - started, 3)
    if on_progress is not None:
        on_progress(1.0)
    return summary


class _Delivery:
    def __init__(
        self,
        release: Release,
        layout: Layout,
        paths: dict[int, Path],
        infos: dict[int, AudioInfo],
        art: Artwork | None,
        staging: Path,
        limits: Limits,
    ) -> None:
        self.release = release
        self.layout = layout
        self.paths = paths
        self.infos = infos
        self.art = art
        self.dir = staging
        self.limits = limits
        self.formats = set(release.formats)
        self.seed = hashlib.sha256(release.to_json().encode()).digest()
        self.album: AlbumWav | None = None
        self.ddp: DdpImage | None = None

    def run(self, on_progress: ProgressFn | None) -> dict[str, Any]:
        work = self.dir / ".work"
        work.mkdir()
        for folder in ("wav", "flac", "mp3"):
            if folder in self.formats:
                (self.dir / folder).mkdir()
        if "cue" in self.formats:
            self.album = AlbumWav(self.dir / "album.wav")
            (self.dir / "album.cue").write_text(
                cue_sheet(self.release, self.layout), encoding="utf-8", newline=""
            )
        if "ddp" in self.formats:
            self.ddp = DdpImage(self.dir / "ddp")
        progress = _Progress(on_progress, 2 * self.layout.samples)
        figures: list[TrackFigures] = []
        pending: tuple[int, _Background] | None = None
        try:
            for i, place in enumerate(self.layout.tracks):
                fig, background = self._track(i, place, work, progress)
                figures.append(fig)
                if pending is not None:  # the last track's MP3 is measured by now, mostly
                    at, previous = pending
                    pending = None
                    figures[at] = dataclasses.replace(figures[at], mp3=previous.join())
                if background is not None:
                    pending = (i, background)
            if pending is not None:
                at, previous = pending
                pending = None
                figures[at] = dataclasses.replace(figures[at], mp3=previous.join())
            if self.album is not None:
                self.album.close()
            if self.ddp is not None:
                self.ddp.finish(self.release, self.layout)
        finally:
            if pending is not None:  # an error elsewhere: let the thread end before cleaning up
                with contextlib.suppress(BaseException):
                    pending[1].join()
            if self.album is not None:
                self.album.close()
            if self.ddp is not None:
                self.ddp.abort()
        shutil.rmtree(work)
        album = self._album_figures(figures)
        rep = report(album)
        if "qc" in self.formats:
            (self.dir / "qc.json").write_text(json.dumps(rep, indent=2, allow_nan=False) + "\n")
            (self.dir / "qc.html").write_text(report_html(rep, self.release.title))
        files = self._manifest()
        return {
            "title": self.release.title,
            "artist": self.release.artist,
            "duration_s": round(self.layout.samples / CD_RATE, 3),
            "samples": self.layout.samples,
            "tracks": [
                {
                    "number": p.number,
                    "title": t.title,
                    "isrc": t.isrc,
                    "index01_samples": p.index01,
                    "samples": p.samples,
                    "integrated_lufs": f.integrated_lufs,
                    "true_peak_dbtp": f.true_peak_dbtp,
                }
                for t, p, f in zip(self.release.tracks, self.layout.tracks, figures, strict=True)
            ],
            "qc": {"status": rep["status"], "headline": rep["headline"], "counts": rep["counts"]},
            "files": files,
        }

    # -- one track -----------------------------------------------------------------------------

    def _seed(self, i: int) -> int:
        return int.from_bytes(hashlib.sha256(self.seed + i.to_bytes(4, "little")).digest()[:8])

    def _silence(self, samples: int) -> None:
        zeros = np.zeros((min(samples, BLOCK_FRAMES), CD_CHANNELS), dtype=np.int16)
        left = samples
        while left:
            n = min(left, BLOCK_FRAMES)
            if self.album is not None:
                self.album.write(zeros[:n])
            if self.ddp is not None:
                self.ddp.write(pcm_bytes(zeros[:n]))
            left -= n

    def _track(
        self, i: int, place: TrackPlace, work: Path, progress: _Progress
    ) -> tuple[TrackFigures, _Background | None]:
        """The track's files and figures; its MP3 (if any) is still being tagged and measured
        by the returned thread, whose ``join`` gives the MP3's figures."""
        track = self.release.tracks[i]
        stem = file_stem(place.number, track.title)
        wav = self.dir / "wav" / f"{stem}.wav" if "wav" in self.formats else work / "t.wav"
        with WavWriter(wav, CD_RATE, CD_CHANNELS, "16", self._seed(i)) as writer:
            for first, block in track_blocks(self.paths[i], self.infos[i], place, self.limits):
                writer.write(block, first)
                progress.add(block.shape[1])
            writer.close()
        if writer.frames != place.samples:  # the plan is the contract of every other file
            raise AudioError(f"track {place.number}: {writer.frames} samples, not {place.samples}")
        self._silence(place.pregap)
        tags = Tags(
            title=track.title,
            artist=track.artist,
            album=self.release.title,
            album_artist=self.release.artist,
            number=place.number,
            total=len(self.release.tracks),
            isrc=track.isrc,
            barcode=self.release.upc,
            label=self.release.label,
            copyright=self.release.c_line,
            p_line=self.release.p_line,
        )
        flac_path = self.dir / "flac" / f"{stem}.flac"
        mp3_path = self.dir / "mp3" / f"{stem}.mp3"
        flac = FlacTrack(flac_path) if "flac" in self.formats else None
        mp3 = Mp3Track(mp3_path, self.release.mp3_bitrate) if "mp3" in self.formats else None
        background = None
        if mp3 is not None:
            encoder = mp3

            def finish() -> Mp3Figures:
                encoder.close(tags, self.art)
                return self._measure_mp3(mp3_path)

            background = _Background(encoder, finish)
        analyzer = Analyzer(CD_RATE, CD_CHANNELS, with_peaks=False)

        def blocks() -> Iterator[npt.NDArray[np.float32]]:
            with sf.SoundFile(wav) as snd:
                while True:
                    ints = snd.read(BLOCK_FRAMES, dtype="int16")
                    if not len(ints):
                        return
                    if self.album is not None:
                        self.album.write(ints)
                    if self.ddp is not None:
                        self.ddp.write(pcm_bytes(ints))
                    if flac is not None:
                        flac.write(ints)
                    if background is not None:
                        background.write(ints)
                    x = np.ascontiguousarray(ints.T, dtype=np.float32) / np.float32(32768)
                    analyzer.feed(x)
                    progress.add(x.shape[1])
                    yield x

        try:
            try:
                clips = _measure_decoded(blocks(), CD_CHANNELS)
            finally:
                if background is not None:
                    background.end()
            if flac is not None:
                flac.close(tags, self.art)
        except BaseException:
            if background is not None:
                with contextlib.suppress(BaseException):
                    background.join()
            for each in (flac, mp3):
                if each is not None:
                    each.abort()
            raise
        a = analyzer.finish()
        mp3_figures = self._lossy_figures(wav) if mp3 is None else None
        figures = TrackFigures(
            number=place.number,
            title=track.title,
            isrc=track.isrc,
            samples=place.samples,
            sample_peak_dbfs=a.sample_peak_dbfs,
            true_peak_dbtp=a.true_peak_accurate_dbtp,
            integrated_lufs=a.integrated_lufs,
            loudness_range_lu=a.loudness_range_lu,
            clipped_samples=max(a.clipped_samples, writer.clipped),
            intersample_clipped=int(clips["intersample_clipped"]),
            dc_offset=tuple(a.dc_offset),
            head_silence_s=a.head_silence_s,
            tail_silence_s=a.tail_silence_s,
            flac_frames=sf.info(os.fspath(flac_path)).frames if flac is not None else None,
            mp3=mp3_figures,
        )
        return figures, background

    def _lossy_figures(self, wav: Path) -> Mp3Figures | None:
        """Without a delivered MP3, a 320 kbit/s encode of the track made only to be measured,
        when a QC report is asked for."""
        if "qc" not in self.formats:
            return None
        m = lossy_check(wav, CD_RATE, CD_CHANNELS)
        return Mp3Figures(
            frames=-1,
            sample_peak_dbfs=m["sample_peak_dbfs"],
            true_peak_dbtp=m["true_peak_dbtp"],
            clipped_samples=int(m["clipped_samples"]),
            intersample_clipped=int(m["intersample_clipped"]),
        )

    def _measure_mp3(self, path: Path) -> Mp3Figures:
        """The delivered MP3 decoded (libsndfile: the exact length) and measured."""
        count = [0]

        def counted() -> Iterator[npt.NDArray[np.float32]]:
            for block in read_blocks(path, BLOCK_FRAMES, self.limits):
                count[0] += block.shape[1]
                yield block

        m = _measure_decoded(counted(), CD_CHANNELS)
        return Mp3Figures(
            frames=count[0],
            sample_peak_dbfs=m["sample_peak_dbfs"],
            true_peak_dbtp=m["true_peak_dbtp"],
            clipped_samples=int(m["clipped_samples"]),
            intersample_clipped=int(m["intersample_clipped"]),
        )

    # -- the album -----------------------------------------------------------------------------

    def _album_figures(self, figures: list[TrackFigures]) -> AlbumFigures:
        isrcs = [t.isrc for t in self.release.tracks if t.isrc]
        return AlbumFigures(
            tracks=figures,
            programme_frames=self.layout.samples // FRAME_SAMPLES,
            first_pregap_frames=self.layout.tracks[0].pregap // FRAME_SAMPLES,
            upc=self.release.upc,
            isrcs_unique=len(isrcs) == len(set(isrcs)),
            extra={
                "title": self.release.title,
                "upc": self.release.upc,
                "duration_s": round(self.layout.samples / CD_RATE, 3),
                "layout": [
                    {
                        "number": p.number,
                        "index00_samples": p.index00,
                        "index01_samples": p.index01,
                        "samples": p.samples,
                    }
                    for p in self.layout.tracks
                ],
            },
        )

    def _manifest(self) -> list[dict[str, Any]]:
        files = []
        for path in sorted(p for p in self.dir.rglob("*") if p.is_file()):
            rel = path.relative_to(self.dir).as_posix()
            files.append({"path": rel, "bytes": path.stat().st_size, "sha256": sha256_of(path)})
        manifest = {"version": 1, "release": self.release.title, "files": files}
        (self.dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return files
