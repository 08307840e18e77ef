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
    seq = _next_seq(connection, project_id)
    event = Event.objects.create(
        project_id=project_id,
        seq=seq,
        type=type,
        payload=payload,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    # The frame is built from what was just written, so the broadcast reads nothing back.
    recorded = broadcast.RecordedEvent(event)
    transaction.on_commit(partial(broadcast.broadcast_event, recorded), robust=True)
    for listener in listeners_of(type):
        listener(event)
    return event


def _next_seq(connection: Any, project_id: int) -> int:
    """Take the project's next seq: one UPDATE ... RETURNING (one round trip; the row stays
    locked until the transaction ends, so seqs never repeat or skip)."""
    model = apps.get_model(PROJECT_MODEL)
    if not connection.features.can_return_columns_from_insert:  # no RETURNING (old SQLite)
        _projects().filter(pk=project_id).update(last_event_seq=F("last_event_seq") + 1)
        return int(_projects().filter(pk=project_id).values_list("last_event_seq", flat=True).get())
    quote = connection.ops.quote_name
    # Only quoted names from the model's own metadata go into the text; the id is a parameter.
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    column = quote(model._meta.get_field("last_event_seq").column)
    sql = f"UPDATE {table} SET {column} = {column} + 1 WHERE {pk} = %s RETURNING {column}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id])
        row = cursor.fetchone()
    if row is None:
        raise model.DoesNotExist(f"no project {project_id}")
    return int(row[0])
