"""Every write of the delivery app: releases, their tracks and order, ISRCs, artwork, the
`deliver` job's start, and moving the delivered songs on. One transaction each, under the
project lock, with its Event.

Rules, once:
- A UPC/EAN is 12 or 13 digits with a correct GS1 check digit and an ISRC matches ISO 3901
  (the engine's `audio.engine.deliver.codes`, normalised first); a bad one is a 400 naming the
  field. An ISRC belongs to a master (a recording) and is unique within the instance: a code
  another master holds is a 409.
- A track's master is one of its song's approved masters with audio; adding a song takes its
  newest approved master (or none: the release page lists that as missing).
- Pregaps, trims and fades are numbers in the engine's ranges (seconds).
- Artwork is a JPEG or PNG, square, 1400 to 6000 pixels a side (what distributors ask).
- A release is delivered unless the engine would refuse it (no master, the Red Book's limits);
  QC fails (no ISRC, no UPC, loud masters) do not stop it.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from audio.engine.deliver.codes import isrc_normalise, isrc_problem, upc_normalise, upc_problem
from audio.engine.deliver.outputs import image_size
from audio.engine.deliver.release import (
    FIRST_PREGAP_S,
    MAX_FADE_S,
    MAX_PREGAP_S,
    MAX_TEXT,
    MAX_TRIM_S,
)
from audio.models import AssetKind, Job, Master
from audio.services import jobs
from audio.services.assets import stored_file_create
from delivery.jobs import DELIVER_KIND
from delivery.models import Isrc, Release, ReleaseTrack
from delivery.payloads import isrc_payload, release_payload, track_payload
from delivery.selectors import release_missing, release_spec, release_tracks
from eventlog.services import event_record, project_lock
from studio.errors import Conflict, GateRefused, Invalid
from studio.models import Project, Song, Stage
from studio.roles import Capability
from studio.selectors import require_capability
from studio.services.songs import song_move_stage

ARTWORK_MIN_PX, ARTWORK_MAX_PX = 1400, 6000
ARTWORK_MAX_BYTES = 20 * 1024 * 1024
RELEASE_TEXT_FIELDS = ("title", "artist", "label", "p_line", "c_line")
NUMBER_FIELDS: dict[str, float] = {
    "pregap_s": MAX_PREGAP_S,
    "trim_start_s": MAX_TRIM_S,
    "trim_end_s": MAX_TRIM_S,
    "fade_in_s": MAX_FADE_S,
    "fade_out_s": MAX_FADE_S,
}


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# --- checks ------------------------------------------------------------------------------------


def _clean_text(fields: dict[str, Any], name: str, value: Any, *, required: bool) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if required and not text:
        fields.setdefault(name, []).append("this field is required")
    elif len(text) > MAX_TEXT:
        fields.setdefault(name, []).append(f"at most {MAX_TEXT} characters")
    return text


def clean_upc(value: Any) -> str:
    """'' for none, else the normalised code; Invalid naming `upc` for a bad one."""
    text = str(value or "").strip()
    if not text:
        return ""
    problem = upc_problem(text)
    if problem is not None:
        raise Invalid(problem, code="bad_upc", fields={"upc": [problem]})
    return upc_normalise(text)


def clean_isrc(value: Any) -> str:
    text = str(value or "").strip()
    problem = isrc_problem(text) if text else "an ISRC is required"
    if problem is not None:
        raise Invalid(problem, code="bad_isrc", fields={"isrc": [problem]})
    return isrc_normalise(text)


def _clean_release(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fields: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name in RELEASE_TEXT_FIELDS:
        if name in data or not partial:
            out[name] = _clean_text(
                fields, name, data.get(name), required=name in ("title", "artist")
            )
    if "upc" in data or not partial:
        try:
            out["upc"] = clean_upc(data.get("upc"))
        except Invalid as exc:
            fields.update(exc.fields)
    if "release_date" in data or not partial:
        value = data.get("release_date")
        if value in (None, ""):
            out["release_date"] = None
        elif isinstance(value, datetime.date):
            out["release_date"] = value
        else:
            try:
                out["release_date"] = datetime.date.fromisoformat(str(value))
            except ValueError:
                fields["release_date"] = ["a date as YYYY-MM-DD"]
    if fields:
        raise Invalid("the release has invalid fields", fields=fields)
    return out


def _number(fields: dict[str, list[str]], name: str, value: Any, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        fields[name] = ["must be a number of seconds"]
        return None
    if isinstance(value, bool) or not math.isfinite(number) or not 0 <= number <= high:
        fields[name] = [f"must be from 0 to {high:g} seconds"]
        return None
    return round(number, 3)


# --- releases ----------------------------------------------------------------------------------


def release_create(*, actor: Any, project: Project, data: dict[str, Any]) -> Release:
    """A new release (`release.created`); `data` holds title, artist (required), label, upc,
    p_line, c_line, release_date and optionally `songs` (ids, in order) to add as tracks."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.RELEASE_EDIT)
    cleaned = _clean_release(data, partial=False)
    songs = _songs_of(project, data.get("songs") or [])
    with transaction.atomic():
        project_lock(project.pk)
        release = Release.objects.create(project=project, created_by=_user(actor), **cleaned)
        event_record(
            project=project.pk,
            type="release.created",
            payload={"release": release_payload(release)},
            actor=actor,
        )
        for song in songs:
            _track_insert(release, song)
        if songs:
            _tracks_changed(release, actor)
    return release


