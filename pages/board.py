"""Pages: the task board (columns by status, filters, drag and drop, task forms)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pages.kit import (
    form_error,
    int_or_none,
    is_htmx,
    member_project,
    page,
    page_context,
)
from studio.errors import Invalid
from studio.models import (
    Membership,
    Stage,
    Task,
    TaskStatus,
)
from studio.parsing import FIRST_YEAR, LAST_YEAR, calendar_date, whole_number
from studio.roles import Capability as C
from studio.roles import Role
from studio.services import tasks

DUE_DATE_INVALID = f"the due date is not a date between {FIRST_YEAR} and {LAST_YEAR}"
ESTIMATE_INVALID = "the estimate must be a whole number of minutes"


def _estimate(raw: str) -> int | None:
    """The estimate field as typed: empty is none; a negative number goes on to the service,
    whose sentence says why it is refused; anything else that is not digits is refused here."""
    raw = raw.strip()
    if not raw:
        return None
    negative = raw.startswith("-")
    value = whole_number(raw[1:] if negative else raw)
    if value is None:
        raise Invalid(ESTIMATE_INVALID, fields={"estimate_minutes": [ESTIMATE_INVALID]})
    return -value if negative else value


# --- board ----------------------------------------------------------------------------------
def _board_context(request: HttpRequest, project: Any, role: str) -> dict[str, Any]:
    stage = request.GET.get("stage", "")
    assignee = request.GET.get("assignee", "")
    qs = Task.objects.visible_to(request.user).filter(project=project)
    qs = qs.select_related("song", "assignee")
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
    assignable = [m for m in members if m.role != Role.VIEWER]
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
        assignable=assignable,
        songs=project.songs.filter(deleted_at__isnull=True, archived_at__isnull=True).order_by(
            "title"
        ),
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
    song = (
        project.songs.filter(deleted_at__isnull=True)
        .filter(pk=int_or_none(request.POST.get("song")) or 0)
        .first()
    )
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
        due = calendar_date(request.POST["due_date"])
        if due is None:
            return form_error(request, Invalid(DUE_DATE_INVALID), "#task-form-error")
    stage = request.POST.get("stage") or None
    try:
        estimate = _estimate(request.POST.get("estimate_minutes", ""))
        tasks.task_create(
            actor=request.user,
            song=song,
            title=title[:200],
            description=request.POST.get("description", "").strip(),
            stage=stage,
            assignee=assignee,
            due_date=due,
            status=request.POST.get("status") or TaskStatus.TODO,
            estimate_minutes=estimate,
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
    """Title, description, stage, assignee, due date and estimate of a card, edited in place."""
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
        due = calendar_date(request.POST["due_date"])
        if due is None:
            return form_error(request, Invalid(DUE_DATE_INVALID), target)
    extra: dict[str, Any] = {}
    try:
        if "estimate_minutes" in request.POST:  # a form without the field keeps the estimate
            extra["estimate_minutes"] = _estimate(request.POST["estimate_minutes"])
        tasks.task_update(
            actor=request.user,
            task=task,
            title=title[:200],
            description=request.POST.get("description", "").strip(),
            stage=request.POST.get("stage") or task.stage,
            assignee=assignee,
            due_date=due,
            **extra,
        )
    except Invalid as error:
        return form_error(request, error, target)
    if not is_htmx(request):
        return redirect("project-board", project.pk)
    return _board_response(request, project)


@page
@require_POST
def task_delete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.visible_to(request.user), pk=task_id)
    project, _ = member_project(request, task.project_id, C.TASK_EDIT)
    tasks.task_delete(actor=request.user, task=task)
    if not is_htmx(request):
        return redirect("project-board", project.pk)
    return _board_response(request, project)
