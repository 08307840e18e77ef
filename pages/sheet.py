"""The song's "Sheet" tab: genre, vibe and style, key, tempo and time signature, the
arrangement's sections in order with their start times and lyrics, the sound palette and the
influences with their clearance prompt.

Thin: reads through songsheet.selectors, writes through songsheet.services; producers and
artists get the forms (htmx posts that answer with the card they changed; an invalid field puts
its sentence in the form's error slot), everyone else reads. Each card refetches itself on the
events that change it, so every open sheet follows the others live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import dateformat, timezone
from django.views.decorators.http import require_POST

from pages.kit import form_error, is_htmx, member_project, page, page_context
from sessions.models import WorkingSession
from songsheet import services
from songsheet.models import TAKEN, Influence, PaletteItem, PaletteStatus, Section
from songsheet.selectors import influences_of, palette_of, sheet_read
from songsheet.timing import TIME_SIGNATURES
from studio.errors import Invalid
from studio.models import Clearance, Membership, SampleKind, Song
from studio.roles import Capability as C
from studio.roles import role_can
from studio.selectors import song_get_for_member

PARTS = ("facts", "sections", "palette", "influences")


def _context(request: HttpRequest, song: Song) -> dict[str, Any]:
    project, role = member_project(request, song.project_id)
    song.project = project
    read = sheet_read(song)
    sections = [
        {
            "s": t.section,
            "start_bar": t.time.start_bar,
            "start": _at(t.time.start_s),
            "end": _at(t.time.end_s),
            "first": i == 0,
            "last": i == len(read.sections) - 1,
        }
        for i, t in enumerate(read.sections)
    ]
    influences = [
        {"i": influence, "prompt": services.clearance_prompt(influence)}
        for influence in influences_of(song)
    ]
    ctx = page_context(
        project,
        role,
        song=song,
        sheet=read.sheet,
        sections=sections,
        estimate_total=sum(t.section.estimate_minutes or 0 for t in read.sections),
        regions=read.regions(),
        regions_ready=read.regions_ready,
        palette=[{"item": item, "line": _palette_line(item)} for item in palette_of(song)],
        influences=influences,
        editable=_editable(song, project, role),
        time_signatures=list(TIME_SIGNATURES),
        suggested_names=services.SUGGESTED_NAMES,
        palette_statuses=PaletteStatus.choices,
        song_members=Membership.objects.filter(project_id=song.project_id)
        .select_related("user")
        .order_by("user__username"),
        song_sessions=WorkingSession.objects.filter(song=song).order_by("starts_at", "id"),
        taken_choices=TAKEN,
        sample_kinds=SampleKind.choices,
        clearances=Clearance.choices,
    )
    ctx["can_record_sample"] = ctx["can"]["rights_edit"] and ctx["editable"]
    return ctx


def _at(seconds: float | None) -> str:
    """62.25 -> "1:02.3" (a section's start, to a tenth: a first downbeat is rarely whole)."""
    if seconds is None:
        return ""
    tenths = round(seconds * 10)
    return f"{tenths // 600}:{(tenths % 600) // 10:02d}.{tenths % 10}"


def _palette_line(item: PaletteItem) -> str:
    """Source · who plays it · the session it is tracked in, leaving out what is not known."""
    who = (
        (item.player.get_short_name() or item.player.username) if item.player else item.player_name
    )
    session = ""
    if item.session is not None:
        when = dateformat.format(timezone.localtime(item.session.starts_at), "D j M, H:i")
        session = f"tracked in the {item.session.get_kind_display().lower()} session of {when}"
    return " · ".join(bit for bit in (item.source, who, session) if bit)


def _editable(song: Song, project: Any, role: str) -> bool:
    return role_can(role, C.SHEET_EDIT) and song.archived_at is None and project.archived_at is None


@page
def song_sheet(request: HttpRequest, song_id: int) -> HttpResponse:
    """The Sheet tab; htmx asks for one card (?part=facts|sections|palette|influences)."""
    song = song_get_for_member(user=request.user, song_id=song_id)
    ctx = _context(request, song)
    part = request.GET.get("part")
    if is_htmx(request) and part in PARTS:
        return render(request, f"songsheet/_{part}.html", ctx)
    return render(request, "songsheet/sheet.html", ctx)


def _card(request: HttpRequest, song: Song, part: str) -> HttpResponse:
    """After a write: the card it changed, re-read (a full request goes back to the tab)."""
    if not is_htmx(request):
        return redirect("song-sheet", song.pk)
    song = song_get_for_member(user=request.user, song_id=song.pk)
    return render(request, f"songsheet/_{part}.html", _context(request, song))


def _editing(request: HttpRequest, song_id: int) -> Song:
    return song_get_for_member(user=request.user, song_id=song_id, capability=C.SHEET_EDIT)


def _form(request: HttpRequest, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: request.POST[n] for n in names if n in request.POST}


def _card_write(
    request: HttpRequest, song: Song, part: str, error_slot: str, write: Callable[[], object]
) -> HttpResponse:
    """Runs one form's write: the changed card on success, the sentence in the form's error
    slot when a field is invalid."""
    try:
        write()
    except Invalid as error:
        return form_error(request, error, error_slot)
    return _card(request, song, part)


# --- the sheet's facts ---------------------------------------------------------------------------
@page
@require_POST
def sheet_update(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _editing(request, song_id)
    data = _form(
        request,
        ("genre", "vibe", "style_notes", "time_signature", "first_downbeat_s", "key", "tempo_bpm"),
    )
    return _card_write(
        request,
        song,
        "facts",
        "#sheet-facts-error",
        lambda: services.sheet_update(actor=request.user, song=song, data=data),
    )


# --- sections ------------------------------------------------------------------------------------
SECTION_FIELDS = ("name", "bars", "lyrics", "notes", "estimate_minutes")


@page
@require_POST
def section_add(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _editing(request, song_id)
    data = _form(request, SECTION_FIELDS)
    return _card_write(
        request,
        song,
        "sections",
        "#section-add-error",
        lambda: services.section_add(actor=request.user, song=song, data=data),
    )


def _section(request: HttpRequest, section_id: int) -> Section:
    return get_object_or_404(
        Section.objects.visible_to(request.user).select_related("song"), pk=section_id
    )


@page
@require_POST
def section_update(request: HttpRequest, section_id: int) -> HttpResponse:
    section = _section(request, section_id)
    data = _form(request, SECTION_FIELDS)
    return _card_write(
        request,
        section.song,
        "sections",
        f"#section-{section.pk}-error",
        lambda: services.section_update(actor=request.user, section=section, data=data),
    )


@page
@require_POST
def section_move(request: HttpRequest, section_id: int) -> HttpResponse:
    """Up or down one place (`direction`), or to `position`."""
    section = _section(request, section_id)
    direction = request.POST.get("direction", "")
    if direction in ("up", "down"):
        position: Any = max(1, section.position + (-1 if direction == "up" else 1))
    else:
        position = request.POST.get("position", "")
    return _card_write(
        request,
        section.song,
        "sections",
        f"#section-{section.pk}-error",
        lambda: services.section_move(actor=request.user, section=section, position=position),
    )


@page
@require_POST
def section_remove(request: HttpRequest, section_id: int) -> HttpResponse:
    section = _section(request, section_id)
    services.section_remove(actor=request.user, section=section)
    return _card(request, section.song, "sections")


# --- the sound palette ---------------------------------------------------------------------------
PALETTE_FIELDS = ("name", "source", "player", "player_name", "session", "status", "notes")


@page
@require_POST
def palette_add(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _editing(request, song_id)
    data = _form(request, PALETTE_FIELDS)
    return _card_write(
        request,
        song,
        "palette",
        "#palette-add-error",
        lambda: services.palette_add(actor=request.user, song=song, data=data),
    )


def _item(request: HttpRequest, item_id: int) -> PaletteItem:
    return get_object_or_404(
        PaletteItem.objects.visible_to(request.user).select_related("song"), pk=item_id
    )


@page
@require_POST
def palette_update(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    data = _form(request, PALETTE_FIELDS)
    return _card_write(
        request,
        item.song,
        "palette",
        f"#palette-{item.pk}-error",
        lambda: services.palette_update(actor=request.user, item=item, data=data),
    )


@page
@require_POST
def palette_remove(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    services.palette_remove(actor=request.user, item=item)
    return _card(request, item.song, "palette")


# --- influences ----------------------------------------------------------------------------------
@page
@require_POST
def influence_add(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _editing(request, song_id)
    data = _form(request, ("work", "artist", "notes"))
    data["taken"] = request.POST.getlist("taken")
    return _card_write(
        request,
        song,
        "influences",
        "#influence-add-error",
        lambda: services.influence_add(actor=request.user, song=song, data=data),
    )


def _influence(request: HttpRequest, influence_id: int) -> Influence:
    return get_object_or_404(
        Influence.objects.visible_to(request.user).select_related("song"), pk=influence_id
    )


@page
@require_POST
def influence_remove(request: HttpRequest, influence_id: int) -> HttpResponse:
    influence = _influence(request, influence_id)
    services.influence_remove(actor=request.user, influence=influence)
    return _card(request, influence.song, "influences")


@page
@require_POST
def influence_sample(request: HttpRequest, influence_id: int) -> HttpResponse:
    """The clearance prompt's answer: record the influence as a sample use (producers)."""
    influence = _influence(request, influence_id)
    return _card_write(
        request,
        influence.song,
        "influences",
        f"#influence-{influence.pk}-error",
        lambda: services.influence_record_sample(
            actor=request.user,
            influence=influence,
            kind=request.POST.get("kind", SampleKind.INTERPOLATION),
            clearance=request.POST.get("clearance", Clearance.PENDING),
            rights_holder=request.POST.get("rights_holder", ""),
        ),
    )


urlpatterns = [
    path("songs/<int:song_id>/sheet/", song_sheet, name="song-sheet"),
    path("songs/<int:song_id>/sheet/edit/", sheet_update, name="sheet-update"),
    path("songs/<int:song_id>/sheet/sections/", section_add, name="section-add"),
    path("sections/<int:section_id>/", section_update, name="section-update"),
    path("sections/<int:section_id>/move/", section_move, name="section-move"),
    path("sections/<int:section_id>/remove/", section_remove, name="section-remove"),
    path("songs/<int:song_id>/sheet/palette/", palette_add, name="palette-add"),
    path("palette/<int:item_id>/", palette_update, name="palette-update"),
    path("palette/<int:item_id>/remove/", palette_remove, name="palette-remove"),
    path("songs/<int:song_id>/sheet/influences/", influence_add, name="influence-add"),
    path("influences/<int:influence_id>/remove/", influence_remove, name="influence-remove"),
    path("influences/<int:influence_id>/sample-use/", influence_sample, name="influence-sample"),
]