def _songs_of(project: Project, ids: Any) -> list[Song]:
    if not isinstance(ids, list) or not all(isinstance(i, int | str) for i in ids):
        raise Invalid("songs must be a list of song ids", fields={"songs": ["a list of ids"]})
    try:
        wanted = [int(i) for i in ids]
    except ValueError:
        raise Invalid("songs must be song ids", fields={"songs": ["a list of ids"]}) from None
    by_id = {
        s.pk: s
        for s in Song.objects.filter(project=project, pk__in=wanted, deleted_at__isnull=True)
    }
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise Invalid(
            "a song is not in this project",
            fields={f"songs[{wanted.index(missing[0])}]": ["not a song of this project"]},
        )
    if len(set(wanted)) != len(wanted):
        raise Invalid("a song is listed twice", fields={"songs": ["each song once"]})
    return [by_id[i] for i in wanted]


def release_update(*, actor: Any, release: Release, data: dict[str, Any]) -> Release:
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_EDIT
    )
    cleaned = _clean_release(data, partial=True)
    with transaction.atomic():
        project_lock(release.project_id)
        Release.objects.filter(pk=release.pk).update(**cleaned)
        release.refresh_from_db()
        event_record(
            project=release.project_id,
            type="release.updated",
            payload={"release": release_payload(release)},
            actor=actor,
        )
    return release


def release_delete(*, actor: Any, release: Release) -> None:
    """Deletes the release, its tracks and its deliveries' rows (their stored files stay: an
    asset may be shared); the masters' ISRCs stay with the masters."""
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_EDIT
    )
    with transaction.atomic():
        project_lock(release.project_id)
        payload = release_payload(release)
        Release.objects.filter(pk=release.pk).delete()
        event_record(
            project=payload["project"],
            type="release.deleted",
            payload={"release": payload},
            actor=actor,
        )


def artwork_check(data: bytes) -> str:
    """The media type of acceptable artwork, or Invalid naming `artwork` with the reason."""

    def refuse(reason: str) -> Invalid:
        return Invalid(reason, code="bad_artwork", fields={"artwork": [reason]})

    if len(data) > ARTWORK_MAX_BYTES:
        raise refuse(f"the image is {len(data)} bytes, over {ARTWORK_MAX_BYTES}")
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        media_type = "image/png"
    elif data[:3] == b"\xff\xd8\xff":
        media_type = "image/jpeg"
    else:
        raise refuse("the cover must be a JPEG or PNG image")
    size = image_size(data)
    if size is None:
        raise refuse("the image's width and height cannot be read")
    width, height = size
    if width != height:
        raise refuse(f"the cover must be square; this one is {width} x {height} px")
    if width < ARTWORK_MIN_PX:
        raise refuse(f"{width} x {height} px is under the {ARTWORK_MIN_PX} px distributors ask")
    if width > ARTWORK_MAX_PX:
        raise refuse(f"{width} x {height} px is over the {ARTWORK_MAX_PX} px distributors take")
    return media_type


def release_artwork_set(*, actor: Any, release: Release, data: bytes, name: str) -> Release:
    """Check and store the front cover (an artwork asset, `asset.created` when new), then set
    it on the release (`release.updated`). The file is stored before the release's
    transaction (the stored-file service opens its own)."""
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_EDIT
    )
    media_type = artwork_check(data)
    asset, _created = stored_file_create(
        project=release.project,
        kind=AssetKind.ARTWORK,
        media_type=media_type,
        path_or_bytes=data,
        name=name or "cover",
        actor=actor,
    )
    with transaction.atomic():
        project_lock(release.project_id)
        Release.objects.filter(pk=release.pk).update(artwork=asset)
        release.refresh_from_db()
        event_record(
            project=release.project_id,
            type="release.updated",
            payload={"release": release_payload(release)},
            actor=actor,
        )
    return release


# --- tracks ------------------------------------------------------------------------------------


