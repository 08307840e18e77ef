"""Pages of the review room: the player's comment threads and review
panel. Writes call sessions.services; htmx gets the refreshed fragment back, and everyone else
refetches it when the event arrives (handlers are idempotent: a refetch, never an append)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from audio.models import Mix, Take
from pages.kit import (
    clock,
    form_error,
    int_or_none,
    is_htmx,
    member_project,
    page,
    page_context,
)
from pages.song import song_part
from sessions import services
from sessions.models import Approval, Comment, WorkingSession
from studio.errors import Invalid, NotFound
from studio.parsing import FIRST_YEAR, LAST_YEAR, finite_number, local_datetime, whole_number
from studio.roles import Capability as C
from studio.selectors import song_get_for_member


def _mix_for(request: HttpRequest, mix_id: int) -> Mix:
    try:
        return Mix.objects.visible_to(request.user).select_related("song", "asset").get(pk=mix_id)
    except Mix.DoesNotExist:
        raise NotFound("mix not found") from None


def comments_context(request: HttpRequest, mix: Mix) -> dict[str, Any]:
    rows = list(
        Comment.objects.filter(mix=mix)
        .select_related("author", "resolved_by")
        .order_by("start_s", "id")
    )
    roots = [c for c in rows if c.parent_id is None]
    replies: dict[int, list[Comment]] = {}
    for c in sorted(rows, key=lambda c: c.id):
        if c.parent_id is not None:
            replies.setdefault(c.parent_id, []).append(c)
    for c in roots:
        c.thread = replies.get(c.pk, [])
        c.at = clock(c.start_s) if c.start_s is not None else ""
        c.until = clock(c.end_s) if c.end_s is not None else ""
    show_resolved = request.GET.get("resolved") != "hide"
    return {
        "comments": roots,
        "open_count": sum(1 for c in roots if c.resolved_at is None and c.deleted_at is None),
        "show_resolved": show_resolved,
    }


def review_context(request: HttpRequest, mix: Mix, role: str) -> dict[str, Any]:
    state = services.approval_state(mix)
    latest: dict[int, Approval] = {}
    for approval in Approval.objects.filter(mix=mix).select_related("reviewer").order_by("id"):
        latest[approval.reviewer_id] = approval
    mine = latest.get(request.user.pk or 0)
    return {
        "approval": state,
        "verdicts": sorted(latest.values(), key=lambda a: a.reviewer.username),
        "my_verdict": mine.get_verdict_display() if mine else "",
    }


def _fragment(request: HttpRequest, mix: Mix, name: str) -> HttpResponse:
    project, role = member_project(request, mix.project_id)
    ctx = page_context(project, role, mix=mix, song=mix.song)
    ctx |= comments_context(request, mix) if name == "comments" else {}
    ctx |= review_context(request, mix, role) if name == "review" else {}
    return render(request, f"audio/_{name}.html", ctx)


@page
def mix_comments(request: HttpRequest, mix_id: int) -> HttpResponse:
    mix = _mix_for(request, mix_id)
    if request.method == "POST":
        return _comment_add(request, mix)
    return _fragment(request, mix, "comments")


def _seconds(raw: str | None) -> float | None:
    """ "42", "42.5" or "0:42" -> seconds; "" -> None."""
    raw = (raw or "").strip()
    if not raw:
        return None
    minutes, _, seconds = raw.rpartition(":") if ":" in raw else ("0", "", raw)
    whole_minutes = whole_number(minutes)
    value = finite_number(seconds)
    if whole_minutes is None or value is None or value < 0 or (":" in raw and value >= 60):
        raise Invalid(f"'{raw[:20]}' is not a time (use 1:23)")
    return whole_minutes * 60 + value


def _comment_add(request: HttpRequest, mix: Mix) -> HttpResponse:
    member_project(request, mix.project_id, C.COMMENT)
    parent = None
    parent_id = int_or_none(request.POST.get("parent"))
    target = f"#reply-error-{parent_id}" if parent_id else "#comment-form-error"
    try:
        if parent_id:
            parent = Comment.objects.filter(mix=mix, pk=parent_id).first()
            if parent is None:
                raise NotFound("comment not found")
        start = None if parent else _seconds(request.POST.get("start"))
        end = None if parent else _seconds(request.POST.get("end"))
        services.comment_add(
            actor=request.user,
            body=request.POST.get("body", ""),
            mix=mix,
            start_s=start,
            end_s=end,
            parent=parent,
        )
    except Invalid as error:
        return _comment_error(request, error, target)
    return _fragment(request, mix, "comments")


def _comment_error(request: HttpRequest, error: Invalid, target: str) -> HttpResponse:
    """The sentence in the form's slot. A mention of no member is a 400, not a slip to correct
    in passing: the author believes someone will be told, and nobody would be (htmx swaps a 4xx
    into the slot all the same)."""
    response = form_error(request, error, target)
    if error.code in ("unknown_mention", "ambiguous_mention"):
        response.status_code = 400
    return response


def _comment_for(request: HttpRequest, comment_id: int) -> Comment:
    try:
        return Comment.objects.visible_to(request.user).select_related("mix").get(pk=comment_id)
    except Comment.DoesNotExist:
        raise NotFound("comment not found") from None


@page
@require_POST
def comment_resolve(request: HttpRequest, comment_id: int) -> HttpResponse:
    comment = _comment_for(request, comment_id)
    services.comment_resolve(actor=request.user, comment=comment)
    return _fragment(request, _mix_for(request, comment.mix_id or 0), "comments")


@page
@require_POST
def comment_reopen(request: HttpRequest, comment_id: int) -> HttpResponse:
    comment = _comment_for(request, comment_id)
    services.comment_reopen(actor=request.user, comment=comment)
    return _fragment(request, _mix_for(request, comment.mix_id or 0), "comments")


@page
@require_POST
def comment_edit(request: HttpRequest, comment_id: int) -> HttpResponse:
    """The author changes the text (the service refuses anyone else with 403)."""
    comment = _comment_for(request, comment_id)
    try:
        body = request.POST.get("body", "")
        services.comment_edit(actor=request.user, comment=comment, body=body)
    except Invalid as error:
        return _comment_error(request, error, f"#comment-{comment.pk}-edit-error")
    return _fragment(request, _mix_for(request, comment.mix_id or 0), "comments")


@page
@require_POST
def comment_delete(request: HttpRequest, comment_id: int) -> HttpResponse:
    comment = _comment_for(request, comment_id)
    services.comment_delete(actor=request.user, comment=comment)
    return _fragment(request, _mix_for(request, comment.mix_id or 0), "comments")


@page
def mix_review(request: HttpRequest, mix_id: int) -> HttpResponse:
    mix = _mix_for(request, mix_id)
    if request.method == "POST":
        member_project(request, mix.project_id, C.MIX_APPROVE)
        try:
            services.approval_give(
                actor=request.user,
                verdict=request.POST.get("verdict", ""),
                mix=mix,
                note=request.POST.get("note", ""),
            )
        except Invalid as error:
            return form_error(request, error, "#review-form-error")
        mix.refresh_from_db()
    return _fragment(request, mix, "review")


# --- working sessions and keeper takes (the song page's "Working sessions" card) --------------
def _session_for(request: HttpRequest, session_id: int) -> WorkingSession:
    try:
        return WorkingSession.objects.visible_to(request.user).get(pk=session_id)
    except WorkingSession.DoesNotExist:
        raise NotFound("session not found") from None


def _take_for(request: HttpRequest, take_id: Any) -> Take:
    take = Take.objects.visible_to(request.user).filter(pk=int_or_none(take_id)).first()
    if take is None:
        raise NotFound("take not found")
    return take


def _when(raw: str | None, label: str) -> datetime.datetime:
    """A datetime-local value ("2030-01-31T10:00") in the project's time zone."""
    raw = (raw or "").strip()
    if not raw:
        raise Invalid(f"give the {label} date and time")
    value = local_datetime(raw)
    if value is None:
        raise Invalid(f"the {label} is not a date and time between {FIRST_YEAR} and {LAST_YEAR}")
    return timezone.make_aware(value, timezone.get_current_timezone())


