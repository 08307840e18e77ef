"""Querysets that scope every read to the user's memberships (NetBox's `restrict` idea).

They are also where deletion hides things: a deleted project (`Project.deleted_at`) or song
(`Song.deleted_at`) and everything under it is gone from every scoped read, for everyone. The
producer's "Recently deleted" lists read them on purpose through `deleted_for_member`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, models
from django.db.models import Q

SONG_LABEL = "studio.Song"


class ProjectQuerySet(models.QuerySet):
    def for_member(self, user: Any) -> ProjectQuerySet:
        """The user's projects, deleted ones left out (archived ones stay: they are readable)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(memberships__user=user, deleted_at__isnull=True)

    def deleted_for_member(self, user: Any) -> ProjectQuerySet:
        """The user's deleted projects (not purged yet): the "Recently deleted" list, restore."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(memberships__user=user, deleted_at__isnull=False)


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> MembershipQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(project__memberships__user=user, project__deleted_at__isnull=True)


def _song_fks(model: Any) -> list[Any]:
    return [
        f
        for f in model._meta.get_fields()
        if f.many_to_one and f.concrete and f.related_model._meta.label == SONG_LABEL
    ]


@cache
def song_paths(model: Any) -> tuple[tuple[str, bool], ...]:
    """How a row of `model` reaches the song(s) it belongs to, as (lookup path, nullable) pairs:
    "" for a Song itself, its foreign keys to Song ("song"), or else one hop through a foreign
    key whose model has one ("mix__song", "master__song" for a comment). A model may say it
    itself with a `song_paths` attribute. Found once per model."""
    declared = getattr(model, "song_paths", None)
    if declared is not None:
        return tuple((path, True) for path in declared)
    if model._meta.label == SONG_LABEL:
        return (("", False),)
    direct = _song_fks(model)
    if direct:
        return tuple((f.name, f.null) for f in direct)
    hops = []
    for fk in model._meta.get_fields():
        if not (fk.many_to_one and fk.concrete) or fk.related_model is model:
            continue
        hops += [(f"{fk.name}__{i.name}", fk.null or i.null) for i in _song_fks(fk.related_model)]
    return tuple(hops)


def alive(model: Any) -> Q:
    """The condition that no song a row of `model` belongs to is deleted."""
    condition = Q()
    for path, nullable in song_paths(model):
        if path == "":
            condition &= Q(deleted_at__isnull=True)
            continue
        live = Q(**{f"{path}__deleted_at__isnull": True})
        if nullable:
            first = path.split("__")[0]
            live = Q(**{f"{first}__isnull": True}) | live
        condition &= live
    return condition


class ProjectScopedQuerySet(models.QuerySet):
    """For models that belong to a project through `model.project_path` (default "project").

    `visible_to` is the one place deletion hides rows: the project must not be deleted, nor any
    song the row belongs to (see `song_paths`). The conditions join the project and song rows
    the membership filter reaches anyway, by primary key, so a scoped read stays one query."""

    def visible_to(self, user: Any) -> ProjectScopedQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        path = getattr(self.model, "project_path", "project")
        return self.filter(
            alive(self.model),
            **{f"{path}__memberships__user": user, f"{path}__deleted_at__isnull": True},
        )

    def deleted_for_member(self, user: Any) -> ProjectScopedQuerySet:
        """Deleted songs (a model with its own `deleted_at`) of the user's live projects."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        path = getattr(self.model, "project_path", "project")
        return self.filter(
            deleted_at__isnull=False,
            **{f"{path}__memberships__user": user, f"{path}__deleted_at__isnull": True},
        )


@dataclass(frozen=True)
class FixedRead:
    """One precomposed SELECT whose first row is read as a model instance, as the ORM builds it.

    For the few reads on every request where Django building and compiling the same query again
    is most of the cost (token authentication, the player's waveform peaks: L2 in
    docs/reliability.md). `sql` selects `fields` (attribute names of `model`, in order) from the
    table aliased `alias`, then one value per `extra` name, set on the instance as an annotation
    would be. Each use keeps a test that it answers what the ORM query it replaces answers."""

    model: Any
    fields: tuple[str, ...]
    extra: tuple[str, ...]
    sql: str

    @classmethod
    def compose(
        cls,
        model: Any,
        *,
        fields: Sequence[str],
        alias: str,
        extra: Sequence[tuple[str, str]] = (),
        rest: str,
    ) -> FixedRead:
        """`SELECT <alias's fields>, <extra expressions> FROM <model's table> <alias> <rest>`."""
        meta = model._meta
        columns = [f'{alias}."{meta.get_field(name).column}"' for name in fields]
        columns += [expression for _, expression in extra]
        # names come from the models' metadata, never from a request: values are parameters
        sql = f'SELECT {", ".join(columns)} FROM "{meta.db_table}" {alias} {rest}'  # noqa: S608
        return cls(model, tuple(fields), tuple(name for name, _ in extra), sql)

    @cached_property
    def _converters(self) -> list[tuple[Any, list[Any]]]:
        """Each field's column and converters (the backend's, then the field's), as the ORM's
        compiler applies them to a value read."""
        found = []
        for name in self.fields:
            field = self.model._meta.get_field(name)
            column = field.get_col(self.model._meta.db_table)
            found.append(
                (
                    column,
                    connection.ops.get_db_converters(column) + field.get_db_converters(connection),
                )
            )
        return found

    def first(self, params: Sequence[Any]) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        count = len(self.fields)
        values = [
            _from_db(column, converters, value)
            for (column, converters), value in zip(self._converters, row[:count], strict=True)
        ]
        instance = self.model.from_db(DEFAULT_DB_ALIAS, list(self.fields), values)
        for name, value in zip(self.extra, row[count:], strict=True):
            setattr(instance, name, value)
        return instance


def _from_db(column: Any, converters: list[Any], value: Any) -> Any:
    for converter in converters:
        value = converter(value, column, connection)
    return value