def _tracks_changed(release: Release, actor: Any) -> None:
    tracks = ReleaseTrack.objects.filter(release=release).order_by("position", "id")
    event_record(
        project=release.project_id,
        type="release.tracks_changed",
        payload={"release": release.pk, "tracks": [track_payload(t) for t in tracks]},
        actor=actor,
    )


def _renumber(release: Release, order: list[int]) -> None:
    """Positions 1..n in `order`. The Red Book wants 2 s before track 1: a track that becomes
    first gets at least that pregap, and the one that was first, when it kept the 2 s it was
    given for it, goes back to none between tracks (both are numbers on the page to change)."""
    was_first = (
        ReleaseTrack.objects.filter(release=release, position=1)
        .values_list("pk", flat=True)
        .first()
    )
    for position, pk in enumerate(order, start=1):
        ReleaseTrack.objects.filter(pk=pk).exclude(position=position).update(position=position)
    if not order or was_first == order[0]:
        return
    ReleaseTrack.objects.filter(pk=order[0], pregap_s__lt=FIRST_PREGAP_S).update(
        pregap_s=FIRST_PREGAP_S
    )
    if was_first is not None:
        ReleaseTrack.objects.filter(pk=was_first, pregap_s=FIRST_PREGAP_S).update(pregap_s=0.0)


def _track_insert(release: Release, song: Song) -> ReleaseTrack:
    if ReleaseTrack.objects.filter(release=release, song=song).exists():
        raise Conflict(
            f"'{song.title}' is on this release already",
            code="track_exists",
            fields={"song": ["already on the release"]},
        )
    master = (
        Master.objects.filter(song=song, is_approved=True, asset__isnull=False)
        .order_by("-number")
        .first()
    )
    top = ReleaseTrack.objects.filter(release=release).aggregate(m=Max("position"))["m"] or 0
    return ReleaseTrack.objects.create(
        release=release,
        position=top + 1,
        song=song,
        master=master,
        title=song.title,
        pregap_s=FIRST_PREGAP_S if top == 0 else 0.0,
    )


def track_add(
    *, actor: Any, release: Release, song: Song, position: int | None = None
) -> ReleaseTrack:
    """Add a song at the end (or at `position`), with its newest approved master."""
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_EDIT
    )
    if song.project_id != release.project_id:
        raise Invalid("the song is in another project", fields={"song": ["not found"]})
    with transaction.atomic():
        project_lock(release.project_id)
        try:
            with transaction.atomic():
                track = _track_insert(release, song)
        except IntegrityError:
            raise Conflict(
                f"'{song.title}' is on this release already", code="track_exists"
            ) from None
        if position is not None:
            _move(release, track, position)
        _tracks_changed(release, actor)
    track.refresh_from_db()
    return track


def _move(release: Release, track: ReleaseTrack, position: int) -> None:
    order = list(
        ReleaseTrack.objects.filter(release=release)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    if not 1 <= position <= len(order):
        raise Invalid(
            f"position must be from 1 to {len(order)}",
            fields={"position": [f"from 1 to {len(order)}"]},
        )
    order.remove(track.pk)
    order.insert(position - 1, track.pk)
    _renumber(release, order)


def track_move(*, actor: Any, track: ReleaseTrack, position: Any) -> ReleaseTrack:
    """Move a track to `position` (1-based); the others close up around it."""
    release = track.release
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_EDIT
    )
    if isinstance(position, bool) or not isinstance(position, int | str):
        raise Invalid("position must be a whole number", fields={"position": ["a number"]})
    try:
        where = int(position)
    except ValueError:
        raise Invalid(
            "position must be a whole number", fields={"position": ["a number"]}
        ) from None
    with transaction.atomic():
        project_lock(release.project_id)
        _move(release, track, where)
        _tracks_changed(release, actor)
    track.refresh_from_db()
    return track


def track_update(*, actor: Any, track: ReleaseTrack, data: dict[str, Any]) -> ReleaseTrack:
    """Title and artist as printed, pregap, trims and fades (seconds), the master (one of the
    song's approved masters) and the master's ISRC (`isrc`: sets it for every release)."""
    release = track.release
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_EDIT
    )
    fields: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if "title" in data:
        changes["title"] = _clean_text(fields, "title", data["title"], required=True)
    if "artist" in data:
        changes["artist"] = _clean_text(fields, "artist", data["artist"], required=False)
    for name, high in NUMBER_FIELDS.items():
        if name in data:
            value = _number(fields, name, data[name], high)
            if value is not None:
                changes[name] = value
    if "master" in data:
        raw = data["master"]
        master = None
        if raw not in (None, ""):
            try:
                master = Master.objects.filter(
                    song_id=track.song_id, pk=int(raw), is_approved=True, asset__isnull=False
                ).first()
            except (TypeError, ValueError):
                master = None
            if master is None:
                fields["master"] = ["choose an approved master of this song"]
        changes["master"] = master
    if fields:
        raise Invalid("the track has invalid fields", fields=fields)
    isrc = data.get("isrc")
    with transaction.atomic():
        project_lock(release.project_id)
        if changes:
            ReleaseTrack.objects.filter(pk=track.pk).update(**changes)
        track.refresh_from_db()
        if isrc not in (None, ""):
            if track.master is None:
                raise Conflict(
                    "choose the track's master before its ISRC (an ISRC names a recording)",
                    code="no_master",
                    fields={"isrc": ["the track has no master yet"]},
                )
            _isrc_set(actor, track.master, clean_isrc(isrc))
        _tracks_changed(release, actor)
    return track


