"""Move every asset's waveform peaks out of its row into a stored file (audio.peaks), and back.

Forward, each file is stored (fsync and rename, or one PUT) before its row names it; a failed
run rolls the rows back and leaves at most unused files. Backward, the rows get their peaks from
the files again (the files stay: a later forward run stores the same bytes under the same name).
"""

from typing import Any

from django.db import migrations

BATCH = 200


def peaks_to_files(apps: Any, schema_editor: Any) -> None:
    from audio.peaks import peaks_store

    Asset = apps.get_model("audio", "Asset")
    pending = Asset.objects.filter(peaks__isnull=False, peaks_name="").only(
        "pk", "project_id", "sha256", "peaks"
    )
    for asset in pending.iterator(chunk_size=BATCH):
        fields = peaks_store(project_id=asset.project_id, sha256=asset.sha256, peaks=asset.peaks)
        Asset.objects.filter(pk=asset.pk).update(peaks=None, **fields)


def files_to_peaks(apps: Any, schema_editor: Any) -> None:
    from audio.peaks import peaks_read

    Asset = apps.get_model("audio", "Asset")
    stored = Asset.objects.exclude(peaks_name="").only("pk", "peaks_name", "peaks_index")
    for asset in stored.iterator(chunk_size=BATCH):
        Asset.objects.filter(pk=asset.pk).update(
            peaks=peaks_read(asset), peaks_name="", peaks_sha256="", peaks_index=None
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audio", "0010_asset_peaks_file"),
    ]

    operations = [
        migrations.RunPython(peaks_to_files, files_to_peaks),
    ]
