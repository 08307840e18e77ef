"""Rendered mix versions: drafts (a mix spec the team edits), their checks, the render job's
start and its result, and short previews.

A draft is a Mix with `state` draft, `source` render, a number of its own ("Mix 3 (draft)", kept
when rendered) and no audio; a song has at most one. Its spec refers to sources as `stem:<id>`,
`take:<id>` or `mix:<id>`, only of the draft's own song (a mix only once it has audio, and never
itself). Every spec is checked twice before it is stored: by the engine's `MixSpec` (structure,
ranges, limits, routing) and against the stored sources' lengths (from their probed frames,
resampled to the spec's rate), and every problem is answered as a 400 whose `fields` are keyed
by JSON path relative to the spec (`tracks[0].clips[1].source`); nothing is stored then.

While its render job is queued or running a draft is "rendering" (not a stored state): its spec
cannot change and no second render starts. The job (audio.jobs.render) gives it its audio in
`job_finish`'s transaction; a cancelled or failed render leaves it a draft. A rendered version's
spec never changes (409): to change it, start a new draft from it (`parent`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from audio import storage
from audio.engine.errors import AudioError
from audio.engine.io import Limits
from audio.engine.render import MixSpec, RangeInvalid, SpecInvalid, render, resampled_frames
from audio.models import (
    JOB_OVER,
    Asset,
    AssetKind,
    Job,
    JobKind,
    Mix,
    MixSource,
    MixState,
    Stem,
    Take,
)
from audio.payloads import mix_payload
from audio.services import jobs
from audio.services.assets import engine_limits_kwargs
from eventlog.services import event_record, project_lock
from studio.errors import Conflict, Invalid
from studio.models import Song
from studio.roles import Capability
from studio.selectors import require_capability

SOURCE_KINDS = ("stem", "take", "mix")
_SOURCE = re.compile(r"^(stem|take|mix):([1-9][0-9]{0,17})$")
DEFAULT_SAMPLE_RATE = 48000
REVERB_BUS = "verb"
# A new draft's sends to the reverb bus are "off": -144 dB is the spec's floor (shown as -inf in
# the mixer), so the render is the plain unity sum until someone raises a send.
SEND_OFF_DB = -144.0
PREVIEW_MAX_S = 30.0
PREVIEW_BUDGET_S = 20.0  # of work in the request (settings.RENDER_PREVIEW_BUDGET_S overrides)
SPEC_MAX_BYTES = 2 * 1024 * 1024
BIT_DEPTHS = ("32f", "24", "16")
# The analysis report and the peaks index are JSON; checking sources never reads them.
HEAVY_ASSET_FIELDS = ("asset__peaks_index", "asset__analysis")


class PreviewTooSlow(Conflict):
    """A preview is rendered inside the request, so it has a time budget (the web tier is not
    a render farm): stretched or pitched clips are prepared whole, which can take longer."""

    code = "preview_too_slow"


class SpecRevisionMismatch(Conflict):
    """The draft was saved by someone else since the revision the client had (If-Match)."""

    status = 412
    code = "spec_revision"


def if_match_revision(header: str) -> int | None:
    """The revision of an `If-Match: "r<n>"` header; None without one (last write wins)."""
    value = header.strip()
    if not value or value == "*":
        return None
    match = re.fullmatch(r'(?:W/)?"r([0-9]{1,9})"', value)
    if match is None:
        raise Invalid(
            'If-Match must be the spec\'s ETag, "r<revision>"',
            fields={"If-Match": ['"r<revision>" as sent in the ETag']},
        )
    return int(match.group(1))


# --- checking a spec --------------------------------------------------------------------------


def _invalid(exc: SpecInvalid) -> Invalid:
    return Invalid(str(exc), code="spec_invalid", fields=exc.fields)


def spec_parse(raw: bytes | str) -> Any:
    """The JSON document of a spec sent as text (a request body), or Invalid naming `spec`."""
    if len(raw) > SPEC_MAX_BYTES:
        raise Invalid(
            f"the spec is over {SPEC_MAX_BYTES // 1024 // 1024} MiB",
            code="spec_invalid",
            fields={"spec": [f"at most {SPEC_MAX_BYTES} bytes of JSON"]},
        )
    try:
        return json.loads(MixSpec.from_json(raw).to_json())
    except SpecInvalid as exc:
        raise _invalid(exc) from None


def _source_assets(song: Song, spec: MixSpec, *, own: int | None) -> tuple[dict[str, Asset], dict]:
    """Each source name of the spec -> its asset (audio of `song`), and name -> why not."""
    wanted: dict[str, list[int]] = {kind: [] for kind in SOURCE_KINDS}
    errors: dict[str, str] = {}
    parsed: dict[str, tuple[str, int]] = {}
    for name in spec.source_names():
        match = _SOURCE.match(name)
        if match is None:
            errors[name] = (
                f"{name[:80]!r} is not a source of this song: use stem:<id>, take:<id> or mix:<id>"
            )
            continue
        kind, pk = match.group(1), int(match.group(2))
        parsed[name] = (kind, pk)
        wanted[kind].append(pk)
    found: dict[tuple[str, int], Any] = {}
    for kind, model in (("stem", Stem), ("take", Take), ("mix", Mix)):
        if wanted[kind]:
            rows = (
                model.objects.filter(song=song, pk__in=wanted[kind])
                .select_related("asset")
                .defer(*HEAVY_ASSET_FIELDS)
            )
            found.update({(kind, row.pk): row for row in rows})
    assets: dict[str, Asset] = {}
    for name, (kind, pk) in parsed.items():
        row = found.get((kind, pk))
        if row is None:
            errors[name] = f"{name} is not a {kind} of this song"
        elif kind == "mix" and pk == own:
            errors[name] = f"{name} is this mix itself"
        elif row.asset is None or row.asset.kind != AssetKind.AUDIO:
            errors[name] = f"{name} has no audio yet"
        else:
            assets[name] = row.asset
    return assets, errors


def spec_check(song: Song, data: Any, *, own: int | None = None) -> MixSpec:
    """The checked spec, or Invalid with every problem keyed by its JSON path. `own` is the
    mix whose spec this is (it may not use itself as a source)."""
    try:
        spec = MixSpec.from_dict(data)
    except SpecInvalid as exc:
        raise _invalid(exc) from None
    assets, errors = _source_assets(song, spec, own=own)
    lengths = {
        name: resampled_frames(int(a.frames or 0), int(a.sample_rate or 1), spec.sample_rate)
        for name, a in assets.items()
    }
    try:
        spec.check_sources(lengths, errors)
    except SpecInvalid as exc:
        raise _invalid(exc) from None
    return spec


def spec_assets(song: Song, spec: MixSpec, *, own: int | None = None) -> dict[str, Asset]:
    """For the render job: each source -> its asset; a source gone meanwhile is a SpecInvalid
    (an engine error: the job fails with its sentence)."""
    assets, errors = _source_assets(song, spec, own=own)
    if errors:
        problems = [
            f"tracks[{ti}].clips[{ci}].source: {errors[c.source]}"
            for ti, t in enumerate(spec.tracks)
            for ci, c in enumerate(t.clips)
            if c.source in errors
        ]
        raise SpecInvalid(problems)
    return assets


def _renderable(spec: MixSpec) -> None:
    if spec.length is None and not any(t.clips for t in spec.tracks):
        raise Invalid(
            "the spec has no clip and no length: there is nothing to render",
            code="spec_invalid",
            fields={"tracks": ["add a clip (or give the spec a length)"]},
        )


# --- the draft from the song's keepers ---------------------------------------------------------


def _track_id(label: str, fallback: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", label.strip()).strip("-._")[:56] or fallback
    if not base[0].isalnum():
        base = fallback
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def keepers_spec(song: Song) -> dict[str, Any]:
    """A spec "from the song's keeper takes and stems at unity": one track per stem and per
    keeper take (stems first, by id; then takes by part), each with one clip at frame 0 over the
    whole source, gain 0 dB, pan 0, no fx, and a post-fader send to the reverb bus `verb`
    switched off (-144 dB, the spec's floor). The sample rate is the sources' most common one
    (the highest on a tie; 48 kHz without sources)."""
    stems = list(
        Stem.objects.filter(song=song)
        .select_related("asset")
        .defer(*HEAVY_ASSET_FIELDS)
        .order_by("id")
    )
    takes = list(
        Take.objects.filter(song=song, is_keeper=True)
        .select_related("asset")
        .defer(*HEAVY_ASSET_FIELDS)
        .order_by("part", "number")
    )
    rows: list[tuple[str, str, Asset]] = [
        (s.instrument or f"stem {s.pk}", f"stem:{s.pk}", s.asset) for s in stems
    ] + [(t.part or f"take {t.pk}", f"take:{t.pk}", t.asset) for t in takes]
    rows = [r for r in rows if r[2].kind == AssetKind.AUDIO and r[2].sample_rate]
    rates = Counter(int(a.sample_rate or 0) for _, _, a in rows)
    rate = max(rates, key=lambda r: (rates[r], r)) if rates else DEFAULT_SAMPLE_RATE
    taken: set[str] = {REVERB_BUS}
    tracks = []
    for label, source, _asset in rows:
        kind, _, pk = source.partition(":")
        tracks.append(
            {
                "id": _track_id(label, f"{kind}-{pk}", taken),
                "gain_db": 0.0,
                "pan": 0.0,
                "sends": [{"bus": REVERB_BUS, "level_db": SEND_OFF_DB, "pre_fader": False}],
                "clips": [{"source": source, "start": 0, "source_in": 0}],
            }
        )
    reverb = {"type": "Reverb", "room_size": 0.5, "wet_level": 1.0, "dry_level": 0.0}
    return {
        "version": 1,
        "sample_rate": rate,
        "tracks": tracks,
        "buses": [{"id": REVERB_BUS, "gain_db": 0.0, "pan": 0.0, "fx": [reverb]}],
        "master": {"gain_db": 0.0, "fx": []},
    }


# --- drafts ------------------------------------------------------------------------------------


def render_job_live(mix: Mix) -> Job | None:
    """The draft's queued or running render job, if any."""
    return (
        Job.objects.filter(mix=mix, kind=JobKind.RENDER)
        .exclude(state__in=JOB_OVER)
        .order_by("-id")
        .first()
    )


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def draft_create(
    *,
    actor: Any,
    song: Song,
    spec: Any = None,
    from_keepers: bool = False,
    parent: Mix | None = None,
    note: str = "",
) -> Mix:
    """The song's new draft, numbered next: from a spec, from the keepers
    (`keepers_spec`), or a copy of `parent`'s spec (a version of the same song). 409 when
    the song already has a draft (fields.draft is its id)."""
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.MIX_EDIT, song_id=song.pk
    )
    if parent is not None:
        if parent.song_id != song.pk:
            raise Invalid(
                "the parent is a version of another song",
                fields={"parent": ["not a version of this song"]},
            )
        if parent.spec is None:
            raise Invalid(
                "the parent has no spec (an uploaded mix): start from the keepers or a spec",
                fields={"parent": ["an uploaded mix has no spec to copy"]},
            )
    if [spec is not None, from_keepers, parent is not None].count(True) != 1:
        raise Invalid(
            'give exactly one of spec, from ("keepers") or parent',
            fields={"spec": ["give exactly one of spec, from or parent"]},
        )
    data = keepers_spec(song) if from_keepers else parent.spec if parent is not None else spec
    checked = spec_check(song, data)
    with transaction.atomic():
        project_lock(song.project_id)
        draft = Mix.objects.filter(song=song, state=MixState.DRAFT).first()
        if draft is not None:
            raise Conflict(
                f"'{song.title}' already has a draft, {draft}: edit it, or render it first",
                code="draft_exists",
                fields={"draft": [str(draft.pk)]},
            )
        top = Mix.objects.filter(song=song).aggregate(m=Max("number"))["m"]
        mix = Mix.objects.create(
            project_id=song.project_id,
            song=song,
            number=(top or 0) + 1,
            note=(note or "")[:1000],
            source=MixSource.RENDER,
            state=MixState.DRAFT,
            spec=checked.to_dict(),
            parent=parent,
            created_by=_user(actor),
        )
        event_record(
            project=song.project_id,
            type="mix.draft_created",
            payload={"mix": mix_payload(mix)},
            actor=actor,
        )
    return mix


