"""Text length limits, kept on every save: a field's `max_length` is the limit, whichever door
(API, page form, websocket, command) the text came through.

PostgreSQL does not enforce a TextField's max_length and page forms skipped the serializers
that did, so a 2 MB project description was stored and replayed in an event to every open
socket. The check runs before each save of the project's own models (see StudioConfig.ready).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models

from studio.errors import Invalid

M = TypeVar("M", bound=models.Model)

# Every app of Studio's own (Django's and third parties' models keep their own rules).
CHECKED_APPS = frozenset(
    {
        "studio",
        "live",
        "audio",
        "eventlog",
        "delivery",
        "reviewlinks",
        "songsheet",
        "bookings",
        "timesheets",
        "notifications",
    }
)


def text_lengths_check(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    """pre_save receiver: Invalid naming the field when a text is over its max_length."""
    if sender._meta.app_label in CHECKED_APPS:
        _check(instance)


def text_lengths_check_rows(rows: Iterable[M]) -> list[M]:
    """The same check for rows about to go through `bulk_create`, which sends no pre_save: call
    it on the rows first (`Model.objects.bulk_create(text_lengths_check_rows(rows))`)."""
    checked = list(rows)
    for row in checked:
        _check(row)
    return checked


def _check(instance: models.Model) -> None:
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.CharField | models.TextField) or not field.max_length:
            continue
        value = getattr(instance, field.attname, None)
        if isinstance(value, str) and len(value) > field.max_length:
            label = str(field.verbose_name)
            raise Invalid(
                f"the {label} is too long: at most {field.max_length:,} characters "
                f"(this one has {len(value):,})",
                code="too_long",
                fields={field.name: [f"at most {field.max_length} characters"]},
            )
