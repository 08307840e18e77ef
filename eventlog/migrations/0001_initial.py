"""Event, taken over from the live app: the state is created here, the table already exists
(live_event, made by live 0001) and is renamed to eventlog_event."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("studio", "0001_initial"),
        ("live", "0003_event_to_eventlog"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("seq", models.PositiveBigIntegerField()),
                        ("type", models.CharField(max_length=64)),
                        ("payload", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="events",
                                to="studio.project",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["project_id", "seq"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("project", "seq"), name="event_unique_seq"
                            )
                        ],
                        "db_table": "live_event",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="event", table=None),
    ]
