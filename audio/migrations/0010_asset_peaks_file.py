from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audio", "0009_job_request_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="asset",
            name="peaks_name",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="asset",
            name="peaks_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="asset",
            name="peaks_index",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
