"""Shapes of the delivery API (no rules: the services decide)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from delivery.models import Delivery, Release, ReleaseTrack
from delivery.selectors import delivering_job


def file_url(asset_id: int | None) -> str | None:
    """The Range-served download of a stored file (members only): audio.api's file view."""
    return f"/api/assets/{asset_id}/file/" if asset_id else None


class TrackSerializer(serializers.ModelSerializer):
    isrc = serializers.SerializerMethodField()
    song_title = serializers.CharField(source="song.title", read_only=True)
    master_number = serializers.IntegerField(
        source="master.number", read_only=True, allow_null=True
    )

    class Meta:
        model = ReleaseTrack
        fields = (
            "id",
            "release",
            "position",
            "song",
            "song_title",
            "master",
            "master_number",
            "isrc",
            "title",
            "artist",
            "pregap_s",
            "trim_start_s",
            "trim_end_s",
            "fade_in_s",
            "fade_out_s",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_isrc(self, track: ReleaseTrack) -> str | None:
        codes = self.context.get("isrcs")
        if codes is not None:
            return codes.get(track.master_id)
        master = track.master
        isrc = getattr(master, "isrc", None) if master is not None else None
        return isrc.code if isrc is not None else None


class ReleaseSerializer(serializers.ModelSerializer):
    artwork_url = serializers.SerializerMethodField()
    delivering_job = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = (
            "id",
            "project",
            "title",
            "artist",
            "label",
            "upc",
            "p_line",
            "c_line",
            "release_date",
            "artwork",
            "artwork_url",
            "delivering_job",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_artwork_url(self, release: Release) -> str | None:
        return file_url(release.artwork_id)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_delivering_job(self, release: Release) -> int | None:
        """The deliver job of this release that is queued or running, if any."""
        return delivering_job(release)


class ReleaseCreateSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    artist = serializers.CharField(max_length=200)
    label = serializers.CharField(max_length=200, required=False, allow_blank=True)  # type: ignore[assignment]
    upc = serializers.CharField(max_length=20, required=False, allow_blank=True)
    p_line = serializers.CharField(max_length=200, required=False, allow_blank=True)
    c_line = serializers.CharField(max_length=200, required=False, allow_blank=True)
    release_date = serializers.DateField(required=False, allow_null=True)
    songs = serializers.ListField(child=serializers.IntegerField(), required=False)


class ReleaseUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    artist = serializers.CharField(max_length=200, required=False)
    label = serializers.CharField(max_length=200, required=False, allow_blank=True)  # type: ignore[assignment]
    upc = serializers.CharField(max_length=20, required=False, allow_blank=True)
    p_line = serializers.CharField(max_length=200, required=False, allow_blank=True)
    c_line = serializers.CharField(max_length=200, required=False, allow_blank=True)
    release_date = serializers.DateField(required=False, allow_null=True)


class TrackCreateSerializer(serializers.Serializer):
    release = serializers.IntegerField()
    song = serializers.IntegerField()
    position = serializers.IntegerField(required=False, min_value=1)


class TrackUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    artist = serializers.CharField(max_length=200, required=False, allow_blank=True)
    master = serializers.IntegerField(required=False, allow_null=True)
    isrc = serializers.CharField(max_length=40, required=False, allow_blank=True)
    pregap_s = serializers.FloatField(required=False)
    trim_start_s = serializers.FloatField(required=False)
    trim_end_s = serializers.FloatField(required=False)
    fade_in_s = serializers.FloatField(required=False)
    fade_out_s = serializers.FloatField(required=False)


class MoveSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)


class PieceSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField()
    track = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField(allow_null=True)
    blocking = serializers.BooleanField()


class MissingSerializer(serializers.Serializer):
    deliverable = serializers.BooleanField()
    missing = PieceSerializer(many=True)
    running_time = serializers.DictField()


class DeliveryFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    asset = serializers.IntegerField()
    url = serializers.CharField()


class DeliverySerializer(serializers.ModelSerializer):
    files = serializers.SerializerMethodField()
    bundle_url = serializers.SerializerMethodField()
    job_state = serializers.CharField(source="job.state", read_only=True)

    class Meta:
        model = Delivery
        fields = (
            "id",
            "release",
            "number",
            "job",
            "job_state",
            "files",
            "bundle",
            "bundle_url",
            "qc_status",
            "qc",
            "upc",
            "isrcs",
            "summary",
            "created_at",
        )
        read_only_fields = fields

    @extend_schema_field(DeliveryFileSerializer(many=True))
    def get_files(self, delivery: Delivery) -> list[dict[str, Any]]:
        return [{**f, "url": file_url(f.get("asset"))} for f in delivery.files]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_bundle_url(self, delivery: Delivery) -> str | None:
        return file_url(delivery.bundle_id)


class SongsMovedSerializer(serializers.Serializer):
    moved = serializers.ListField(child=serializers.IntegerField())
    already = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.ListField(child=serializers.DictField())
