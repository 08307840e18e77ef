"""Shapes of the review-link API (the rules are in reviewlinks.services)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from reviewlinks.models import LeakTrace, ReviewComment, ReviewLink


class ReviewCommentSerializer(serializers.ModelSerializer):
    from_outside = serializers.SerializerMethodField()

    class Meta:
        model = ReviewComment
        fields = ["id", "author_name", "body", "start_s", "created_at", "from_outside"]

    def get_from_outside(self, obj: ReviewComment) -> bool:
        return True


class ReviewLinkSerializer(serializers.ModelSerializer):
    """A link with its stats: opened when, how many plays, how far they listened, comments."""

    state = serializers.CharField(read_only=True)
    version_label = serializers.CharField(read_only=True)
    stats = serializers.SerializerMethodField()

    class Meta:
        model = ReviewLink
        fields = [
            "id",
            "project",
            "mix",
            "master",
            "version_label",
            "recipient_name",
            "recipient_email",
            "note",
            "state",
            "download_allowed",
            "play_limit",
            "created_by",
            "created_at",
            "expires_at",
            "revoked_at",
            "stats",
        ]

    def get_stats(self, obj: ReviewLink) -> dict[str, Any]:
        return {
            "first_opened": getattr(obj, "first_opened", None),
            "last_access": getattr(obj, "last_access", None),
            "plays": getattr(obj, "plays", 0),
            "furthest_s": getattr(obj, "furthest_s", None),
            "comments": getattr(obj, "comment_count", 0),
        }


class ReviewLinkDetailSerializer(ReviewLinkSerializer):
    comments = ReviewCommentSerializer(many=True, read_only=True)

    class Meta(ReviewLinkSerializer.Meta):
        fields = [*ReviewLinkSerializer.Meta.fields, "comments"]


class ReviewLinkCreateSerializer(serializers.Serializer):
    mix = serializers.IntegerField(required=False, min_value=1)
    master = serializers.IntegerField(required=False, min_value=1)
    recipient_name = serializers.CharField(max_length=120)
    recipient_email = serializers.EmailField(max_length=254)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    download_allowed = serializers.BooleanField(required=False, default=False)
    play_limit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1000
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("mix" in attrs) == ("master" in attrs):
            raise serializers.ValidationError({"version": ["give a mix or a master, not both"]})
        return attrs


class ReviewLinkSentSerializer(ReviewLinkSerializer):
    url = serializers.CharField(read_only=True)

    class Meta(ReviewLinkSerializer.Meta):
        fields = [*ReviewLinkSerializer.Meta.fields, "url"]


class LeakTraceSerializer(serializers.ModelSerializer):
    """What the trace found: the link (recipient, sent when and by whom) and the confidence,
    or `found: false` (no mark); `found: null` while its job runs."""

    recipient = serializers.SerializerMethodField()

    class Meta:
        model = LeakTrace
        fields = [
            "id",
            "project",
            "asset",
            "job",
            "created_by",
            "created_at",
            "finished_at",
            "found",
            "confidence",
            "link",
            "recipient",
        ]

    def get_recipient(self, obj: LeakTrace) -> dict[str, Any] | None:
        link = obj.link
        if link is None:
            return None
        return {
            "name": link.recipient_name,
            "email": link.recipient_email,
            "version": link.version_label,
            "link_created_at": link.created_at,
            "link_created_by": link.created_by.username if link.created_by else None,
        }
