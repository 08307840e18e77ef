"""How the review links' events read in the activity feed (registered in the app's ready())."""

from __future__ import annotations

from eventlog.registry import Told, register_event_type, register_quiet


def _name(t: Told) -> str:
    return str((t.payload.get("link") or {}).get("recipient_name", ""))


def _created(t: Told) -> str:
    return f"{t.who} sent a review copy to {_name(t)}"


def _revoked(t: Told) -> str:
    return f"{t.who} revoked the review link of {_name(t)}"


def _commented(t: Told) -> str:
    body = str((t.payload.get("comment") or {}).get("body", ""))[:80]
    return f"{_name(t)} (outside the project) commented: {body}"


def _traced(t: Told) -> str:
    trace = t.payload.get("trace") or {}
    return (
        "A leaked file was traced to a review link"
        if trace.get("found")
        else ("No mark was found in a traced file")
    )


def register() -> None:
    register_event_type("review_link.created", _created)
    register_event_type("review_link.revoked", _revoked)
    register_event_type("review_link.commented", _commented)
    register_event_type("leak_trace.finished", _traced)
    register_quiet(
        "review_link.ready",
        "review_link.accessed",
        "review_settings.changed",
        "leak_trace.started",
    )
