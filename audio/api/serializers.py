"""Input and output serializers for assets, stems, takes, mixes and jobs. Shapes only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audio.models import JOB_OVER, Asset, Job, JobKind, Mix, Stem, Take
from studio.api.serializers import VisibleRelatedField
from studio.models import Song


class AssetSerializer(serializers.ModelSerializer):
    has_analysis = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = [
            "id",
            "project",
            "kind",
            "media_type",
            "sha256",
            "size_bytes",
            "original_name",
            "format",
            "codec",
            "sample_rate",
            "channels",
            "bit_depth",
            "frames",
            "duration_s",
            "has_analysis",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_analysis(self, asset: Asset) -> bool:
        return asset.analysis is not None


class AnalysisSerializer(serializers.Serializer):
    asset = serializers.IntegerField()
    sha256 = serializers.CharField()
    report = serializers.DictField(child=serializers.JSONField())


class PeaksSerializer(serializers.Serializer):
    """The engine's waveform peaks (levels of min/max pairs at several zooms)."""

    asset = serializers.IntegerField()
    sha256 = serializers.CharField()
    peaks = serializers.DictField(child=serializers.JSONField())


class StemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stem
        fields = ["id", "project", "song", "asset", "instrument", "notes", "created_at"]
        read_only_fields = fields


class StemCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    asset = VisibleRelatedField(Asset)
    instrument = serializers.CharField(max_length=100, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class TakeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Take
        fields = [
            "id",
            "project",
            "song",
            "asset",
            "part",
            "number",
            "is_keeper",
            "notes",
            "created_at",
        ]
        read_only_fields = fields


KEEPER_DOOR = "the keeper take is chosen with POST /api/keepers/ {take, is_keeper}"


class NoKeeperField(serializers.Serializer):
    """Refuses `is_keeper` with a pointer to the one door that sets it, instead of ignoring it."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "is_keeper" in data:
            raise serializers.ValidationError({"is_keeper": [KEEPER_DOOR]})
        return super().to_internal_value(data)


class TakeCreateSerializer(NoKeeperField):
    song = VisibleRelatedField(Song)
    asset = VisibleRelatedField(Asset)
    part = serializers.CharField(max_length=100)
    number = serializers.IntegerField(min_value=1, max_value=100000, required=False)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class TakeUpdateSerializer(NoKeeperField):
    notes = serializers.CharField(max_length=5000, allow_blank=True)


class MixSerializer(serializers.ModelSerializer):
    """A version. `state`: draft (a spec, no audio yet), rendering (a draft whose render job is
    queued or running: `render_job`), rendered (audio in `asset`; uploads are rendered from the
    start). `name` is "Mix 3" or "Mix 3 (draft)". The spec itself is at /api/mixes/{id}/spec/."""

    name = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    render_job = serializers.SerializerMethodField()

    class Meta:
        model = Mix
        fields = [
            "id",
            "project",
            "song",
            "number",
            "name",
            "note",
            "source",
            "state",
            "asset",
            "parent",
            "spec_revision",
            "engine_version",
            "samples_sha256",
            "render_job",
            "is_approved",
            "created_at",
        ]
        read_only_fields = fields

    def _live_job(self, mix: Mix) -> int | None:
        if not mix.is_draft:
            return None
        if hasattr(mix, "live_render_job"):  # annotated by the viewset's queryset
            return mix.live_render_job
        job = Job.objects.filter(mix=mix, kind=JobKind.RENDER).exclude(state__in=JOB_OVER)
        return job.order_by("-id").values_list("pk", flat=True).first()

    def get_name(self, mix: Mix) -> str:
        return str(mix)

    @extend_schema_field(serializers.ChoiceField(choices=["draft", "rendering", "rendered"]))
    def get_state(self, mix: Mix) -> str:
        return "rendering" if self._live_job(mix) else str(mix.state)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_render_job(self, mix: Mix) -> int | None:
        return self._live_job(mix)


class MixCreateSerializer(serializers.Serializer):
    """An uploaded version: `asset` is its audio."""

    song = VisibleRelatedField(Song)
    asset = VisibleRelatedField(Asset)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class DraftCreateSerializer(serializers.Serializer):
    """A draft: exactly one of `from` ("keepers": one track per stem and keeper take at
    unity), `spec` (a mix spec document) or `parent` (a version of the song whose spec is
    copied)."""

    song = VisibleRelatedField(Song)
    spec = serializers.JSONField(required=False)
    parent = VisibleRelatedField(Mix, required=False)  # type: ignore[assignment]
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.ChoiceField(choices=["keepers"], required=False)
        return fields


class MixCreateAnySerializer(serializers.Serializer):
    """The body of POST /api/mixes/: an upload (`song`, `asset`) or a draft (`song` and one of
    `from`, `spec`, `parent`). Documentation only: the view picks the shape by `asset`."""

    song = serializers.IntegerField()
    asset = serializers.IntegerField(required=False, help_text="an uploaded version's audio")
    spec = serializers.JSONField(required=False, help_text="a draft from this mix spec")
    parent = serializers.IntegerField(  # type: ignore[assignment]
        required=False, help_text="a draft copying this version"
    )
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.ChoiceField(
            choices=["keepers"], required=False, help_text="a draft from the keepers at unity"
        )
        return fields


class MixSpecSerializer(serializers.Serializer):
    """GET /api/mixes/{id}/spec/: the spec (every field explicit), its revision (send it back
    as If-Match to refuse overwriting someone else's save) and whether it may change."""

    mix = serializers.IntegerField()
    spec_revision = serializers.IntegerField()
    editable = serializers.BooleanField()
    spec = serializers.DictField(child=serializers.JSONField())


class RenderSerializer(serializers.Serializer):
    bit_depth = serializers.ChoiceField(choices=["32f", "24", "16"], required=False)


class PreviewSerializer(serializers.Serializer):
    start_s = serializers.FloatField(min_value=0)
    end_s = serializers.FloatField(min_value=0)
    bit_depth = serializers.ChoiceField(choices=["32f", "24", "16"], required=False)


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "project",
            "kind",
            "state",
            "progress",
            "attempts",
            "result",
            "error",
            "error_code",
            "asset",
            "mix",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields
