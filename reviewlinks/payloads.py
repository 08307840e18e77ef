"""The dict forms of review links, their comments and traces carried in event payloads. Never
the token, nor the recipient's e-mail (the event log is read by every member)."""

from __future__ import annotations

from typing import Any

from reviewlinks.models import LeakTrace, ReviewComment, ReviewLink


def link_payload(link: ReviewLink) -> dict[str, Any]:
    return {
        "id": link.pk,
        "project": link.project_id,
        "mix": link.mix_id,
        "master": link.master_id,
        "recipient_name": link.recipient_name,
        "state": link.state,
    }


def comment_payload(comment: ReviewComment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "link": comment.link_id,
        "author_name": comment.author_name,
        "body": comment.body,
        "start_s": comment.start_s,
        "from_outside": True,
    }


def trace_payload(trace: LeakTrace) -> dict[str, Any]:
    return {
        "id": trace.pk,
        "project": trace.project_id,
        "found": trace.found,
        "link": trace.link_id,
        "confidence": trace.confidence,
    }
