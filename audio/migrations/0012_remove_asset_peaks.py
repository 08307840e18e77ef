from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audio", "0011_move_peaks_to_files"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="asset",
            name="peaks",
        ),
    ]
