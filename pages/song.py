"""Pages: the song (stage timeline and gate, credits, splits, sample uses, sessions)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audio.models import Take
from pages.kit import (
    form_error,
    is_htmx,
    member_project,
    page,
    page_context,
    readable,
)
from pages.projects import song_shelf
from sessions.models import SessionKind, WorkingSession
from studio.errors import Invalid, NotFound
from studio.gates import STAGES, gate_checks, is_forward, song_can_enter_stage
from studio.models import (
    Clearance,
    Credit,
    CreditRole,
    Membership,
    Right,
    SampleKind,
    SampleUse,
    Song,
    Stage,
    StageChange,
)
from studio.parsing import finite_number
from studio.roles import Capability as C
from studio.selectors import (
    days_left,
    song_facts,
    song_get_deleted_for_member,
    song_get_for_member,
)
from studio.services import credits, rights, songs

STAGE_LABELS = dict(Stage.choices)


# --- song -----------------------------------------------------------------------------------
def _stage_context(song: Song, role: str) -> dict[str, Any]:
    facts = song_facts(song)
    index = STAGES.index(song.stage)
    nxt = STAGES[index + 1] if index + 1 < len(STAGES) else None
    reasons = song_can_enter_stage(facts, nxt) if nxt else []
    # Every condition of the next gate, met or not, so the checklist reads as a checklist.
    checklist = gate_checks(facts, nxt) if nxt else []
    # Open tasks alone hold the move: a producer may move on anyway, saying why.
    only_tasks = bool(reasons) and not (
        song_can_enter_stage(facts, nxt, override=True) if nxt else True
    )
    timeline = [
        {"value": v, "label": label, "done": i < index, "current": i == index}
        for i, (v, label) in enumerate(Stage.choices)
    ]
    history = StageChange.objects.filter(song=song).select_related("actor").order_by("-id")
    return {
        "timeline": timeline,
        "next_stage": nxt,
        "next_label": STAGE_LABELS.get(nxt or ""),
        "reasons": reasons,
        "checklist": checklist,
        "overridable": only_tasks,
        "earlier": [(v, STAGE_LABELS[v]) for v in STAGES[:index]],
        "history": history,
    }


def _splits(song: Song) -> list[dict[str, Any]]:
    out = []
    for value, label in Right.choices:
        rows = list(song.splits.filter(right=value).order_by("position", "id"))
        total = sum((r.share for r in rows), Decimal("0.00"))
        out.append(
            {
                "right": value,
                "label": label,
                "rows": rows,
                "total": total,
                "ok": total == Decimal("100.00"),
            }
        )
    return out


def _sessions_context(song: Song) -> dict[str, Any]:
    """The "Working sessions" card: sessions with their takes (and the song's takes each could
    still take), the song's takes by part for the keeper choice, members for participants."""
    takes = list(Take.objects.filter(song=song).select_related("asset").order_by("part", "number"))
    sessions = list(
        WorkingSession.objects.filter(song=song)
        .prefetch_related("participants", "takes")
        .order_by("starts_at", "id")
    )
    for ws in sessions:
        attached = {t.pk for t in ws.takes.all()}
        ws.take_list = [t for t in takes if t.pk in attached]
        ws.free_takes = [t for t in takes if t.pk not in attached]
        ws.participant_ids = {u.pk for u in ws.participants.all()}
    parts: dict[str, list[Any]] = {}
    for take in takes:
        parts.setdefault(take.part, []).append(take)
    start = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    start += datetime.timedelta(days=1)
    return {
        "working_sessions": sessions,
        "session_kinds": SessionKind.choices,
        "take_parts": sorted(parts.items()),
        "song_members": Membership.objects.filter(project_id=song.project_id)
        .select_related("user")
        .order_by("user__username"),
        "default_start": start,
        "default_end": start + datetime.timedelta(hours=3),
    }


def _song_context(request: HttpRequest, song: Song, role: str) -> dict[str, Any]:
    project = song.project
    return page_context(
        project,
        role,
        nav="song",
        song=song,
        stage_label=STAGE_LABELS[song.stage],
        credits=song.credits.select_related("user").order_by("role", "id"),
        credit_roles=CreditRole.choices,
        splits=_splits(song),
        samples=song.sample_uses.order_by("id"),
        sample_kinds=SampleKind.choices,
        clearances=Clearance.choices,
        **_sessions_context(song),
        song_tasks=song.tasks.select_related("assignee").order_by("status", "rank"),
        **_stage_context(song, role),
    )


