"""The Event model moves to the eventlog app; its table stays and is renamed there."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("live", "0002_review"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Event")],
            database_operations=[],
        ),
    ]
