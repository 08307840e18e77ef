"""Shapes of the bookings API (no rules: the services decide)."""

from __future__ import annotations

from rest_framework import serializers

from bookings.models import Availability, Booking, Resource, ResourceKind
from sessions.models import WorkingSession
from studio.api.serializers import VisibleRelatedField
from studio.models import Project


class ResourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resource
        fields = (
            "id",
            "project",
            "name",
            "kind",
            "notes",
            "availability",
            "availability_note",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class ResourceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=ResourceKind.choices, required=False)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    availability = serializers.ChoiceField(choices=Availability.choices, required=False)
    availability_note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ResourceCreateSerializer(ResourceUpdateSerializer):
    project = VisibleRelatedField(Project)
    name = serializers.CharField(max_length=100, allow_blank=True)
    kind = serializers.ChoiceField(choices=ResourceKind.choices)


class BookingSerializer(serializers.ModelSerializer):
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    song = serializers.IntegerField(source="session.song_id", read_only=True)

    class Meta:
        model = Booking
        fields = (
            "id",
            "project",
            "resource",
            "resource_name",
            "session",
            "song",
            "starts_at",
            "ends_at",
            "note",
            "created_by",
            "created_at",
        )
        read_only_fields = fields


class BookingUpdateSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class BookingCreateSerializer(BookingUpdateSerializer):
    resource = VisibleRelatedField(Resource)
    session = VisibleRelatedField(WorkingSession)