def _session_fields(request: HttpRequest) -> dict[str, Any]:
    starts = _when(request.POST.get("starts_at"), "start")
    ends = _when(request.POST.get("ends_at"), "end")
    if ends <= starts:
        raise Invalid("the session must end after it starts")
    participants = [int_or_none(v) for v in request.POST.getlist("participants")]
    return {
        "kind": request.POST.get("kind", ""),
        "starts_at": starts,
        "ends_at": ends,
        "participants": [p for p in participants if p is not None],
        "notes": request.POST.get("notes", "").strip(),
    }


def _readable(error: Invalid) -> Invalid:
    """Service sentences name API fields ("ends_at: ..."); the form says start and end."""
    detail = error.detail.replace("starts_at", "start").replace("ends_at", "end")
    return Invalid(detail, code=error.code, fields=error.fields)


def _sessions_response(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id)
    if not is_htmx(request):
        return redirect("song-detail", song.pk)
    return song_part(request, song, "sessions")


@page
@require_POST
def session_schedule(request: HttpRequest, song_id: int) -> HttpResponse:
    song = song_get_for_member(user=request.user, song_id=song_id, capability=C.SESSION_EDIT)
    try:
        services.session_schedule(actor=request.user, song=song, **_session_fields(request))
    except Invalid as error:
        return form_error(request, _readable(error), "#session-form-error")
    return _sessions_response(request, song.pk)


