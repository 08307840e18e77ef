"""The header's unread count, on every page (templates/notifications/_header.html)."""

from __future__ import annotations

from typing import Any

from django import template

from notifications.services import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: Any) -> int:
    user = context.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return unread_count(user)
