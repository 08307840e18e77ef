"""The time page of a project (planned against spent per song and stage, the log form, my
entries and the team's, CSV exports) and the over-budget card at the top of the dashboard.

Thin: reads through timesheets.selectors, writes through timesheets.services; a form's bad value
comes back as its sentence beside the form (200)."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from pages.kit import form_error, int_or_none, is_htmx, member_project, page, page_context
from sessions.models import WorkingSession
from studio.errors import Invalid
from studio.models import Project, Stage, Task
from studio.parsing import calendar_date
from studio.roles import Capability as C
from studio.roles import role_can
from timesheets import exports, selectors, services
from timesheets.models import TimeEntry

# The events after which the time page's and the dashboard card's regions refetch.
TIME_TRIGGERS = (
    ", ".join(
        f"studio:{t} from:body delay:200ms"
        for t in (
            "time-logged",
            "time-updated",
            "time-deleted",
            "task-created",
            "task-updated",
            "task-deleted",
            "section-added",
            "section-updated",
            "section-removed",
            "song-created",
            "song-updated",
            "song-deleted",
            "song-restored",
            "song-archived",
            "song-unarchived",
        )
    )
    + ", studio:resync from:body"
)

_DURATION = re.compile(r"^\s*(\d{1,4})\s*(?::\s*(\d{1,2}))?\s*$")
MINUTES_INVALID = "type the time as minutes (90) or hours and minutes (1:30)"


def parse_minutes(raw: str) -> int:
    """'90' is 90 minutes, '1:30' an hour and a half; a negative or zero goes on to the service
    (whose sentence says why it is refused), anything else is refused here."""
    text = raw.strip()
    negative = text.startswith("-")
    match = _DURATION.match(text[1:] if negative else text)
    if match is None:
        raise Invalid(MINUTES_INVALID, fields={"minutes": [MINUTES_INVALID]})
    hours_or_minutes, rest = match.groups()
    value = int(hours_or_minutes) * 60 + int(rest) if rest is not None else int(hours_or_minutes)
    return -value if negative else value


def _targets(request: HttpRequest, project: Project) -> dict[str, Any]:
    """What a member can log against: the open songs' tasks and working sessions."""
    tasks = (
        Task.objects.visible_to(request.user)
        .filter(project=project, song__archived_at__isnull=True)
        .select_related("song")
        .order_by("song__title", "stage", "title")
    )
    sessions = (
        WorkingSession.objects.visible_to(request.user)
        .filter(project=project, song__archived_at__isnull=True)
        .select_related("song")
        .order_by("-starts_at")[:100]
    )
    return {"log_tasks": list(tasks), "log_sessions": list(sessions)}


def _time_context(request: HttpRequest, project: Project, role: str) -> dict[str, Any]:
    summary = selectors.summary(request.user, project)
    entries = list(selectors.project_entries(request.user, project)[:200])
    mine = [e for e in entries if e.member_id == request.user.pk]
    manager = role_can(role, C.TIME_MANAGE)
    deletable = {e.pk for e in entries if manager or e.member_id == request.user.pk}
    return page_context(
        project,
        role,
        nav="time",
        summary=summary,
        over=[b for b in summary["songs"] if b.song_id in summary["over_budget"]],
        entries=entries,
        mine=mine,
        deletable=deletable,
        stages=Stage.choices,
        today=timezone.localdate(),
        time_triggers=TIME_TRIGGERS,
        **_targets(request, project),
    )


@page
@require_GET
def project_time(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id)
    ctx = _time_context(request, project, role)
    if is_htmx(request) and request.GET.get("part") == "summary":
        return render(request, "timesheets/_summary.html", ctx)
    if is_htmx(request) and request.GET.get("part") == "entries":
        return render(request, "timesheets/_entries.html", ctx)
    return render(request, "timesheets/time.html", ctx)


def _after_write(request: HttpRequest, project: Project, role: str) -> HttpResponse:
    """After a write: the entries fragment (the summary refetches on the event)."""
    if not is_htmx(request):
        return redirect("project-time", project.pk)
    return render(request, "timesheets/_entries.html", _time_context(request, project, role))


