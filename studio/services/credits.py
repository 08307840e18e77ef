"""Credits: who did what on a song."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from eventlog.services import event_record
from studio.errors import Invalid
from studio.models import Credit, CreditRole, Membership, Song
from studio.payloads import credit_payload
from studio.roles import Capability
from studio.selectors import require_capability

CREDIT_FIELDS = ("role", "contributor_name", "instrument", "user", "ipi", "isni")


def _validate(project_id: int, fields: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    role = fields.get("role")
    if role is not None and role not in CreditRole.values:
        errors["role"] = [f"choose one of {', '.join(CreditRole.values)}"]
    if role == CreditRole.PERFORMER and not (fields.get("instrument") or "").strip():
        errors["instrument"] = ["a performer credit names the instrument (or 'vocals')"]
    ipi = fields.get("ipi") or ""
    if ipi and not re.fullmatch(r"[0-9]{9,11}", ipi):
        errors["ipi"] = ["an IPI name number is 9 to 11 digits"]
    isni = (fields.get("isni") or "").replace(" ", "")
    if isni and not re.fullmatch(r"[0-9]{15}[0-9X]", isni):
        errors["isni"] = ["an ISNI is 16 characters: 15 digits and a check digit or X"]
    user = fields.get("user")
    if (
        user is not None
        and not Membership.objects.filter(project_id=project_id, user=user).exists()
    ):
        errors["user"] = ["not a member of this project"]
    if errors:
        raise Invalid("; ".join(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
    if "isni" in fields:
        fields["isni"] = isni


def credit_add(
    *,
    actor: Any,
    song: Song,
    role: str,
    contributor_name: str,
    instrument: str = "",
    user: Any = None,
    ipi: str = "",
    isni: str = "",
) -> Credit:
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.CREDIT_EDIT, song_id=song.pk
    )
    fields = {
        "role": role,
        "contributor_name": contributor_name,
        "instrument": instrument,
        "user": user,
        "ipi": ipi,
        "isni": isni,
    }
    _validate(song.project_id, fields)
    with transaction.atomic():
        credit = Credit.objects.create(song=song, **fields)
        event_record(
            project=song.project_id,
            type="credit.added",
            payload={"credit": credit_payload(credit)},
            actor=actor,
        )
    return credit


def credit_update(*, actor: Any, credit: Credit, **fields: Any) -> Credit:
    project_id = credit.song.project_id
    require_capability(
        user=actor,
        project_id=project_id,
        capability=Capability.CREDIT_EDIT,
        song_id=credit.song_id,
    )
    changes = {k: v for k, v in fields.items() if k in CREDIT_FIELDS}
    merged = {name: getattr(credit, name) for name in CREDIT_FIELDS} | changes
    _validate(project_id, merged)
    with transaction.atomic():
        for name in changes:
            setattr(credit, name, merged[name])
        credit.save()
        event_record(
            project=project_id,
            type="credit.updated",
            payload={"credit": credit_payload(credit)},
            actor=actor,
        )
    return credit


def credit_remove(*, actor: Any, credit: Credit) -> None:
    project_id = credit.song.project_id
    require_capability(
        user=actor,
        project_id=project_id,
        capability=Capability.CREDIT_EDIT,
        song_id=credit.song_id,
    )
    with transaction.atomic():
        payload = {"credit": {"id": credit.pk, "song": credit.song_id}}
        credit.delete()
        event_record(project=project_id, type="credit.removed", payload=payload, actor=actor)
