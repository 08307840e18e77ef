"""A migration operation for what only PostgreSQL can hold: the bookings' exclusion constraint.

`PostgresOnlyAddConstraint` keeps the constraint in the migration state on every vendor (so
the models and the migrations agree and `makemigrations --check` stays quiet) but creates it in
the database only on PostgreSQL. Embedded mode (SQLite) migrates without it; there the booking
service's overlap check under the project lock decides."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgresOnlyAddConstraint(migrations.AddConstraint):
    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"{super().describe()} (PostgreSQL only)"
