"""Server-rendered pages of the core domain: project list, dashboard, board, song, members.

Thin: every read goes through a member-scoped selector, every write through a service; htmx
requests get the page's fragment (templates/studio/_*.html), full requests the page.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from sessions.models import Event
from studio.activity import describe
from studio.errors import Invalid
from studio.gates import STAGES, is_forward, song_can_enter_stage
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
    Task,
    TaskStatus,
)
from studio.pagekit import (
    form_error,
    int_or_none,
    is_htmx,
    member_project,
    page,
    page_context,
)
from studio.parsing import whole_number
from studio.roles import Capability as C
from studio.roles import Role
from studio.selectors import song_facts, song_get_for_member
from studio.services import credits, projects, rights, songs, tasks

STAGE_LABELS = dict(Stage.choices)


# --- projects -------------------------------------------------------------------------------
@page
def project_list(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user_id=request.user.pk or 0)
        .select_related("project")
        .order_by("project__name")
    )
    rows = []
    for m in memberships:
        counts = dict.fromkeys(Stage.values, 0)
        for stage in m.project.songs.values_list("stage", flat=True):
            counts[stage] += 1
        rows.append({"membership": m, "project": m.project, "songs": sum(counts.values())})
    return render(request, "studio/project_list.html", {"rows": rows})


@page
@require_POST
def project_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    if not name:
        return form_error(request, Invalid("name the project"), "#project-form-error")
    project = projects.project_create(
        actor=request.user, name=name[:200], description=request.POST.get("description", "")
    )
    response = HttpResponse(status=204)
    response["HX-Redirect"] = f"/p/{project.pk}/"
    if not is_htmx(request):
        return redirect("project-dashboard", project.pk)
    return response


def _songs_by_stage(project: Any) -> list[dict[str, Any]]:
    columns = []
    all_songs = list(project.songs.order_by("title"))
    for value, label in Stage.choices:
        items = []
        for song in (s for s in all_songs if s.stage == value):
            index = STAGES.index(song.stage)
            nxt = STAGES[index + 1] if index + 1 < len(STAGES) else None
            reasons = song_can_enter_stage(song_facts(song), nxt) if nxt else []
            items.append(
                {
                    "song": song,
                    "next": nxt,
                    "next_label": STAGE_LABELS.get(nxt or ""),
                    "reasons": reasons,
                }
            )
        columns.append({"stage": value, "label": label, "items": items})
    return columns


def _activity(project: Any, limit: int = 15) -> list[Any]:
    events = list(
        Event.objects.filter(project=project).select_related("actor").order_by("-seq")[: limit * 2]
    )
    return describe(events)[:limit]


@page
def project_dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    part = request.GET.get("part")
    ctx = page_context(project, role, nav="dashboard")
    if is_htmx(request) and part == "songs":
        return render(request, "studio/_pipeline.html", ctx | {"columns": _songs_by_stage(project)})
    if is_htmx(request) and part == "activity":
        return render(request, "studio/_activity.html", ctx | {"activity": _activity(project)})
    members = Membership.objects.filter(project=project).select_related("user").order_by("role")
    return render(
        request,
        "studio/dashboard.html",
        ctx
        | {
            "columns": _songs_by_stage(project),
            "activity": _activity(project),
            "members": members,
            "open_tasks": Task.objects.filter(project=project).exclude(status="done").count(),
        },
    )


@page
@require_POST
def song_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = member_project(request, project_id, C.SONG_EDIT)
    title = request.POST.get("title", "").strip()
    if not title:
        return form_error(request, Invalid("give the song a title"), "#song-form-error")
    song = songs.song_create(
        actor=request.user,
        project=project,
        title=title[:200],
        key=request.POST.get("key", "")[:20],
    )
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = f"/songs/{song.pk}/"
        return response
    return redirect("song-detail", song.pk)


# --- board ----------------------------------------------------------------------------------
def _board_context(request: HttpRequest, project: Any, role: str) -> dict[str, Any]:
    stage = request.GET.get("stage", "")
    assignee = request.GET.get("assignee", "")
    qs = Task.objects.filter(project=project).select_related("song", "assignee")
    if stage in Stage.values:
        qs = qs.filter(stage=stage)
    if assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif whole_number(assignee) is not None:
        qs = qs.filter(assignee_id=whole_number(assignee))
    today = timezone.localdate()
    by_status: dict[str, list[Task]] = {s: [] for s in TaskStatus.values}
    for task in qs.order_by("rank", "id"):
        task.is_late = bool(task.due_date and task.due_date < today and task.status != "done")
        by_status[task.status].append(task)
    members = list(
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )
    query = request.GET.urlencode()
    return page_context(
        project,
        role,
        nav="board",
        columns=[
            {"status": value, "label": label, "tasks": by_status[value]}
            for value, label in TaskStatus.choices
        ],
        statuses=TaskStatus.choices,
        stages=Stage.choices,
        members=members,
        songs=project.songs.order_by("title"),
        filter_stage=stage,
        filter_assignee=assignee,
        board_url=f"/p/{project.pk}/board/" + (f"?{query}" if query else ""),
        today=today,
    )


@page
def project_board(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    ctx = _board_context(request, project, role)
    if is_htmx(request):
        return render(request, "studio/_board.html", ctx)
    return render(request, "studio/board.html", ctx)


def _board_response(request: HttpRequest, project: Any) -> HttpResponse:
    """After a board write: the board fragment, filtered like the page that asked."""
    from urllib.parse import parse_qs, urlparse

    current = request.headers.get("HX-Current-URL", "")
    params = parse_qs(urlparse(current).query)
    query = request.GET.copy()
    for key in ("stage", "assignee"):
        if params.get(key):
            query[key] = params[key][0]
    request.GET = query  # type: ignore[assignment]  # the board reads its filters from GET
    role = project.memberships.filter(user=request.user).values_list("role", flat=True).first()
    return render(request, "studio/_board.html", _board_context(request, project, role or ""))


@page
@require_POST
def task_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = member_project(request, project_id, C.TASK_EDIT)
    song = project.songs.filter(pk=int_or_none(request.POST.get("song")) or 0).first()
    if song is None:
        return form_error(request, Invalid("choose a song"), "#task-form-error")
    title = request.POST.get("title", "").strip()
    if not title:
        return form_error(request, Invalid("give the task a title"), "#task-form-error")
    assignee = None
    if request.POST.get("assignee"):
        assignee = (
            get_user_model().objects.filter(pk=int_or_none(request.POST["assignee"]) or 0).first()
        )
    due = None
    if request.POST.get("due_date"):
        try:
            due = datetime.date.fromisoformat(request.POST["due_date"])
        except ValueError:
            return form_error(request, Invalid("the due date is not a date"), "#task-form-error")
    stage = request.POST.get("stage") or None
    try:
        tasks.task_create(
            actor=request.user,
            song=song,
            title=title[:200],
            stage=stage,
            assignee=assignee,
            due_date=due,
            status=request.POST.get("status") or TaskStatus.TODO,
        )
    except Invalid as error:
        return form_error(request, error, "#task-form-error")
    if not is_htmx(request):
        return redirect("project-board", project.pk)
    return _board_response(request, project)


@page
@require_POST
def task_move(request: HttpRequest, task_id: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.visible_to(request.user), pk=task_id)
    project, _ = member_project(request, task.project_id, C.TASK_MOVE)
    status = request.POST.get("status", "")
    rank = int_or_none(request.POST.get("rank"))
    tasks.task_move(actor=request.user, task=task, status=status, rank=rank)
    if not is_htmx(request):
        return redirect("project-board", project.pk)
    return _board_response(request, project)


@page
@require_POST
def task_update(request: HttpRequest, task_id: int) -> HttpResponse:
    """Title, assignee and due date of a card, edited in place (TASK_EDIT)."""
    task = get_object_or_404(Task.objects.visible_to(request.user), pk=task_id)
    project, _ = member_project(request, task.project_id, C.TASK_EDIT)
    target = f"#task-{task.pk}-error"
    title = request.POST.get("title", "").strip()
    if not title:
        return form_error(request, Invalid("give the task a title"), target)
    assignee = None
    if request.POST.get("assignee"):
        assignee = (
            get_user_model().objects.filter(pk=int_or_none(request.POST["assignee"]) or 0).first()
        )
        if assignee is None:
            return form_error(request, Invalid("choose a member"), target)
    due = None
    if request.POST.get("due_date"):
        try:
            due = datetime.date.fromisoformat(request.POST["due_date"])
        except ValueError:
            return form_error(request, Invalid("the due date is not a date"), target)
    try:
        tasks.task_update(
            actor=request.user, task=task, title=title[:200], assignee=assignee, due_date=due
        )
    except Invalid as error:
        return form_error(request, error, target)
    if not is_htmx(request):
        return redirect("project-board", project.pk)
    return _board_response(request, project)


# --- song -----------------------------------------------------------------------------------
def _stage_context(song: Song, role: str) -> dict[str, Any]:
    facts = song_facts(song)
    index = STAGES.index(song.stage)
    nxt = STAGES[index + 1] if index + 1 < len(STAGES) else None
    reasons = song_can_enter_stage(facts, nxt) if nxt else []
    # Every condition of the next gate, met or not, so the checklist reads as a checklist.
    checklist: list[tuple[str, bool]] = []
    if nxt in ("mastering", "delivered"):
        checklist.append(("an approved mix", facts.has_approved_mix))
    if nxt == "delivered":
        checklist += [
            ("an approved master", facts.has_approved_master),
            (
                "composition splits total 100.00",
                facts.split_totals.get("composition") == Decimal("100.00"),
            ),
            (
                "master recording splits total 100.00",
                facts.split_totals.get("master") == Decimal("100.00"),
            ),
            ("no sample use pending or denied", facts.pending_or_denied_samples == 0),
            ("a composer credited", facts.composer_credits > 0),
            ("a performer credited", facts.performer_credits > 0),
        ]
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
    from audio.models import Take
    from sessions.models import SessionKind, WorkingSession

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
    tempo_raw = request.POST.get("tempo_bpm", "").strip().replace(",", ".")
    tempo = None
    if tempo_raw:
        try:
            tempo = Decimal(tempo_raw).quantize(Decimal("0.01"))
        except InvalidOperation:
            return form_error(request, Invalid(f"'{tempo_raw}' is not a tempo"), "#song-edit-error")
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
    songs.song_move_stage(actor=request.user, song=song, to=to, reason=reason)
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


@page
@require_POST
def splits_set(request: HttpRequest, song_id: int, right: str) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.RIGHTS_EDIT)
    parties = request.POST.getlist("party")
    shares = request.POST.getlist("share")
    rows = []
    for party, share in zip(parties, shares, strict=False):
        if not party.strip() and not share.strip():
            continue
        try:
            Decimal(share or "x")
        except InvalidOperation:
            return form_error(
                request, Invalid(f"'{share}' is not a number"), f"#splits-{right}-error"
            )
        rows.append({"party": party, "share": share})
    try:
        rights.split_set(actor=request.user, song=song, right=right, shares=rows)
    except Invalid as error:
        return form_error(request, error, f"#splits-{right}-error")
    return _song_part(request, song, "splits")


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


# --- members --------------------------------------------------------------------------------
def _members_context(project: Any, role: str) -> dict[str, Any]:
    members = (
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )
    return page_context(project, role, nav="members", members=members, roles=Role.choices)


@page
def project_members(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    ctx = _members_context(project, role)
    if is_htmx(request):
        return render(request, "studio/_members.html", ctx)
    return render(request, "studio/members.html", ctx)


@page
@require_POST
def member_add(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.MEMBERS_MANAGE)
    try:
        projects.member_add(
            actor=request.user,
            project=project,
            username=request.POST.get("username", "").strip(),
            role=request.POST.get("role", ""),
        )
    except Invalid as error:
        return form_error(request, error, "#member-form-error")
    if not is_htmx(request):
        return redirect("project-members", project.pk)
    return render(request, "studio/_members.html", _members_context(project, role))


@page
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.visible_to(request.user), pk=membership_id)
    project, role = member_project(request, membership.project_id, C.MEMBERS_MANAGE)
    projects.member_set_role(
        actor=request.user, membership=membership, role=request.POST.get("role", "")
    )
    if not is_htmx(request):
        return redirect("project-members", project.pk)
    return render(request, "studio/_members.html", _members_context(project, role))


@page
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.visible_to(request.user), pk=membership_id)
    project, role = member_project(request, membership.project_id, C.MEMBERS_MANAGE)
    projects.member_remove(actor=request.user, membership=membership)
    if not is_htmx(request):
        return redirect("project-members", project.pk)
    return render(request, "studio/_members.html", _members_context(project, role))
