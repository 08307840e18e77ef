"""Pages: the project list, a new project, the dashboard (songs by stage, presence, activity)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from eventlog.models import Event
from pages.activity import describe
from pages.kit import (
    form_error,
    is_htmx,
    member_project,
    page,
    page_context,
)
from studio.errors import Invalid
from studio.gates import PROJECT_CHECKS, STAGES, song_can_enter_stage
from studio.models import (
    Membership,
    Stage,
    Task,
)
from studio.roles import Capability as C
from studio.selectors import song_facts
from studio.services import projects, songs

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
            "gate_options": sorted(PROJECT_CHECKS.items()),
            "columns": _songs_by_stage(project),
            "activity": _activity(project),
            "members": members,
            "open_tasks": Task.objects.filter(project=project).exclude(status="done").count(),
        },
    )


@page
@require_POST
def project_gates(request: HttpRequest, project_id: int) -> HttpResponse:
    """The checks this project adds to its stage gates (PROJECT_EDIT)."""
    project, role = member_project(request, project_id, C.PROJECT_EDIT)
    chosen = [name for name in request.POST.getlist("gate_checks") if name]
    try:
        project = projects.project_update(actor=request.user, project=project, gate_checks=chosen)
    except Invalid as error:
        return form_error(request, error, "#gate-settings-error")
    if not is_htmx(request):
        return redirect("project-dashboard", project.pk)
    ctx = page_context(project, role, gate_options=sorted(PROJECT_CHECKS.items()), saved=True)
    return render(request, "studio/_gate_settings.html", ctx)


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
