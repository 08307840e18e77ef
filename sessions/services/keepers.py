"""The keeper rule: at most one keeper take per song and part. This is its only door; the takes
API below (audio) refuses the flag, since audio may not import the review layer."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audio.models import Take
from eventlog.services import event_record, project_lock
from studio.roles import Capability
from studio.selectors import require_capability


def keeper_payload(takes: list[Take]) -> dict[str, Any]:
    return {
        "takes": [
            {"id": t.pk, "song": t.song_id, "part": t.part, "is_keeper": t.is_keeper} for t in takes
        ]
    }


def _keeper_apply(take: Take, is_keeper: bool) -> list[Take]:
    """At most one keeper take per song and part: marking `take` clears the others. Returns
    every take whose flag changed. Runs inside the caller's transaction, under the project lock."""
    changed: list[Take] = []
    if is_keeper:
        others = Take.objects.select_for_update(no_key=True).filter(
            song_id=take.song_id, part=take.part, is_keeper=True
        )
        for other in others.exclude(pk=take.pk):
            other.is_keeper = False
            other.save(update_fields=["is_keeper"])
            changed.append(other)
    if take.is_keeper != is_keeper:
        take.is_keeper = is_keeper
        take.save(update_fields=["is_keeper"])
        changed.append(take)
    return changed


def take_set_keeper(*, actor: Any, take: Take, is_keeper: bool = True) -> Take:
    """The one door to the keeper flag (the API's POST /api/keepers/ and the song page both
    call it; the takes API refuses the field). Mark (or unmark) the keeper take of a part: at
    most one keeper per song and part, so marking one clears the others. One
    `take.keeper_changed` event lists every take whose flag changed (none when nothing did)."""
    require_capability(
        user=actor,
        project_id=take.project_id,
        capability=Capability.SESSION_EDIT,
        song_id=take.song_id,
    )
    with transaction.atomic():
        project_lock(take.project_id)
        take = Take.objects.select_for_update(no_key=True).get(pk=take.pk)
        changed = _keeper_apply(take, is_keeper)
        if changed:
            event_record(
                project=take.project_id,
                type="take.keeper_changed",
                payload=keeper_payload(changed),
                actor=actor,
            )
    return take
