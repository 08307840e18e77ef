"""Every write of the song sheet: the sheet itself, its sections and their order, the sound
palette, the influences and the sample use an influence may need. One transaction each, under
the project lock, with its Event.

Rules, once:
- Producers and artists write the sheet (SHEET_EDIT); every member reads it; an archived song
  refuses writes (409). Key and tempo are the song's: set through studio's song service.
- A time signature is one of songsheet.timing.TIME_SIGNATURES; the first downbeat is 0 to 3600 s.
- A section has a name, a whole number of bars from 1 to 9999, lyrics of at most LYRICS_MAX
  characters, and an estimate of whole minutes (none, or 0 or more). Positions are dense
  (1..n per song): adding, removing and moving close the order up.
- A palette item's player is a member of the project (or a free-text name), and its session is
  a working session of the same song.
- An influence says what was taken (any of feel, groove, melody, lyrics, sound). Anything
  beyond feel asks whether it is a sample or interpolation that needs clearance;
  `influence_record_sample` records it as a sample use (studio's rights service, RIGHTS_EDIT)
  linked to the influence, so the gate into delivered sees it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from eventlog.services import event_record, project_lock
from sessions.models import WorkingSession
from songsheet.models import (
    LYRICS_MAX,
    NOTES_MAX,
    TAKEN,
    Influence,
    PaletteItem,
    PaletteStatus,
    Section,
    SongSheet,
)
from songsheet.payloads import (
    influence_payload,
    palette_payload,
    section_payload,
    sheet_payload,
)
from songsheet.timing import TIME_SIGNATURES
from studio.errors import Conflict, Invalid
from studio.models import Clearance, Membership, SampleKind, SampleUse, Song
from studio.roles import Capability
from studio.selectors import require_capability
from studio.services.rights import sample_use_add
from studio.services.songs import song_key_tempo_set

BARS_MAX = 9999
ESTIMATE_MAX = 100_000  # minutes: about ten weeks of days and nights
DOWNBEAT_MAX_S = 3600.0
SUGGESTED_NAMES = ("intro", "verse", "pre-chorus", "chorus", "bridge", "outro")
CLEARANCE_PROMPT = (
    "Taking {what} from '{work}' goes beyond feel: is it a sample or an interpolation that "
    "needs clearance? Record it as a sample use so the gate into delivered sees it."
)


def _require(actor: Any, song: Song, capability: str = Capability.SHEET_EDIT) -> None:
    require_capability(
        user=actor, project_id=song.project_id, capability=capability, song_id=song.pk
    )


# --- checks ------------------------------------------------------------------------------------


class _Fields:
    """Collects every field's problem, so one 400 names them all."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def bad(self, name: str, problem: str) -> None:
        self.errors.setdefault(name, []).append(problem)

    def raise_if_any(self, what: str) -> None:
        if self.errors:
            first = next(iter(self.errors.items()))
            raise Invalid(f"{what}: {first[0]} {first[1][0]}", fields=self.errors)


