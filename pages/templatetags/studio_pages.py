"""Template filters of the pages: `{% load studio_pages %}`."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime.datetime | None) -> str:
    """ "just now" under a minute, else the largest unit: "5 minutes ago", "2 days ago"."""
    if not value:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, depth=1)} ago"