def _locked_draft(mix: Mix, doing: str) -> Mix:
    """The mix, locked, if it is a draft that is not rendering; else 409. Under the lock."""
    locked = Mix.objects.select_for_update(no_key=True).get(pk=mix.pk)
    if not locked.is_draft:
        raise Conflict(
            f"{locked} is rendered: its spec never changes (start a new draft from it)",
            code="mix_rendered",
        )
    live = render_job_live(locked)
    if live is not None:
        raise Conflict(
            f"{locked} is rendering (job {live.pk}): cancel the render to {doing}",
            code="mix_rendering",
            fields={"job": [str(live.pk)]},
        )
    return locked


def spec_replace(*, actor: Any, mix: Mix, spec: Any, revision: int | None = None) -> Mix:
    """Replace a draft's spec (checked whole; nothing changes on a 400). With `revision`, only
    if the spec is still at that revision (409 otherwise: someone else saved meanwhile)."""
    require_capability(
        user=actor, project_id=mix.project_id, capability=Capability.MIX_EDIT, song_id=mix.song_id
    )
    checked = spec_check(mix.song, spec, own=mix.pk)
    with transaction.atomic():
        project_lock(mix.project_id)
        locked = _locked_draft(mix, "change it")
        if revision is not None and revision != locked.spec_revision:
            raise SpecRevisionMismatch(
                f"the spec changed meanwhile (revision {locked.spec_revision}, not {revision})",
                fields={"spec_revision": [str(locked.spec_revision)]},
            )
        locked.spec = checked.to_dict()
        locked.spec_revision += 1
        locked.save(update_fields=["spec", "spec_revision"])
        event_record(
            project=locked.project_id,
            type="mix.spec_changed",
            payload={"mix": mix_payload(locked)},
            actor=actor,
        )
    return locked


