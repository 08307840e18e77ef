"""Input and output serializers of the live layer's REST API. They validate shapes; the
services (sessions.services) decide."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from audio.models import Master, Mix, Take
from sessions.models import Approval, Comment, SessionKind, Verdict, WorkingSession
from studio.api.serializers import UserBriefSerializer, VisibleRelatedField
from studio.models import Song

MAX_SECONDS = 24 * 3600.0


class CommentSerializer(serializers.ModelSerializer):
    author = UserBriefSerializer(read_only=True, allow_null=True)
    resolved_by = UserBriefSerializer(read_only=True, allow_null=True)
    body = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()
    mentions = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = [
            "id",
            "project",
            "mix",
            "master",
            "parent",
            "author",
            "body",
            "start_s",
            "end_s",
            "mentions",
            "resolved_at",
            "resolved_by",
            "edited_at",
            "deleted",
            "created_at",
        ]
        read_only_fields = fields

    def get_body(self, comment: Comment) -> str:
        return "" if comment.deleted_at is not None else comment.body

    def get_deleted(self, comment: Comment) -> bool:
        return comment.deleted_at is not None

    def get_mentions(self, comment: Comment) -> list[int]:
        return sorted(u.pk for u in comment.mentions.all())


class CommentCreateSerializer(serializers.Serializer):
    mix = VisibleRelatedField(Mix, required=False, allow_null=True)
    master = VisibleRelatedField(Master, required=False, allow_null=True)
    parent = VisibleRelatedField(Comment, required=False, allow_null=True)  # type: ignore[assignment]
    body = serializers.CharField(max_length=5000)
    start_s = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=MAX_SECONDS
    )
    end_s = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=MAX_SECONDS
    )
    mentions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), required=False, max_length=50
    )


class CommentEditSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)
    mentions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), required=False, max_length=50
    )


class ApprovalSerializer(serializers.ModelSerializer):
    reviewer = UserBriefSerializer(read_only=True)

    class Meta:
        model = Approval
        fields = ["id", "project", "mix", "master", "reviewer", "verdict", "note", "created_at"]
        read_only_fields = fields


class ApprovalCreateSerializer(serializers.Serializer):
    mix = VisibleRelatedField(Mix, required=False, allow_null=True)
    master = VisibleRelatedField(Master, required=False, allow_null=True)
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ApprovalStateSerializer(serializers.Serializer):
    approved = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    verdicts = serializers.DictField(child=serializers.CharField())


class WorkingSessionSerializer(serializers.ModelSerializer):
    participants = serializers.SerializerMethodField()
    takes = serializers.SerializerMethodField()

    class Meta:
        model = WorkingSession
        fields = [
            "id",
            "project",
            "song",
            "kind",
            "starts_at",
            "ends_at",
            "participants",
            "notes",
            "takes",
            "created_at",
        ]
        read_only_fields = fields

    def get_participants(self, session: WorkingSession) -> list[int]:
        return sorted(u.pk for u in session.participants.all())

    def get_takes(self, session: WorkingSession) -> list[int]:
        return sorted(t.pk for t in session.takes.all())


class WorkingSessionCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    kind = serializers.ChoiceField(choices=SessionKind.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    participants = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), required=False, max_length=50
    )
    notes = serializers.CharField(max_length=10000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts, ends = attrs.get("starts_at"), attrs.get("ends_at")
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": ["must be after starts_at"]})
        return attrs


class WorkingSessionUpdateSerializer(WorkingSessionCreateSerializer):
    song = None  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=SessionKind.choices, required=False)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)


class TakeRefSerializer(serializers.Serializer):
    take = VisibleRelatedField(Take)


class KeeperSerializer(serializers.Serializer):
    take = VisibleRelatedField(Take)
    is_keeper = serializers.BooleanField(default=True)


class KeeperResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    song = serializers.IntegerField()
    part = serializers.CharField()
    is_keeper = serializers.BooleanField()


class PresenceSerializer(serializers.Serializer):
    user = UserBriefSerializer()
    song = serializers.IntegerField(allow_null=True)
    mix = serializers.IntegerField(allow_null=True)
    at = serializers.FloatField(help_text="last seen, seconds since the epoch")
