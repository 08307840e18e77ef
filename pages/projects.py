"""Pages: the project list, a new project, the dashboard (songs by stage, presence, activity),
and a project's lifecycle: rename, archive, delete and its undo."""

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
from studio.errors import Invalid, NotFound
from studio.gates import PROJECT_CHECK_LEAVES, PROJECT_CHECKS, STAGES, song_can_enter_stage
from studio.models import (
    Membership,
    Stage,
    Task,
)
from studio.roles import Capability as C
from studio.roles import Role
from studio.selectors import (
    days_left,
    member_role,
    project_get_deleted_for_member,
    project_lists_for_member,
    song_facts,
    song_lists_for_project,
)
from studio.services import projects, songs

STAGE_LABELS = dict(Stage.choices)


# --- projects -------------------------------------------------------------------------------
@page
def project_list(request: HttpRequest) -> HttpResponse:
    """Active projects, then "Archived", then the producer's "Recently deleted" (Restore)."""
    lists = project_lists_for_member(user=request.user)
    roles = dict(
        Membership.objects.filter(user_id=request.user.pk or 0).values_list("project_id", "role")
    )

    def rows(items: list[Any]) -> list[dict[str, Any]]:
        return [{"project": p, "role": Role(roles[p.pk]).label} for p in items if p.pk in roles]

    return render(
        request,
        "studio/project_list.html",
        {
            "rows": rows(lists["active"]),
            "archived_rows": rows(lists["archived"]),
            "deleted": lists["deleted"],
        },
    )


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
    """The pipeline: the project's active songs (archived and deleted ones are listed apart)."""
    columns = []
    all_songs = song_lists_for_project(project=project)["active"]
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


def song_shelf(project: Any) -> dict[str, Any]:
    """The dashboard's archived songs and (shown to producers) recently deleted ones."""
    lists = song_lists_for_project(project=project)
    return {"archived_songs": lists["archived"], "deleted_songs": lists["deleted"]}


def _head_context(request: HttpRequest, project: Any, role: str) -> dict[str, Any]:
    left = days_left(project.deleted_at) if project.deleted_at is not None else 0
    return page_context(project, role, nav="dashboard", days_left=left) | {
        "open_tasks": Task.objects.visible_to(request.user)
        .filter(project=project)
        .exclude(status="done")
        .count()
    }


def _deleted_head(request: HttpRequest, project_id: int) -> HttpResponse:
    """The header of a project deleted while its page was open: says so, Undo for producers."""
    project = project_get_deleted_for_member(user=request.user, project_id=project_id)
    role = member_role(user=request.user, project_id=project.pk) or ""
    return render(request, "studio/_project_head.html", _head_context(request, project, role))


@page
def project_dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    part = request.GET.get("part")
    if is_htmx(request) and part == "head":
        try:
            project, role = member_project(request, project_id)
        except NotFound:
            return _deleted_head(request, project_id)
        return render(request, "studio/_project_head.html", _head_context(request, project, role))
    project, role = member_project(request, project_id)
    ctx = page_context(project, role, nav="dashboard")
    if is_htmx(request) and part == "songs":
        return render(request, "studio/_pipeline.html", ctx | {"columns": _songs_by_stage(project)})
    if is_htmx(request) and part == "shelf":
        return render(request, "studio/_song_shelf.html", ctx | song_shelf(project))
    if is_htmx(request) and part == "activity":
        return render(request, "studio/_activity.html", ctx | {"activity": _activity(project)})
    members = Membership.objects.filter(project=project).select_related("user").order_by("role")
    return render(
        request,
        "studio/dashboard.html",
        ctx
        | {
            "gate_options": _gate_options(),
            "columns": _songs_by_stage(project),
            "activity": _activity(project),
            "members": members,
        }
        | _head_context(request, project, role)
        | song_shelf(project),
    )


def _gate_options() -> list[tuple[str, str, str]]:
    """The checks a project may add: (name, what it asks, the stage a song leaves after it)."""
    return [
        (name, label, STAGE_LABELS[PROJECT_CHECK_LEAVES[name]].lower())
        for name, label in sorted(PROJECT_CHECKS.items())
    ]


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
    ctx = page_context(project, role, gate_options=_gate_options(), saved=True)
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


# --- lifecycle: rename, archive, delete, restore -----------------------------------------------
def _after_lifecycle(request: HttpRequest, project_id: int) -> HttpResponse:
    """The dashboard's header re-read when the form sat in it; otherwise (the project list)
    the list again. A full request goes to the dashboard or, once deleted, the list."""
    if is_htmx(request) and request.headers.get("HX-Target") == "project-head":
        try:
            project, role = member_project(request, project_id)
        except NotFound:
            return _deleted_head(request, project_id)
        return render(request, "studio/_project_head.html", _head_context(request, project, role))
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    try:
        member_project(request, project_id)
    except NotFound:
        return redirect("project-list")
    return redirect("project-dashboard", project_id)


@page
@require_POST
def project_update(request: HttpRequest, project_id: int) -> HttpResponse:
    """Rename the project and edit its description (PROJECT_EDIT)."""
    project, _ = member_project(request, project_id, C.PROJECT_EDIT)
    name = request.POST.get("name", "").strip()
    description = request.POST.get("description", "").strip()
    if not name:
        return form_error(request, Invalid("name the project"), "#project-edit-error")
    if len(name) > 200:
        return form_error(
            request, Invalid("the name is at most 200 characters"), "#project-edit-error"
        )
    if len(description) > 5000:
        return form_error(
            request, Invalid("the description is at most 5000 characters"), "#project-edit-error"
        )
    projects.project_update(actor=request.user, project=project, name=name, description=description)
    return _after_lifecycle(request, project.pk)


@page
@require_POST
def project_archive(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = member_project(request, project_id, C.LIFECYCLE)
    projects.project_archive(actor=request.user, project=project)
    return _after_lifecycle(request, project.pk)


@page
@require_POST
def project_unarchive(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = member_project(request, project_id, C.LIFECYCLE)
    projects.project_unarchive(actor=request.user, project=project)
    return _after_lifecycle(request, project.pk)


@page
@require_POST
def project_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = member_project(request, project_id, C.LIFECYCLE)
    projects.project_delete(actor=request.user, project=project)
    return _after_lifecycle(request, project.pk)


@page
@require_POST
def project_restore(request: HttpRequest, project_id: int) -> HttpResponse:
    """Undo a deletion (the dashboard's notice, or the list's "Recently deleted")."""
    project = project_get_deleted_for_member(user=request.user, project_id=project_id)
    projects.project_restore(actor=request.user, project=project)
    return _after_lifecycle(request, project.pk)