def _text(f: _Fields, name: str, value: Any, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        f.bad(name, "must be text")
        return ""
    text = value.strip()
    if required and not text:
        f.bad(name, "is required")
    elif len(text) > limit:
        f.bad(name, f"is {len(text)} characters, over the {limit:,} allowed".replace(",", " "))
    return text


def _line(f: _Fields, name: str, value: Any, limit: int, *, required: bool = False) -> str:
    return " ".join(_text(f, name, value, limit, required=required).split())


def _whole(
    f: _Fields, name: str, value: Any, low: int, high: int, *, nullable: bool = False
) -> int | None:
    if value in (None, "") and nullable:
        return None
    if isinstance(value, bool):
        f.bad(name, "must be a whole number")
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isascii() or not value.lstrip("-").isdigit():
            f.bad(name, "must be a whole number")
            return None
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        f.bad(name, "must be a whole number")
        return None
    if not low <= value <= high:
        f.bad(name, f"must be from {low} to {high}")
        return None
    return value


def _section_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    f = _Fields()
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        out["name"] = _line(f, "name", data.get("name"), 100, required=True)
    if "bars" in data or not partial:
        if data.get("bars") in (None, ""):
            f.bad("bars", "is required: how many bars the section lasts")
        else:
            bars = _whole(f, "bars", data.get("bars"), 1, BARS_MAX)
            if bars is None and "bars" in f.errors:
                f.errors["bars"] = [f"must be a whole number of bars from 1 to {BARS_MAX}"]
            out["bars"] = bars
    if "lyrics" in data:
        lyrics = data.get("lyrics")
        out["lyrics"] = _text(f, "lyrics", lyrics, LYRICS_MAX)
        if "lyrics" in f.errors and isinstance(lyrics, str):
            f.errors["lyrics"] = [
                f"are {len(lyrics.strip())} characters, over the 20 000 a section holds"
            ]
    if "notes" in data:
        out["notes"] = _text(f, "notes", data.get("notes"), NOTES_MAX)
    if "estimate_minutes" in data:
        est = _whole(f, "estimate_minutes", data.get("estimate_minutes"), 0, ESTIMATE_MAX,
                     nullable=True)  # fmt: skip
        if "estimate_minutes" in f.errors:
            f.errors["estimate_minutes"] = [
                f"must be a whole number of minutes from 0 to {ESTIMATE_MAX}, or empty"
            ]
        out["estimate_minutes"] = est
    f.raise_if_any("the section")
    return out


# --- the sheet ---------------------------------------------------------------------------------


def sheet_of(song: Song) -> SongSheet:
    """The song's sheet, or an unsaved one with the defaults (a sheet is written on first save)."""
    return SongSheet.objects.filter(song=song).first() or SongSheet(song=song)


def sheet_update(*, actor: Any, song: Song, data: dict[str, Any]) -> SongSheet:
    """Genre, vibe, style notes, time signature and first downbeat (`sheet.updated`); `key` and
    `tempo_bpm`, when given and changed, go to the song (`song.updated`). Fields not in `data`
    keep their value."""
    _require(actor, song)
    f = _Fields()
    changes: dict[str, Any] = {}
    if "genre" in data:
        changes["genre"] = _line(f, "genre", data["genre"], 100)
    if "vibe" in data:
        changes["vibe"] = _line(f, "vibe", data["vibe"], 200)
    if "style_notes" in data:
        changes["style_notes"] = _text(f, "style_notes", data["style_notes"], NOTES_MAX)
    if "time_signature" in data:
        sig = str(data["time_signature"] or "").replace(" ", "")
        if sig not in TIME_SIGNATURES:
            f.bad("time_signature", f"choose one of {', '.join(TIME_SIGNATURES)}")
        changes["time_signature"] = sig
    if "first_downbeat_s" in data:
        raw = data["first_downbeat_s"]
        value: float | None = None
        if raw not in (None, ""):
            try:
                value = float(str(raw).replace(",", "."))
            except ValueError:
                value = math.nan
            if isinstance(raw, bool) or not math.isfinite(value):
                f.bad("first_downbeat_s", "must be a number of seconds")
            elif not 0 <= value <= DOWNBEAT_MAX_S:
                f.bad("first_downbeat_s", f"must be from 0 to {DOWNBEAT_MAX_S:g} seconds")
            else:
                value = round(value, 3)
        changes["first_downbeat_s"] = value
    f.raise_if_any("the song sheet")
    with transaction.atomic():
        project_lock(song.project_id)
        sheet = sheet_of(song)
        for name, v in changes.items():
            setattr(sheet, name, v)
        sheet.save()
        event_record(
            project=song.project_id,
            type="sheet.updated",
            payload={"sheet": sheet_payload(sheet)},
            actor=actor,
        )
        if "key" in data or "tempo_bpm" in data:
            fresh = Song.objects.get(pk=song.pk)
            key = data.get("key", fresh.key)
            tempo = data.get("tempo_bpm", fresh.tempo_bpm)
            if _changed(key, fresh.key, tempo, fresh.tempo_bpm):
                song_key_tempo_set(actor=actor, song=fresh, key=key, tempo_bpm=tempo)
    return sheet


def _changed(key: Any, old_key: str, tempo: Any, old_tempo: Decimal | None) -> bool:
    """Whether the form's key or tempo differ from the song's ("120" is 120.00: a sheet saved
    with the same figures records no `song.updated`). What does not read goes to the song
    service, which names the problem."""
    if " ".join(str(key or "").split()) != old_key:
        return True
    if tempo in (None, ""):
        return old_tempo is not None
    try:
        return old_tempo is None or Decimal(str(tempo).strip().replace(",", ".")) != old_tempo
    except InvalidOperation:
        return True


# --- sections ----------------------------------------------------------------------------------


def _renumber(song_id: int, order: list[int]) -> None:
    for position, pk in enumerate(order, start=1):
        Section.objects.filter(pk=pk).exclude(position=position).update(position=position)


def _order(song_id: int) -> list[int]:
    return list(
        Section.objects.filter(song_id=song_id)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )


def _reordered(song_id: int, project_id: int, actor: Any) -> None:
    sections = Section.objects.filter(song_id=song_id).order_by("position", "id")
    event_record(
        project=project_id,
        type="sections.reordered",
        payload={"song": song_id, "sections": [section_payload(s) for s in sections]},
        actor=actor,
    )


def _position(value: Any, size: int) -> int:
    """A 1-based position, clamped to 1..size (past the end is the end)."""
    f = _Fields()
    where = _whole(f, "position", value, 1, 1_000_000)
    f.raise_if_any("the position")
    return min(max(1, where or 1), size)


@dataclass(frozen=True)
class _RowKind:
    """One kind of row of a song's sheet, as its events name it: `<event>.added` and so on,
    carrying the row's payload under `key`."""

    model: type[Section] | type[PaletteItem] | type[Influence]
    event: str
    key: str
    payload: Callable[[Any], dict[str, Any]]


SECTION = _RowKind(Section, "section", "section", section_payload)
PALETTE = _RowKind(PaletteItem, "palette", "palette_item", palette_payload)
INFLUENCE = _RowKind(Influence, "influence", "influence", influence_payload)


def _row_recorded(
    actor: Any, song: Song, kind: _RowKind, what: str, payload: dict[str, Any]
) -> None:
    event_record(
        project=song.project_id,
        type=f"{kind.event}.{what}",
        payload={kind.key: payload},
        actor=actor,
    )


def _row_add(actor: Any, song: Song, fields: dict[str, Any], kind: _RowKind) -> Any:
    """Creates a row of the sheet under the project lock, with its `.added` event. The caller
    has checked the actor and the fields."""
    with transaction.atomic():
        project_lock(song.project_id)
        row = kind.model.objects.create(song=song, **fields)
        _row_recorded(actor, song, kind, "added", kind.payload(row))
    return row


def _row_update(actor: Any, row: Any, fields: dict[str, Any], kind: _RowKind) -> Any:
    """Writes the checked fields of a row under the project lock and records the row as it now
    is (`.updated`), so every open sheet shows what was stored."""
    song = row.song
    with transaction.atomic():
        project_lock(song.project_id)
        if fields:
            kind.model.objects.filter(pk=row.pk).update(**fields)
        row.refresh_from_db()
        _row_recorded(actor, song, kind, "updated", kind.payload(row))
    return row


def _row_remove(
    actor: Any, row: Any, kind: _RowKind, then: Callable[[Song], None] | None = None
) -> None:
    """Deletes a row under the project lock (`then` closes up what it leaves, inside the same
    transaction) and records what was removed."""
    song = row.song
    _require(actor, song)
    with transaction.atomic():
        project_lock(song.project_id)
        payload = kind.payload(row)
        kind.model.objects.filter(pk=row.pk).delete()
        if then is not None:
            then(song)
        _row_recorded(actor, song, kind, "removed", payload)


def section_add(*, actor: Any, song: Song, data: dict[str, Any]) -> Section:
    """A new section at the end, or at `position` (the ones from there move down one)."""
    _require(actor, song)
    fields = _section_fields(data, partial=False)
    with transaction.atomic():
        project_lock(song.project_id)
        order = _order(song.pk)
        section = Section.objects.create(song=song, position=len(order) + 1, **fields)
        _row_recorded(actor, song, SECTION, "added", section_payload(section))
        if data.get("position") not in (None, ""):
            where = _position(data["position"], len(order) + 1)
            if where != len(order) + 1:
                order.insert(where - 1, section.pk)
                _renumber(song.pk, order)
                _reordered(song.pk, song.project_id, actor)
                section.refresh_from_db()
    return section


def section_update(*, actor: Any, section: Section, data: dict[str, Any]) -> Section:
    _require(actor, section.song)
    return _row_update(actor, section, _section_fields(data, partial=True), SECTION)


def section_remove(*, actor: Any, section: Section) -> None:
    """Removes the section; the ones after it move up."""
    _row_remove(actor, section, SECTION, then=lambda song: _renumber(song.pk, _order(song.pk)))


def section_move(*, actor: Any, section: Section, position: Any) -> Section:
    """Move a section to `position` (1-based, clamped to the song's sections); the others close
    up around it. Read and renumbered under the project lock, so two moves at once each see the
    other's result and the order stays dense."""
    song = section.song
    _require(actor, song)
    with transaction.atomic():
        project_lock(song.project_id)
        order = _order(song.pk)
        if section.pk not in order:
            raise Conflict("the section was removed meanwhile", code="gone")
        where = _position(position, len(order))
        order.remove(section.pk)
        order.insert(where - 1, section.pk)
        _renumber(song.pk, order)
        _reordered(song.pk, song.project_id, actor)
    section.refresh_from_db()
    return section


# --- the sound palette -------------------------------------------------------------------------


def _palette_fields(song: Song, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    f = _Fields()
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        out["name"] = _line(f, "name", data.get("name"), 200, required=True)
    if "source" in data:
        out["source"] = _line(f, "source", data.get("source"), 200)
    if "player_name" in data:
        out["player_name"] = _line(f, "player_name", data.get("player_name"), 200)
    if "notes" in data:
        out["notes"] = _text(f, "notes", data.get("notes"), NOTES_MAX)
    if "status" in data or not partial:
        status = data.get("status") or PaletteStatus.PLANNED
        if status not in PaletteStatus.values:
            f.bad("status", f"choose one of {', '.join(PaletteStatus.values)}")
        out["status"] = status
    if "player" in data:
        raw = data.get("player")
        out["player"] = None
        if raw not in (None, ""):
            pk = _whole(f, "player", raw, 1, 2**62)
            member = (
                Membership.objects.filter(project_id=song.project_id, user_id=pk)
                .select_related("user")
                .first()
                if pk is not None
                else None
            )
            if member is None:
                f.errors["player"] = ["choose a member of this project (or type a name)"]
            else:
                out["player"] = member.user
    if "session" in data:
        raw = data.get("session")
        out["session"] = None
        if raw not in (None, ""):
            pk = _whole(f, "session", raw, 1, 2**62)
            session = WorkingSession.objects.filter(song=song, pk=pk).first() if pk else None
            if session is None:
                f.errors["session"] = ["choose a working session of this song"]
            else:
                out["session"] = session
    f.raise_if_any("the palette item")
    return out


def palette_add(*, actor: Any, song: Song, data: dict[str, Any]) -> PaletteItem:
    _require(actor, song)
    return _row_add(actor, song, _palette_fields(song, data, partial=False), PALETTE)


def palette_update(*, actor: Any, item: PaletteItem, data: dict[str, Any]) -> PaletteItem:
    _require(actor, item.song)
    return _row_update(actor, item, _palette_fields(item.song, data, partial=True), PALETTE)


def palette_remove(*, actor: Any, item: PaletteItem) -> None:
    _row_remove(actor, item, PALETTE)


# --- influences --------------------------------------------------------------------------------


def _taken(f: _Fields, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        f.bad("taken", f"a list of any of {', '.join(TAKEN)}")
        return []
    unknown = [v for v in value if v not in TAKEN]
    if unknown:
        f.bad("taken", f"'{unknown[0][:20]}' is not one of {', '.join(TAKEN)}")
    return [t for t in TAKEN if t in value]


def _influence_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    f = _Fields()
    out: dict[str, Any] = {}
    if "work" in data or not partial:
        out["work"] = _line(f, "work", data.get("work"), 300, required=True)
    if "artist" in data:
        out["artist"] = _line(f, "artist", data.get("artist"), 300)
    if "taken" in data or not partial:
        out["taken"] = _taken(f, data.get("taken") or [])
    if "notes" in data:
        out["notes"] = _text(f, "notes", data.get("notes"), NOTES_MAX)
    f.raise_if_any("the influence")
    return out


def clearance_prompt(influence: Influence) -> str | None:
    """The question an influence asks when it takes more than feel (None when it does not, or
    once its sample use is recorded)."""
    if not influence.asks_clearance or influence.sample_use_id is not None:
        return None
    what = " and ".join(t for t in influence.taken if t != "feel")
    return CLEARANCE_PROMPT.format(what=what, work=influence.work)


def influence_add(*, actor: Any, song: Song, data: dict[str, Any]) -> Influence:
    _require(actor, song)
    return _row_add(actor, song, _influence_fields(data, partial=False), INFLUENCE)


def influence_update(*, actor: Any, influence: Influence, data: dict[str, Any]) -> Influence:
    _require(actor, influence.song)
    return _row_update(actor, influence, _influence_fields(data, partial=True), INFLUENCE)


def influence_remove(*, actor: Any, influence: Influence) -> None:
    """Removes the influence; a sample use recorded for it stays (its clearance is still owed)."""
    _row_remove(actor, influence, INFLUENCE)


def influence_record_sample(
    *,
    actor: Any,
    influence: Influence,
    kind: Any = SampleKind.INTERPOLATION,
    clearance: Any = Clearance.PENDING,
    rights_holder: Any = "",
) -> SampleUse:
    """Answer the clearance prompt: record the influence as a sample use (studio's rights
    service: `sample_use.added`, RIGHTS_EDIT) with its clearance, linked to the influence
    (`influence.updated`). Pending or denied, it holds the gate into delivered."""
    song = influence.song
    _require(actor, song, Capability.RIGHTS_EDIT)
    _require(actor, song)
    if not influence.asks_clearance:
        raise Invalid(
            "this influence takes only the feel: there is nothing to clear",
            code="nothing_to_clear",
            fields={"taken": ["only feel"]},
        )
    f = _Fields()
    holder = _line(f, "rights_holder", rights_holder, 300)
    if kind not in SampleKind.values:
        f.bad("kind", f"choose one of {', '.join(SampleKind.values)}")
    if clearance not in Clearance.values:
        f.bad("clearance", f"choose one of {', '.join(Clearance.values)}")
    f.raise_if_any("the sample use")
    with transaction.atomic():
        project_lock(song.project_id)
        fresh = Influence.objects.select_for_update().get(pk=influence.pk)
        if fresh.sample_use_id is not None:
            raise Conflict(
                "this influence is already recorded as a sample use", code="already_recorded"
            )
        artist = f" by {fresh.artist}" if fresh.artist else ""
        sample = sample_use_add(
            actor=actor,
            song=song,
            source_work=f"{fresh.work}{artist}"[:300],
            kind=str(kind),
            rights_holder=holder,
            clearance=str(clearance),
            notes=f"Influence on the song sheet: {', '.join(fresh.taken)} taken"[:5000],
        )
        fresh.sample_use = sample
        fresh.save(update_fields=["sample_use"])
        _row_recorded(actor, song, INFLUENCE, "updated", influence_payload(fresh))
    influence.sample_use = sample
    return sample
