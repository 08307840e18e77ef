"""How the bookings app's events read in the activity feed (registered in BookingsConfig.ready).
Times are not in these sentences: the feed is read in many zones, and the calendar shows them."""

from __future__ import annotations

from typing import Any

from eventlog.registry import Told, register_event_type


def _resource(t: Told) -> str:
    r = t.payload.get("resource") or {}
    name = r.get("name", "an item")
    if t.type == "resource.deleted":
        return f"{t.who} removed {name} from the inventory"
    tail = " (out of service)" if r.get("availability") == "out_of_service" else ""
    if t.type == "resource.created":
        return f"{t.who} added {name} to the inventory{tail}"
    return f"{t.who} updated {name} in the inventory{tail}"


def _booking(t: Told) -> str:
    b = t.payload.get("booking") or {}
    verb = {"booking.created": "booked", "booking.deleted": "released"}.get(t.type, "moved")
    kind = f"the {b['session_kind']} session" if b.get("session_kind") else "a session"
    what = b.get("resource_name", "an item")
    return f"{t.who} {verb} {what} for {kind} of {t.names.song(b.get('song'))}"


def _booking_refs(p: dict[str, Any]) -> Any:
    yield ("song", (p.get("booking") or {}).get("song"))


def register() -> None:
    for type in ("resource.created", "resource.updated", "resource.deleted"):
        register_event_type(type, _resource)
    for type in ("booking.created", "booking.updated", "booking.deleted"):
        register_event_type(type, _booking, refs=_booking_refs)
