"""Shared plumbing for the server-rendered pages of every room (pages/*.py).

Page views call services and selectors directly. Domain errors become:
- NotFound -> 404 (no existence leak);
- Invalid -> the sentence as a fragment with 200 when the caller names a form error target (a form
  to correct), otherwise 400;
- Forbidden / Conflict -> the sentence as a fragment with 403 / 409 (a real refusal), retargeted
  into the page's #flash region for htmx.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.views.decorators.vary import vary_on_headers

from sessions.presence import presence_list
from studio.errors import DomainError, Invalid, NotFound
from studio.models import Project
from studio.parsing import whole_number
from studio.roles import Capability, role_can
from studio.selectors import member_role, project_get_for_member


def capabilities(role: str | None) -> dict[str, bool]:
    """{"task_edit": True, ...} for templates: controls a role may not use are not rendered."""
    return {cap.name.lower(): role_can(role, cap.value) for cap in Capability}


def member_project(
    request: HttpRequest, project_id: int, capability: str = Capability.VIEW
) -> tuple[Project, str]:
    project = project_get_for_member(
        user=request.user, project_id=project_id, capability=capability
    )
    role = member_role(user=request.user, project_id=project.pk) or ""
    return project, role


def page_context(project: Project, role: str, **extra: Any) -> dict[str, Any]:
    """The base template's context. `project.last_event_seq` was read with the project row, i.e.
    before anything else the page shows, so replaying `after=last_seq` never misses a change."""
    return {
        "project": project,
        "role": role,
        "presence": [
            {"user": e["user"], "song": e.get("song"), "mix": e.get("mix")}
            for e in presence_list(project_id=project.pk)
        ],
        "can": capabilities(role),
        "last_seq": project.last_event_seq,
        **extra,
    }


def refusal(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The error sentence as a fragment with the error's 4xx status."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(
            format_html(
                '<p class="refusal" data-code="{}">{}</p>', error.code, readable(error.detail)
            ),
            status=error.status,
        )
        response["HX-Retarget"] = "#flash"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(
        request,
        "refused.html",
        {"error": error, "status": error.status},
        status=error.status,
    )


# Field names as services and the API write them, and what a page calls them.
FIELD_LABELS = {
    "start_s": "the start",
    "end_s": "the end",
    "starts_at": "the start",
    "ends_at": "the end",
    "note": "",
    "body": "the comment",
    "tempo_bpm": "the tempo",
    "due_date": "the due date",
    "assignee": "the assignee",
}
_ROW_FIELD = re.compile(r"shares\[(\d+)\]\.(share|party)")
_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$", re.S)
_NAME = re.compile(r"\b(" + "|".join(k for k in FIELD_LABELS if FIELD_LABELS[k]) + r")\b")


def readable(detail: str) -> str:
    """A service's sentence as a page shows it: field labels instead of API paths
    ("shares[0].share has ..." -> "the share in row 1 has ..."; the API keeps the paths)."""
    text = _ROW_FIELD.sub(lambda m: f"the {m.group(2)} in row {int(m.group(1)) + 1}", detail)
    prefix = _PREFIX.match(text)
    if prefix and prefix.group(1) in FIELD_LABELS:
        label, rest = FIELD_LABELS[prefix.group(1)], prefix.group(2)
        verb = rest.split(" ", 1)[0] in ("must", "is", "has", "needs", "cannot")
        text = rest if not label else f"{label} {rest}" if verb else f"{label}: {rest}"
    return _NAME.sub(lambda m: FIELD_LABELS[m.group(1)], text)


def form_error(request: HttpRequest, error: Invalid, target: str) -> HttpResponse:
    """An invalid form: 200, the sentence into the form's error slot (not a refusal)."""
    response = HttpResponse(
        format_html('<span data-code="{}">{}</span>', error.code, readable(error.detail)),
        status=200,
    )
    response["HX-Retarget"] = target
    response["HX-Reswap"] = "innerHTML"
    return response


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """login_required + Vary: HX-Request + domain errors mapped to pages/fragments."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except DomainError as error:
            return refusal(request, error)

    return login_required(vary_on_headers("HX-Request")(wrapper))


def is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def int_or_none(value: Any) -> int | None:
    """An id or count from a form field (see studio.parsing: ASCII digits that fit a bigint)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    return whole_number(value) if isinstance(value, str) else None


def display_name(user: Any) -> str:
    if user is None:
        return "Someone"
    return user.get_short_name() or user.username


def initials(name: str) -> str:
    """An avatar's letters: "Mia Rossi" -> "MR", "mia" -> "MI" (the first letters of the first
    two words, or the first two of a single word)."""
    words = [w for w in re.split(r"[\s._-]+", name.strip()) if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


def clock(seconds: float | None) -> str:
    """62.4 -> "1:02"."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    return f"{total // 60}:{total % 60:02d}"
