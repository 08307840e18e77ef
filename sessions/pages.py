"""Pages of the live room (owned by the front end): the player's comment threads and review
panel. Writes call sessions.services; htmx gets the refreshed fragment back, and everyone else
refetches it when the event arrives (handlers are idempotent: a refetch, never an append)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST

from audio.models import Mix
from sessions import services
from sessions.models import Approval, Comment
from studio.errors import Invalid, NotFound
from studio.pagekit import clock, form_error, int_or_none, member_project, page, page_context
from studio.roles import Capability as C


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
    mine = latest.get(request.user.pk)
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
    try:
        if ":" in raw:
            minutes, seconds = raw.split(":", 1)
            return int(minutes) * 60 + float(seconds)
        return float(raw)
    except ValueError:
        raise Invalid(f"'{raw}' is not a time (use 1:23)") from None


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
        return form_error(request, error, target)
    return _fragment(request, mix, "comments")


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
    return _fragment(request, _mix_for(request, comment.mix_id), "comments")


@page
@require_POST
def comment_reopen(request: HttpRequest, comment_id: int) -> HttpResponse:
    comment = _comment_for(request, comment_id)
    services.comment_reopen(actor=request.user, comment=comment)
    return _fragment(request, _mix_for(request, comment.mix_id), "comments")


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


urlpatterns = [
    path("mixes/<int:mix_id>/comments/", mix_comments, name="mix-comments"),
    path("mixes/<int:mix_id>/review/", mix_review, name="mix-review"),
    path("comments/<int:comment_id>/resolve/", comment_resolve, name="comment-resolve"),
    path("comments/<int:comment_id>/reopen/", comment_reopen, name="comment-reopen"),
]
