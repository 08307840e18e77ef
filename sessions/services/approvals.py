"""Verdicts on versions, and the one approval rule the stage gate reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from audio.models import Master, Mix
from eventlog.services import event_record, project_lock
from sessions.models import Approval, Verdict
from sessions.payloads import approval_payload
from sessions.services.checks import MAX_BODY, invalid, version_fields, version_of
from studio.errors import Conflict
from studio.models import Membership
from studio.roles import Capability, Role
from studio.selectors import require_capability


@dataclass
class ApprovalState:
    approved: bool
    reasons: list[str] = field(default_factory=list)
    verdicts: dict[int, str] = field(default_factory=dict)  # member user id -> latest verdict


def approval_state(version: Mix | Master) -> ApprovalState:
    """THE approval rule, written once. The stage gate reads its result (Mix/Master.is_approved).

    Only the latest verdict of each *current* member on *this* version counts (a new version
    starts with none: approvals are never inherited).

    A mix is approved when
      1. no member's latest verdict on it is "changes_requested",
      2. at least one producer's latest verdict is "approved", and
      3. every artist member's latest verdict is "approved" (if the project has artists).
    A master is the same with "an engineer or a producer" in rule 2.

    The stored flag is recomputed whenever a verdict is given (under the project lock); a later
    change of membership takes effect at the next verdict on that version.
    """
    project_id = version.project_id
    roles = dict(Membership.objects.filter(project_id=project_id).values_list("user_id", "role"))
    rows = Approval.objects.filter(**{_kind(version): version}).order_by("id")
    # Ordered by id, so a later verdict by the same reviewer overwrites the earlier one.
    latest: dict[int, str] = {
        reviewer_id: verdict
        for reviewer_id, verdict in rows.values_list("reviewer_id", "verdict")
        if reviewer_id in roles
    }
    reasons: list[str] = []
    if any(v == Verdict.CHANGES_REQUESTED for v in latest.values()):
        reasons.append("changes were requested")
    deciders = {Role.PRODUCER} if isinstance(version, Mix) else {Role.PRODUCER, Role.ENGINEER}
    if not any(roles[uid] in deciders and v == Verdict.APPROVED for uid, v in latest.items()):
        who = "a producer" if isinstance(version, Mix) else "an engineer or a producer"
        reasons.append(f"{who} has not approved yet")
    waiting = [
        uid for uid, role in roles.items() if role == Role.ARTIST and latest.get(uid) != "approved"
    ]
    if waiting:
        count = len(waiting)
        reasons.append(
            "1 artist has not approved yet"
            if count == 1
            else f"{count} artists have not approved yet"
        )
    return ApprovalState(approved=not reasons, reasons=reasons, verdicts=latest)


def _kind(version: Mix | Master) -> str:
    return "mix" if isinstance(version, Mix) else "master"


def approval_give(
    *,
    actor: Any,
    verdict: str,
    mix: Mix | None = None,
    master: Master | None = None,
    note: str = "",
) -> Approval:
    """Record a verdict and recompute the version's stored approval in the same transaction.
    Requesting changes needs a note saying what to change."""
    version = version_of(mix, master)
    capability = Capability.MIX_APPROVE if mix is not None else Capability.MASTER_APPROVE
    require_capability(
        user=actor, project_id=version.project_id, capability=capability, song_id=version.song_id
    )
    if isinstance(version, Mix) and version.is_draft:
        raise Conflict(f"{version} has no audio yet: render it, then review it", code="mix_draft")
    if verdict not in Verdict.values:
        raise invalid("verdict", f"choose one of {', '.join(Verdict.values)}")
    note = (note or "").strip()
    if verdict == Verdict.CHANGES_REQUESTED and not note:
        raise invalid("note", "say what should change", code="note_required")
    if len(note) > MAX_BODY:
        raise invalid("note", f"at most {MAX_BODY} characters")
    kind = _kind(version)
    with transaction.atomic():
        project_lock(version.project_id)
        model = type(version)
        version = model.objects.select_for_update(no_key=True).get(pk=version.pk)
        approval = Approval.objects.create(
            project_id=version.project_id,
            reviewer=actor,
            verdict=verdict,
            note=note,
            **version_fields(version),
        )
        state = approval_state(version)
        event_record(
            project=version.project_id,
            type="approval.given",
            payload={"approval": approval_payload(approval)},
            actor=actor,
        )
        if state.approved != version.is_approved:
            version.is_approved = state.approved
            version.save(update_fields=["is_approved"])
            event_record(
                project=version.project_id,
                type=f"{kind}.approval_changed",
                payload={
                    kind: {"id": version.pk, "song": version.song_id, "is_approved": state.approved}
                },
                actor=actor,
            )
    return approval