@page
def song_detail(request: HttpRequest, song_id: int) -> HttpResponse:
    if is_htmx(request) and request.GET.get("part") == "head":
        try:
            song_get_for_member(user=request.user, song_id=song_id)
        except NotFound:
            return _deleted_head(request, song_id)
    song = song_get_for_member(user=request.user, song_id=song_id)
    project, role = member_project(request, song.project_id)
    song.project = project  # the row read first carries the seq the page starts from
    ctx = _song_context(request, song, role)
    part = request.GET.get("part")
    if is_htmx(request) and part in {"head", "stage", "credits", "splits", "samples", "sessions"}:
        return render(request, f"studio/_song_{part}.html", ctx)
    return render(request, "studio/song.html", ctx)


def song_part(request: HttpRequest, song: Song, part: str) -> HttpResponse:
    """After a song-page write: the named card, re-read (a full request goes to the page)."""
    song = song_get_for_member(user=request.user, song_id=song.pk)
    _project, role = member_project(request, song.project_id)
    if not is_htmx(request):
        return redirect("song-detail", song.pk)
    return render(request, f"studio/_song_{part}.html", _song_context(request, song, role))


_song_part = song_part


@page
@require_POST
def song_update(request: HttpRequest, song_id: int) -> HttpResponse:
    """Title, key and tempo, edited in place in the song's header (SONG_EDIT)."""
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.SONG_EDIT)
    title = request.POST.get("title", "").strip()
    if not title:
        return form_error(request, Invalid("give the song a title"), "#song-edit-error")
    tempo_raw = request.POST.get("tempo_bpm", "").strip()
    tempo = None
    if tempo_raw:
        number = finite_number(tempo_raw)
        if number is None:
            return form_error(
                request, Invalid(f"'{tempo_raw[:20]}' is not a tempo"), "#song-edit-error"
            )
        tempo = Decimal(str(number)).quantize(Decimal("0.01"))
        if not Decimal("1") <= tempo <= Decimal("999.99"):
            return form_error(
                request, Invalid("the tempo is between 1 and 999.99 BPM"), "#song-edit-error"
            )
    songs.song_update(
        actor=request.user,
        song=song,
        title=title[:200],
        key=request.POST.get("key", "").strip()[:20],
        tempo_bpm=tempo,
    )
    return song_part(request, song, "head")


@page
@require_POST
def song_move(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.SONG_MOVE)
    to = request.POST.get("to", "")
    reason = request.POST.get("reason", "")
    if to in STAGES and not is_forward(song.stage, to) and not reason.strip():
        return form_error(request, Invalid("say why the song goes back"), "#move-back-error")
    override = request.POST.get("override_reason", "")
    if "override_reason" in request.POST and not override.strip():
        return form_error(request, Invalid("say why the song moves on anyway"), "#override-error")
    songs.song_move_stage(
        actor=request.user, song=song, to=to, reason=reason, override_reason=override[:500]
    )
    return _song_part(request, song, "stage")


@page
@require_POST
def credit_add(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.CREDIT_EDIT)
    try:
        credits.credit_add(
            actor=request.user,
            song=song,
            role=request.POST.get("role", ""),
            contributor_name=request.POST.get("contributor_name", "").strip()[:200]
            or request.user.username,
            instrument=request.POST.get("instrument", "").strip()[:100],
        )
    except Invalid as error:
        return form_error(request, error, "#credit-form-error")
    return _song_part(request, song, "credits")


@page
@require_POST
def credit_update(request: HttpRequest, credit_id: int) -> HttpResponse:
    credit = get_object_or_404(Credit.objects.visible_to(request.user), pk=credit_id)
    try:
        credits.credit_update(
            actor=request.user,
            credit=credit,
            role=request.POST.get("role", credit.role),
            contributor_name=request.POST.get("contributor_name", "").strip()[:200]
            or credit.contributor_name,
            instrument=request.POST.get("instrument", "").strip()[:100],
        )
    except Invalid as error:
        return form_error(request, error, f"#credit-{credit.pk}-error")
    return _song_part(request, credit.song, "credits")


@page
@require_POST
def credit_remove(request: HttpRequest, credit_id: int) -> HttpResponse:
    credit = get_object_or_404(Credit.objects.visible_to(request.user), pk=credit_id)
    credits.credit_remove(actor=request.user, credit=credit)
    return _song_part(request, credit.song, "credits")