def track_remove(*, actor: Any, track: ReleaseTrack) -> None:
    release = track.release
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_EDIT
    )
    with transaction.atomic():
        project_lock(release.project_id)
        ReleaseTrack.objects.filter(pk=track.pk).delete()
        order = list(
            ReleaseTrack.objects.filter(release=release)
            .order_by("position", "id")
            .values_list("pk", flat=True)
        )
        _renumber(release, order)
        _tracks_changed(release, actor)


# --- ISRCs -------------------------------------------------------------------------------------


def _isrc_set(actor: Any, master: Master, code: str) -> Isrc:
    """Inside the caller's transaction, under the project lock."""
    holder = Isrc.objects.filter(code=code).exclude(master=master).select_related("master").first()
    if holder is not None:
        raise Conflict(
            f"{code} is already the ISRC of another recording (an ISRC identifies one)",
            code="isrc_taken",
            fields={"isrc": ["already used by another master"]},
        )
    isrc, _ = Isrc.objects.update_or_create(
        master=master,
        defaults={"code": code, "project_id": master.project_id, "assigned_by": _user(actor)},
    )
    event_record(
        project=master.project_id,
        type="isrc.assigned",
        payload={"isrc": isrc_payload(isrc, song=master.song_id)},
        actor=actor,
    )
    return isrc


def isrc_set(*, actor: Any, master: Master, code: Any) -> Isrc:
    """Give a master its ISRC (kept for every release it is on); 409 when another holds it."""
    require_capability(user=actor, project_id=master.project_id, capability=Capability.RELEASE_EDIT)
    cleaned = clean_isrc(code)
    with transaction.atomic():
        project_lock(master.project_id)
        return _isrc_set(actor, master, cleaned)


# --- delivering --------------------------------------------------------------------------------


def release_deliver(*, actor: Any, release: Release) -> Job:
    """Queue the `deliver` job of the release as it is now (202): the release spec, built here,
    is the job's parameter, so the job delivers exactly what was asked. 409 listing the
    blocking pieces when the engine would refuse the release."""
    require_capability(
        user=actor, project_id=release.project_id, capability=Capability.RELEASE_DELIVER
    )
    with transaction.atomic():
        project_lock(release.project_id)
        release = Release.objects.select_related("artwork", "project").get(pk=release.pk)
        tracks = release_tracks(release)
        blocking = [p for p in release_missing(release, tracks) if p.blocking]
        if blocking:
            raise Conflict(
                blocking[0].message,
                code="release_not_deliverable",
                fields={"missing": [p.message for p in blocking]},
            )
        spec = release_spec(release, tracks)
        used = [
            {
                "position": t.position,
                "track": t.pk,
                "song": t.song_id,
                "master": t.master_id,
                "isrc": spec["tracks"][i]["isrc"],
            }
            for i, t in enumerate(tracks)
        ]
        return jobs.job_create(
            actor=actor,
            project=release.project_id,
            kind=DELIVER_KIND,
            params={"release_id": release.pk, "spec": spec, "tracks": {"used": used}},
        )


def release_songs_deliver(*, actor: Any, release: Release, reason: str = "") -> dict[str, Any]:
    """Move every song of the release that is not delivered yet to "delivered", each through
    its own stage gate (studio.services.songs.song_move_stage): {"moved": [song ids],
    "refused": [{"song", "title", "reasons"}], "already": [song ids]}. A song the gate refuses
    stays where it is, with its reasons; the others move."""
    require_capability(user=actor, project_id=release.project_id, capability=Capability.SONG_MOVE)
    out: dict[str, Any] = {"moved": [], "refused": [], "already": []}
    for track in release_tracks(release):
        song = track.song
        if song.stage == Stage.DELIVERED:
            out["already"].append(song.pk)
            continue
        try:
            song_move_stage(actor=actor, song=song, to=Stage.DELIVERED, reason=reason)
        except GateRefused as exc:
            out["refused"].append({"song": song.pk, "title": song.title, "reasons": exc.reasons})
        else:
            out["moved"].append(song.pk)
    return out