@page
@require_POST
def time_log(request: HttpRequest, project_id: int) -> HttpResponse:
    """The log form: one select names the task or session (`task:<id>` / `session:<id>`), and
    the song follows from it."""
    project, role = member_project(request, project_id, C.TIME_LOG)
    target = "#time-form-error"
    kind, _, raw_id = request.POST.get("against", "").partition(":")
    pk = int_or_none(raw_id) or 0
    task = session = None
    if kind == "task":
        task = Task.objects.visible_to(request.user).filter(project=project, pk=pk).first()
    elif kind == "session":
        session = (
            WorkingSession.objects.visible_to(request.user).filter(project=project, pk=pk).first()
        )
    item = task or session
    if item is None:
        return form_error(request, Invalid("choose a task or a working session"), target)
    day = None
    if request.POST.get("spent_on"):
        day = calendar_date(request.POST["spent_on"])
        if day is None:
            return form_error(request, Invalid("the day is not a date"), target)
    try:
        services.time_log(
            actor=request.user,
            song=item.song,
            task=task,
            session=session,
            minutes=parse_minutes(request.POST.get("minutes", "")),
            spent_on=day,
            stage=request.POST.get("stage") or None,
            note=request.POST.get("note", "").strip(),
        )
    except Invalid as error:
        return form_error(request, error, target)
    return _after_write(request, project, role)


def _entry(request: HttpRequest, entry_id: int) -> TimeEntry:
    return get_object_or_404(TimeEntry.objects.visible_to(request.user), pk=entry_id)


@page
@require_POST
def time_entry_update(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Minutes, day, stage and note of one's own entry."""
    entry = _entry(request, entry_id)
    project, role = member_project(request, entry.project_id, C.TIME_LOG)
    target = f"#time-entry-{entry.pk}-error"
    changes: dict[str, Any] = {"note": request.POST.get("note", entry.note).strip()}
    try:
        if "minutes" in request.POST:
            changes["minutes"] = parse_minutes(request.POST["minutes"])
        if request.POST.get("spent_on"):
            day = calendar_date(request.POST["spent_on"])
            if day is None:
                raise Invalid("the day is not a date")
            changes["spent_on"] = day
        if request.POST.get("stage"):
            changes["stage"] = request.POST["stage"]
        services.time_update(actor=request.user, entry=entry, **changes)
    except Invalid as error:
        return form_error(request, error, target)
    return _after_write(request, project, role)


@page
@require_POST
def time_entry_delete(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = _entry(request, entry_id)
    project, role = member_project(request, entry.project_id, C.TIME_LOG)
    services.time_delete(actor=request.user, entry=entry)
    return _after_write(request, project, role)


def _csv_response(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@page
@require_GET
def time_entries_csv(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = member_project(request, project_id)
    body = exports.entries_csv(request.user, project)
    return _csv_response(body, exports.export_name(project, "time-entries"))


@page
@require_GET
def time_summary_csv(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = member_project(request, project_id)
    body = exports.summary_csv(request.user, project)
    return _csv_response(body, exports.export_name(project, "time-summary"))


def over_budget_context(user: Any, project: Project) -> dict[str, Any]:
    """The dashboard card's context (pages/templatetags/time_tags.py renders it there)."""
    return {
        "project": project,
        "over_budget": selectors.over_budget(user, project),
        "time_triggers": TIME_TRIGGERS,
    }


@page
@require_GET
def time_over_budget(request: HttpRequest, project_id: int) -> HttpResponse:
    """The dashboard's over-budget card alone, refetched live."""
    project, _ = member_project(request, project_id)
    return render(
        request, "timesheets/_over_budget.html", over_budget_context(request.user, project)
    )


urlpatterns = [
    path("p/<int:project_id>/time/", project_time, name="project-time"),
    path("p/<int:project_id>/time/log/", time_log, name="time-log"),
    path("p/<int:project_id>/time/entries.csv", time_entries_csv, name="time-entries-csv"),
    path("p/<int:project_id>/time/summary.csv", time_summary_csv, name="time-summary-csv"),
    path("p/<int:project_id>/time/over-budget/", time_over_budget, name="time-over-budget"),
    path("time-entries/<int:entry_id>/edit/", time_entry_update, name="time-entry-update"),
    path("time-entries/<int:entry_id>/delete/", time_entry_delete, name="time-entry-delete"),
]
