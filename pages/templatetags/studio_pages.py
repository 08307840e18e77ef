"""Template filters of the pages: `{% load studio_pages %}`."""

from __future__ import annotations

import datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.timesince import timesince

from pages import kit

register = template.Library()


@register.filter
def ago(value: datetime.datetime | None) -> str:
    """ "just now" under a minute, else the largest unit: "5 minutes ago", "2 days ago"."""
    if not value:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, depth=1)} ago"


@register.filter
def local_time(value: datetime.datetime | None) -> str:
    """The full time in the viewer's zone, with the zone's abbreviation: "Tue 31 Jan 2030, 10:00
    EST" (the zone is the one studio.timezones activated for the request)."""
    if not value:
        return ""
    return dateformat.format(timezone.localtime(value), "D j M Y, H:i T")


@register.filter
def short_time(value: datetime.datetime | None) -> str:
    """A short time in the viewer's zone, as much as tells it apart: "14:05" today, "2 Dec, 14:05"
    this year, "2 Dec 2025" before (a <time> element's title holds the full `local_time`)."""
    if not value:
        return ""
    local, today = timezone.localtime(value), timezone.localdate()
    if local.date() == today:
        return dateformat.format(local, "H:i")
    if local.year == today.year:
        return dateformat.format(local, "j M, H:i")
    return dateformat.format(local, "j M Y")


@register.filter
def initials(name: str | None) -> str:
    """An avatar's letters for a display name (pages.kit.initials)."""
    return kit.initials(name or "")