def _split_rows(data: Any) -> list[dict[str, str]]:
    """The splits form's rows as typed, blank rows left out (the form always ends with one)."""
    rows = []
    for party, share in zip(data.getlist("party"), data.getlist("share"), strict=False):
        if party.strip() or share.strip():
            rows.append({"party": party, "share": share})
    return rows


@page
@require_POST
def splits_set(request: HttpRequest, song_id: int, right: str) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.RIGHTS_EDIT)
    try:
        rights.split_set(
            actor=request.user, song=song, right=right, shares=_split_rows(request.POST)
        )
    except Invalid as error:
        return form_error(request, error, f"#splits-{right}-error")
    return _song_part(request, song, "splits")


@page
@require_GET
def splits_preview(request: HttpRequest, song_id: int, right: str) -> HttpResponse:
    """The splits form's running total and its rows' problems as the person types, read by the
    service's own rules (rights.split_preview), so the page never shows a total it would refuse."""
    song_get_for_member(user=request.user, song_id=song_id, capability=C.RIGHTS_EDIT)
    if right not in Right.values:
        raise Http404("no such right")
    preview = rights.split_preview(shares=_split_rows(request.GET))
    return render(
        request,
        "studio/_song_splits_check.html",
        {
            "total": preview.total,
            "ok": preview.ok,
            "problems": [readable(p.detail) for p in preview.problems],
            "right": right,
        },
    )


@page
@require_POST
def sample_add(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.RIGHTS_EDIT)
    source = request.POST.get("source_work", "").strip()
    if not source:
        return form_error(request, Invalid("name the source work"), "#sample-form-error")
    try:
        rights.sample_use_add(
            actor=request.user,
            song=song,
            source_work=source[:300],
            kind=request.POST.get("kind", "sample"),
            rights_holder=request.POST.get("rights_holder", "")[:300],
            clearance=request.POST.get("clearance", Clearance.PENDING),
        )
    except Invalid as error:
        return form_error(request, error, "#sample-form-error")
    return _song_part(request, song, "samples")


@page
@require_POST
def sample_update(request: HttpRequest, sample_id: int) -> HttpResponse:
    sample = get_object_or_404(SampleUse.objects.visible_to(request.user), pk=sample_id)
    rights.sample_use_update(
        actor=request.user, sample_use=sample, clearance=request.POST.get("clearance", "")
    )
    return _song_part(request, sample.song, "samples")


# --- lifecycle: archive, delete, restore (rename is song_update) --------------------------------
def _deleted_head(request: HttpRequest, song_id: int) -> HttpResponse:
    """The header of a song deleted while its page was open: says so, Undo for producers."""
    song = song_get_deleted_for_member(user=request.user, song_id=song_id)
    project, role = member_project(request, song.project_id)
    left = days_left(song.deleted_at) if song.deleted_at else 0
    ctx = page_context(project, role, song=song, days_left=left)
    return render(request, "studio/_song_head.html", ctx)


def _after_song_lifecycle(request: HttpRequest, song: Song) -> HttpResponse:
    """The song's header when the button sat in it, the dashboard's shelf when it sat there;
    a full request goes to the song, or its project once the song is deleted."""
    target = request.headers.get("HX-Target") if is_htmx(request) else None
    if target == "song-head":
        try:
            return song_part(request, song, "head")
        except NotFound:
            return _deleted_head(request, song.pk)
    if target == "song-shelf":
        project, role = member_project(request, song.project_id)
        ctx = page_context(project, role, **song_shelf(project))
        return render(request, "studio/_song_shelf.html", ctx)
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    if song.deleted_at is not None:
        return redirect("project-dashboard", song.project_id)
    return redirect("song-detail", song.pk)


@page
@require_POST
def song_archive(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.LIFECYCLE)
    return _after_song_lifecycle(request, songs.song_archive(actor=request.user, song=song))


@page
@require_POST
def song_unarchive(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.LIFECYCLE)
    return _after_song_lifecycle(request, songs.song_unarchive(actor=request.user, song=song))


@page
@require_POST
def song_delete(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.LIFECYCLE)
    return _after_song_lifecycle(request, songs.song_delete(actor=request.user, song=song))


@page
@require_POST
def song_restore(request: HttpRequest, song_id: int) -> HttpResponse:
    """Undo a deletion: from the song's header notice or the dashboard's "Recently deleted"."""
    song = song_get_deleted_for_member(user=request.user, song_id=song_id)
    return _after_song_lifecycle(request, songs.song_restore(actor=request.user, song=song))