def draft_discard(*, actor: Any, mix: Mix) -> None:
    """Delete a draft that is not rendering (`mix.draft_discarded`); a rendered version is a
    409 (versions are never deleted here)."""
    require_capability(
        user=actor, project_id=mix.project_id, capability=Capability.MIX_EDIT, song_id=mix.song_id
    )
    with transaction.atomic():
        project_lock(mix.project_id)
        locked = _locked_draft(mix, "discard it")
        payload = mix_payload(locked)
        locked.delete()
        event_record(
            project=payload["project"],
            type="mix.draft_discarded",
            payload={"mix": payload},
            actor=actor,
        )


def render_start(*, actor: Any, mix: Mix, bit_depth: str = "32f") -> Job:
    """Queue the draft's render job (202 in the API): the spec is checked against the sources
    again, and it must have something to render. 409 when rendered or already rendering."""
    require_capability(
        user=actor, project_id=mix.project_id, capability=Capability.MIX_EDIT, song_id=mix.song_id
    )
    with transaction.atomic():
        project_lock(mix.project_id)
        locked = _locked_draft(mix, "start another")
        checked = spec_check(locked.song, locked.spec, own=locked.pk)
        _renderable(checked)
        return jobs.job_create(
            actor=actor,
            project=locked.project_id,
            kind=JobKind.RENDER,
            mix=locked,
            params={"bit_depth": bit_depth},
        )