@page
@require_POST
def session_update(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    member_project(request, session.project_id, C.SESSION_EDIT)
    try:
        services.session_update(actor=request.user, session=session, **_session_fields(request))
    except Invalid as error:
        return form_error(request, _readable(error), f"#session-{session.pk}-error")
    return _sessions_response(request, session.song_id)


@page
@require_POST
def session_cancel(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    song_id = session.song_id
    services.session_delete(actor=request.user, session=session)
    return _sessions_response(request, song_id)


@page
@require_POST
def session_take_add(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    member_project(request, session.project_id, C.SESSION_EDIT)
    try:
        take = _take_for(request, request.POST.get("take"))
        services.session_add_take(actor=request.user, session=session, take=take)
    except (Invalid, NotFound) as error:
        return form_error(request, Invalid(error.detail), f"#session-{session.pk}-error")
    return _sessions_response(request, session.song_id)


@page
@require_POST
def session_take_remove(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_for(request, session_id)
    member_project(request, session.project_id, C.SESSION_EDIT)
    take = _take_for(request, request.POST.get("take"))
    services.session_remove_take(actor=request.user, session=session, take=take)
    return _sessions_response(request, session.song_id)


@page
@require_POST
def take_keeper(request: HttpRequest, take_id: int) -> HttpResponse:
    """Mark (is_keeper=1) or unmark (is_keeper=0) the keeper take of its part."""
    take = _take_for(request, take_id)
    keep = request.POST.get("is_keeper", "1") not in ("0", "false", "")
    services.take_set_keeper(actor=request.user, take=take, is_keeper=keep)
    return _sessions_response(request, take.song_id)


urlpatterns = [
    path("mixes/<int:mix_id>/comments/", mix_comments, name="mix-comments"),
    path("mixes/<int:mix_id>/review/", mix_review, name="mix-review"),
    path("comments/<int:comment_id>/resolve/", comment_resolve, name="comment-resolve"),
    path("comments/<int:comment_id>/reopen/", comment_reopen, name="comment-reopen"),
    path("comments/<int:comment_id>/edit/", comment_edit, name="comment-edit"),
    path("comments/<int:comment_id>/delete/", comment_delete, name="comment-delete"),
    path("songs/<int:song_id>/sessions/", session_schedule, name="session-schedule"),
    path("sessions/<int:session_id>/", session_update, name="session-update"),
    path("sessions/<int:session_id>/cancel/", session_cancel, name="session-cancel"),
    path("sessions/<int:session_id>/takes/add/", session_take_add, name="session-take-add"),
    path(
        "sessions/<int:session_id>/takes/remove/", session_take_remove, name="session-take-remove"
    ),
    path("takes/<int:take_id>/keeper/", take_keeper, name="take-keeper"),
]
