"""`{% session_needs ws %}`: what a working session needs (its bookings, with book and release),
rendered inside the song page's sessions card from the bookings room's own fragment."""

from __future__ import annotations

from typing import Any

from django import template

from pages.calendar import bookings_context

register = template.Library()


@register.inclusion_tag("bookings/_session_bookings.html", takes_context=True)
def session_needs(context: Any, ws: Any) -> dict[str, Any]:
    ctx = bookings_context(ws, context.get("can") or {})
    ctx["csrf_token"] = context.get("csrf_token")
    ctx["error_slot"] = "page"
    return ctx
