"""Reads of review links, scoped to members who may send them (another project's link, or a
member without `review_link.send`, is a 404/403 as everywhere)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet

from reviewlinks.models import AccessKind, LeakTrace, ReviewLink
from studio.errors import NotFound
from studio.roles import Capability
from studio.selectors import require_capability


def links_for_member(*, user: Any, project_id: int) -> QuerySet[ReviewLink]:
    require_capability(user=user, project_id=project_id, capability=Capability.REVIEW_LINK_SEND)
    return with_stats(ReviewLink.objects.visible_to(user).filter(project_id=project_id))


def with_stats(qs: QuerySet[ReviewLink]) -> QuerySet[ReviewLink]:
    return qs.select_related("mix", "master", "created_by", "marked_asset").annotate(
        plays=Count("accesses", filter=Q(accesses__kind=AccessKind.PLAY), distinct=True),
        first_opened=Min("accesses__at", filter=Q(accesses__kind=AccessKind.OPENED)),
        last_access=Max("accesses__at"),
        furthest_s=Max("accesses__position_s"),
        comment_count=Count("comments", distinct=True),
    )


def link_get_for_member(*, user: Any, link_id: int) -> ReviewLink:
    link = with_stats(ReviewLink.objects.visible_to(user)).filter(pk=link_id).first()
    if link is None:
        raise NotFound("review link not found")
    require_capability(
        user=user, project_id=link.project_id, capability=Capability.REVIEW_LINK_SEND
    )
    return link


def traces_for_member(*, user: Any, project_id: int) -> QuerySet[LeakTrace]:
    require_capability(user=user, project_id=project_id, capability=Capability.REVIEW_LINK_SEND)
    return (
        LeakTrace.objects.visible_to(user)
        .filter(project_id=project_id)
        .select_related("link", "link__created_by", "link__mix", "link__master", "created_by")
    )
