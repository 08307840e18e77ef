"""The only writer of Event rows: the outbox of every change.

`event_record` must run inside the service's transaction. It locks the project row, takes the next
seq and registers the broadcast on commit, so seqs never repeat or skip and nothing is broadcast
for a change that rolled back. The listeners other apps registered for the type
(eventlog.registry.register_listener) run right after the row is written, in the same transaction.

The log's counter (`last_event_seq`) lives on the project row, which belongs to the studio domain
above this app. The model is looked up by its label, so the import arrow keeps pointing down.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import F

from eventlog import broadcast
from eventlog.models import Event
from eventlog.registry import listeners_of

PROJECT_MODEL = "studio.Project"


def _projects() -> models.QuerySet[Any]:
    return apps.get_model(PROJECT_MODEL).objects.all()


def project_lock(project_id: int) -> Any:
    """Lock the project row (FOR NO KEY UPDATE) and return it fresh.

    Call first in a service that also reorders children (task ranks), always before locking
    children: project first, then children, in that order, everywhere.
    """
    return _projects().select_for_update(no_key=True).get(pk=project_id)


def event_record(*, project: Any, type: str, payload: dict[str, Any], actor: Any) -> Event:
    """Append one event to the project's log (a project or its id); broadcast after commit.
    Requires an atomic block."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("event_record must be called inside transaction.atomic()")
    project_id = project if isinstance(project, int) else project.pk
    _projects().filter(pk=project_id).update(last_event_seq=F("last_event_seq") + 1)
    seq = _projects().filter(pk=project_id).values_list("last_event_seq", flat=True).get()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    event = Event.objects.create(
        project_id=project_id, seq=seq, type=type, payload=payload, actor_id=actor_id
    )
    transaction.on_commit(partial(broadcast.broadcast_event, event.pk), robust=True)
    for listener in listeners_of(type):
        listener(event)
    return event
