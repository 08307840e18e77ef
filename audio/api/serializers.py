"""Input and output serializers for assets, stems, takes, mixes and jobs. Shapes only."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from audio.models import Asset, Job, Mix, Stem, Take
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
    class Meta:
        model = Mix
        fields = [
            "id",
            "project",
            "song",
            "number",
            "note",
            "source",
            "asset",
            "is_approved",
            "created_at",
        ]
        read_only_fields = fields


class MixCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    asset = VisibleRelatedField(Asset)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


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
