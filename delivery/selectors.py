"""Reads of releases scoped to the user, the release spec the engine takes, and the pieces a
release still misses before it can be delivered.

`release_spec` builds the engine's release (audio.engine.deliver.release, version 1) from the
database: each track's source is its master's audio asset (`asset:<id>`, resolved by the
deliver job to the stored file), its ISRC the master's. `release_missing` holds that spec to
the engine's own checks (`Release.from_dict`, then `check_lengths` at the masters' lengths after
resampling to 44.1 kHz, from the assets' frames: no audio is read) and adds what the QC report
would fail (no ISRC, no UPC) and what the CD cannot do without (an approved master). Each piece
says where it is fixed (the track and field), and whether it blocks the deliver job: only what
the engine refuses blocks; a QC fail is delivered, with the report saying so at the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from audio.engine.deliver.redbook import (
    CD_RATE,
    FRAME_SAMPLES,
    MAX_PROGRAMME_FRAMES,
    frames_of_seconds,
)
from audio.engine.deliver.release import Release as EngineRelease
from audio.engine.deliver.release import ReleaseInvalid
from audio.engine.render.clips import resampled_frames
from audio.models import Asset, Job, JobState, Master
from delivery.models import Delivery, Isrc, Release, ReleaseTrack
from studio.errors import NotFound
from studio.roles import Capability
from studio.selectors import require_capability

CD_LIMIT_S = MAX_PROGRAMME_FRAMES / 75  # 79:57


def release_get_for_member(
    *, user: Any, release_id: Any, capability: str = Capability.VIEW
) -> Release:
    try:
        release = (
            Release.objects.visible_to(user)
            .select_related("project", "artwork")
            .get(pk=int(release_id))
        )
    except (Release.DoesNotExist, ValueError, TypeError):
        raise NotFound("release not found") from None
    require_capability(user=user, project_id=release.project_id, capability=capability)
    return release


def release_tracks(release: Release) -> list[ReleaseTrack]:
    """The tracks in order with their songs, masters and the masters' audio. A deleted song's
    track is left out (it keeps its row and place, and comes back if the song is restored)."""
    return list(
        ReleaseTrack.objects.filter(release=release, song__deleted_at__isnull=True)
        .select_related("song", "master__asset", "master__mix")
        .order_by("position", "id")
    )


def isrcs_for(masters: Sequence[int]) -> dict[int, str]:
    """Master id -> its ISRC, for the masters that have one."""
    return dict(Isrc.objects.filter(master_id__in=masters).values_list("master_id", "code"))


def approved_masters(song_id: int) -> list[Master]:
    """The song's approved masters with audio, newest first."""
    return list(
        Master.objects.filter(song_id=song_id, is_approved=True, asset__isnull=False)
        .select_related("asset")
        .order_by("-number")
    )


def _artwork_name(asset: Asset | None) -> str | None:
    if asset is None:
        return None
    ext = "png" if asset.media_type == "image/png" else "jpg"
    return f"asset:{asset.pk}.{ext}"


def release_spec(release: Release, tracks: Sequence[ReleaseTrack]) -> dict[str, Any]:
    """The engine's release JSON (before its checks): sources `asset:<id>.wav` name the
    masters' audio assets, the artwork `asset:<id>.jpg|png` the cover."""
    codes = isrcs_for([t.master_id for t in tracks if t.master_id])
    return {
        "version": 1,
        "title": release.title,
        "artist": release.artist,
        "upc": release.upc or None,
        "label": release.label,
        "p_line": release.p_line,
        "c_line": release.c_line,
        "artwork": _artwork_name(release.artwork),
        "formats": ["wav", "cue", "ddp", "flac", "mp3", "qc"],
        "mp3_bitrate": 320,
        "tracks": [
            {
                "source": f"asset:{t.master.asset_id}.wav" if t.master else "",
                "title": t.title,
                "artist": t.artist or release.artist,
                "isrc": codes.get(t.master_id) if t.master_id else None,
                "pregap_s": t.pregap_s,
                "trim_start_s": t.trim_start_s,
                "trim_end_s": t.trim_end_s,
                "fade_in_s": t.fade_in_s,
                "fade_out_s": t.fade_out_s,
                "watermark_id": None,
            }
            for t in tracks
        ],
    }


@dataclass(frozen=True)
class Piece:
    """Something a release misses: what, where it is fixed, and whether it blocks delivery."""

    code: str
    message: str
    field: str  # the form field that fixes it ("upc", "isrc", "master", "pregap_s", ...)
    track: int | None = None  # the ReleaseTrack's id
    position: int | None = None
    blocking: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _track_field(path: str) -> tuple[int | None, str]:
    """'tracks[2].pregap_s' -> (2, 'pregap_s'); 'upc' -> (None, 'upc')."""
    if path.startswith("tracks["):
        index, _, rest = path[len("tracks[") :].partition("]")
        if index.isdigit():
            return int(index), rest.lstrip(".") or "track"
    return None, path


def release_missing(release: Release, tracks: Sequence[ReleaseTrack] | None = None) -> list[Piece]:
    """Every missing piece, blocking ones first, in track order."""
    tracks = release_tracks(release) if tracks is None else list(tracks)
    pieces: list[Piece] = []
    if not tracks:
        pieces.append(Piece("no_tracks", "Add at least one song", "song", blocking=True))
        return pieces
    codes = isrcs_for([t.master_id for t in tracks if t.master_id])
    for t in tracks:
        if t.master is None or t.master.asset is None:
            pieces.append(
                Piece(
                    "no_master",
                    f"{t.position}. {t.title}: no approved master (approve one on the song's "
                    "Master tab, then choose it here)",
                    "master",
                    t.pk,
                    t.position,
                    blocking=True,
                )
            )
        elif not t.master.is_approved:
            pieces.append(
                Piece(
                    "master_unapproved",
                    f"{t.position}. {t.title}: {t.master} is no longer approved (approve it "
                    "again, or choose an approved master here)",
                    "master",
                    t.pk,
                    t.position,
                    blocking=True,
                )
            )
        elif t.master_id not in codes:
            pieces.append(
                Piece(
                    "no_isrc",
                    f"{t.position}. {t.title}: no ISRC for {t.master} (a distributor refuses "
                    "a track without one)",
                    "isrc",
                    t.pk,
                    t.position,
                )
            )
    if not release.upc:
        pieces.append(Piece("no_upc", "No UPC/EAN (a distributor refuses the release)", "upc"))
    if release.artwork_id is None:
        pieces.append(Piece("no_artwork", "No front cover (JPEG or PNG, square)", "artwork"))
    if any(p.code in ("no_master", "master_unapproved") for p in pieces):
        return _ordered(pieces)
    spec = release_spec(release, tracks)
    try:
        engine = EngineRelease.from_dict(spec)
        lengths = {i: cd_samples(t.master.asset) for i, t in enumerate(tracks) if t.master}
        engine.check_lengths(lengths)
    except ReleaseInvalid as exc:
        for problem in exc.problems:
            path, _, sentence = problem.partition(": ")
            index, field = _track_field(path)
            track = tracks[index] if index is not None and index < len(tracks) else None
            where = f"{track.position}. {track.title}: " if track else ""
            pieces.append(
                Piece(
                    "engine",
                    f"{where}{sentence}",
                    field,
                    track.pk if track else None,
                    track.position if track else None,
                    blocking=True,
                )
            )
    return _ordered(pieces)


def _ordered(pieces: list[Piece]) -> list[Piece]:
    return sorted(pieces, key=lambda p: (not p.blocking, p.position or 0))


def cd_samples(asset: Asset | None) -> int:
    """The asset's length in samples after resampling to 44.1 kHz (0 without audio facts)."""
    if asset is None or not asset.frames or not asset.sample_rate:
        return 0
    return resampled_frames(asset.frames, asset.sample_rate, CD_RATE)


def running_time(release: Release, tracks: Sequence[ReleaseTrack]) -> dict[str, Any]:
    """Each track's start and length on the disc (seconds, on CD frames, as the engine lays
    them out) and the total against the CD's 79:57."""
    rows = []
    at = 0
    for i, t in enumerate(tracks):
        have = cd_samples(t.master.asset if t.master else None)
        kept = max(0, have - round(t.trim_start_s * CD_RATE) - round(t.trim_end_s * CD_RATE))
        pregap = frames_of_seconds(max(t.pregap_s, 2.0 if i == 0 else 0.0))
        frames = -(-kept // FRAME_SAMPLES)
        at += pregap
        rows.append({"track": t.pk, "start_s": at / 75, "length_s": frames / 75})
        at += frames
    return {
        "tracks": rows,
        "total_s": at / 75,
        "limit_s": CD_LIMIT_S,
        "over": at > MAX_PROGRAMME_FRAMES,
    }


def deliveries_for(release: Release) -> list[Delivery]:
    return list(Delivery.objects.filter(release=release).select_related("job", "bundle"))


def delivering_job(release: Release) -> int | None:
    """The id of the release's `deliver` job that is queued or running, if any."""
    return (
        Job.objects.filter(
            project_id=release.project_id,
            kind="deliver",
            params__release_id=release.pk,
            state__in=[JobState.QUEUED, JobState.RUNNING],
        )
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
