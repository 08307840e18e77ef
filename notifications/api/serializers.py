"""Shapes of the notification API (the rules are in notifications.services)."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Kind, Notification


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "project",
            "song",
            "event",
            "sentence",
            "link",
            "created_at",
            "read_at",
            "unread",
        ]
        read_only_fields = fields

    def get_unread(self, notification: Notification) -> bool:
        return notification.read_at is None


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="how many were unread and are read now")
    unread = serializers.IntegerField(help_text="unread notifications left in the inbox")


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    label = serializers.CharField(help_text="the kind, as a person reads it")  # type: ignore[assignment]
    inbox = serializers.BooleanField(help_text="listed in the inbox and counted in the header")
    email = serializers.BooleanField(help_text="carried by the e-mail digest")


class PreferenceUpdateSerializer(serializers.Serializer):
    inbox = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)
