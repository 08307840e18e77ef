"""The team's page of review links (`/p/<id>/review-links/`): send a version to a
listener, see per link when it was opened, how many plays, how far they listened and their
comments (live: the region refetches on the links' events), revoke, and trace a file found in
the wild. Thin: reads through reviewlinks.selectors, writes through reviewlinks.services."""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audio.models import Master, Mix
from pages.audio import register_song_files
from pages.kit import member_project, page, page_context
from reviewlinks import selectors, services
from reviewlinks.models import ReviewLink, ReviewSettings
from studio.errors import Forbidden, Invalid, NotFound
from studio.roles import Capability as C
from studio.selectors import require_capability

EXPIRY_CHOICES = {"": None, "1": 1, "7": 7, "30": 30, "90": 90}


def song_review_copies(song: Any, user: Any) -> list[dict[str, Any]]:
    """The song's watermarked review copies with their recipient, for the song's Audio panel:
    only for those who may send links (the others never learn who received one)."""
    try:
        require_capability(
            user=user, project_id=song.project_id, capability=C.REVIEW_LINK_SEND, song_id=song.pk
        )
    except (Forbidden, NotFound):
        return []
    links = ReviewLink.objects.filter(Q(mix__song=song) | Q(master__song=song))
    return [
        {
            "name": f"{link.version_label} for {link.recipient_name}",
            "detail": f"{link.recipient_email} · watermark id {link.watermark_id}",
            "state": link.state,
            "asset_id": link.marked_asset_id,
        }
        for link in links.select_related("mix", "master").order_by("-created_at", "-id")
    ]


def register() -> None:
    register_song_files(song_review_copies)


def _versions(project_id: int) -> list[tuple[str, str]]:
    masters = Master.objects.filter(
        project_id=project_id, asset__isnull=False, song__deleted_at__isnull=True
    ).select_related("song")
    mixes = Mix.objects.filter(
        project_id=project_id, asset__isnull=False, song__deleted_at__isnull=True
    ).select_related("song")
    return [(f"master:{m.pk}", f"{m.song.title} · Master {m.number}") for m in masters] + [
        (f"mix:{m.pk}", f"{m.song.title} · Mix {m.number}") for m in mixes
    ]


def _render(
    request: HttpRequest,
    project: Any,
    role: str,
    *,
    errors: dict[str, str] | None = None,
    sent_url: str = "",
    status: int = 200,
) -> HttpResponse:
    links = selectors.links_for_member(user=request.user, project_id=project.pk)
    ctx = page_context(
        project,
        role,
        nav="review-links",
        links=[(link, list(link.comments.all())) for link in links],
        traces=selectors.traces_for_member(user=request.user, project_id=project.pk)[:20],
        versions=_versions(project.pk),
        chosen=request.GET.get("version", "") or request.POST.get("version", ""),
        errors=errors or {},
        posted=request.POST if errors else {},
        sent_url=sent_url,
        rules=ReviewSettings.objects.filter(project_id=project.pk).first(),
    )
    template = "reviewlinks/_links.html" if request.GET.get("part") else "reviewlinks/links.html"
    return render(request, template, ctx, status=status)


@page
def links_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.REVIEW_LINK_SEND)
    return _render(request, project, role)


def _version(project_id: int, value: str) -> dict[str, Any]:
    kind, _, pk = value.partition(":")
    row: Master | Mix | None = None
    if pk.isdigit() and len(pk) < 12:
        if kind == "master":
            row = Master.objects.filter(project_id=project_id, pk=int(pk)).first()
        elif kind == "mix":
            row = Mix.objects.filter(project_id=project_id, pk=int(pk)).first()
    if row is None:
        raise Invalid("choose a version", fields={"version": ["choose a mix or a master"]})
    return {kind: row}


@page
@require_POST
def link_send(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.REVIEW_LINK_SEND)
    data = request.POST
    try:
        days = EXPIRY_CHOICES.get(str(data.get("expires_in_days", "")), -1)
        if days == -1:
            raise Invalid("expiry", fields={"expires_at": ["choose an expiry"]})
        limit_text = str(data.get("play_limit", "")).strip()
        if limit_text and not (limit_text.isdigit() and len(limit_text) < 6):
            raise Invalid("play limit", fields={"play_limit": ["a whole number, or empty"]})
        _link, token = services.link_create(
            actor=request.user,
            **_version(project.pk, str(data.get("version", ""))),
            recipient_name=str(data.get("recipient_name", "")),
            recipient_email=str(data.get("recipient_email", "")),
            note=str(data.get("note", "")),
            expires_at=timezone.now() + datetime.timedelta(days=days) if days else None,
            download_allowed=data.get("download_allowed") == "1",
            play_limit=int(limit_text) if limit_text else None,
            link_for=lambda t: request.build_absolute_uri("/r/") + "#" + t,
        )
    except Invalid as error:
        errors = {name: "; ".join(msgs) for name, msgs in (error.fields or {}).items()}
        return _render(request, project, role, errors=errors or {"version": str(error)})
    url = request.build_absolute_uri("/r/") + "#" + token
    return _render(request, project, role, sent_url=url)


@page
@require_POST
def link_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    link = selectors.link_get_for_member(user=request.user, link_id=link_id)
    services.link_revoke(actor=request.user, link=link)
    return redirect("review-links", project_id=link.project_id)


@page
@require_POST
def settings_update(request: HttpRequest, project_id: int) -> HttpResponse:
    """The project's rule: links stop working when their sender loses the role (default on)."""
    project, _role = member_project(request, project_id, C.MEMBERS_MANAGE)
    services.settings_update(
        actor=request.user,
        project=project,
        stop_on_role_loss=request.POST.get("stop_on_role_loss") == "1",
    )
    return redirect("review-links", project_id=project.pk)


@page
@require_POST
def trace_upload(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = member_project(request, project_id, C.REVIEW_LINK_SEND)
    upload = request.FILES.get("file")
    if upload is None or not upload.size:
        return _render(request, project, role, errors={"file": "choose the file you found"})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "found"
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            services.trace_start(
                actor=request.user, project=project, path=path, name=upload.name or ""
            )
        except Invalid as error:
            return _render(request, project, role, errors={"file": str(error)})
    return redirect("review-links", project_id=project.pk)