# --- rendering (the job and previews) -----------------------------------------------------------


def render_cache_dir(project_id: int) -> Path:
    """Where prepared clips are kept between renders, one folder per project (so a re-render
    redoes only what changed, and one project's files never serve another's)."""
    root = Path(getattr(settings, "RENDER_CACHE_DIR", Path(settings.VAR_DIR) / "render-cache"))
    return root / str(int(project_id))


def render_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def source_digests(assets: Mapping[str, Asset]) -> dict[str, str]:
    """Each source's SHA-256, known from its Asset (the hash of the stored bytes), for the
    engine's cache keys: it then never reads a source through SHA-256 to key it."""
    return {name: a.sha256 for name, a in assets.items()}


@contextmanager
def source_paths(assets: Mapping[str, Asset]) -> Iterator[dict[str, Path]]:
    """Local paths of the sources (stored files, or scratch copies of remote ones, removed
    afterwards)."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(storage.asset_path(a)) for name, a in assets.items()}


def preview_render(
    *, actor: Any, mix: Mix, start_s: float, end_s: float, bit_depth: str = "32f"
) -> bytes:
    """A window of at most PREVIEW_MAX_S seconds of the mix's spec as WAV bytes, rendered in
    this process with the same samples as the full render over that window (the engine's
    range render), sharing the project's clip cache with the render job. Work past the time
    budget stops at the engine's next progress report: 409 `preview_too_slow`, no file."""
    require_capability(
        user=actor, project_id=mix.project_id, capability=Capability.MIX_EDIT, song_id=mix.song_id
    )
    if mix.spec is None:
        raise Conflict(f"{mix} was uploaded: it has no spec to preview", code="no_spec")
    problems: dict[str, list[str]] = {}
    if not (0 <= start_s < end_s):
        problems["start_s"] = ["need 0 <= start_s < end_s"]
    elif end_s - start_s > PREVIEW_MAX_S:
        problems["end_s"] = [f"a preview is at most {PREVIEW_MAX_S:g} s (render the mix for more)"]
    if bit_depth not in BIT_DEPTHS:
        problems["bit_depth"] = [f"choose one of {', '.join(BIT_DEPTHS)}"]
    if problems:
        raise Invalid("invalid preview range", code="preview_invalid", fields=problems)
    spec = spec_check(mix.song, mix.spec, own=mix.pk)
    _renderable(spec)
    rate = spec.sample_rate
    window = (round(start_s * rate), round(end_s * rate))
    assets = spec_assets(mix.song, spec, own=mix.pk)
    budget = float(getattr(settings, "RENDER_PREVIEW_BUDGET_S", PREVIEW_BUDGET_S))
    deadline = time.monotonic() + budget

    def on_progress(fraction: float) -> None:
        if time.monotonic() > deadline:
            raise PreviewTooSlow(
                f"the preview needs more than {budget:g} s of work: render the mix, or try "
                "again (the clips prepared so far are kept)"
            )

    with tempfile.TemporaryDirectory(prefix="preview-", dir=storage.upload_dir()) as tmp:
        out = Path(tmp) / "preview.wav"
        try:
            with source_paths(assets) as paths:
                render(
                    spec,
                    paths,
                    out,
                    bit_depth=bit_depth,
                    cache_dir=render_cache_dir(mix.project_id),
                    threads=render_threads(),
                    on_progress=on_progress,
                    frame_range=window,
                    limits=_limits(),
                    digests=source_digests(assets),
                )
        except RangeInvalid as exc:
            raise Invalid(
                str(exc), code="preview_invalid", fields={"start_s": [str(exc)]}
            ) from None
        except SpecInvalid as exc:
            raise _invalid(exc) from None
        except AudioError as exc:
            raise Invalid(str(exc), code=exc.code, fields={"spec": [str(exc)]}) from None
        return out.read_bytes()


def _limits() -> Limits:
    return Limits(**engine_limits_kwargs())
