"""Shapes of the time API (no rules: timesheets.services decides, with sentences)."""

from __future__ import annotations

from rest_framework import serializers

from sessions.models import WorkingSession
from studio.api.serializers import UserBriefSerializer, VisibleRelatedField
from studio.models import Song, Stage, Task
from timesheets.models import NOTE_MAX, TimeEntry


class TimeEntrySerializer(serializers.ModelSerializer):
    member = UserBriefSerializer(read_only=True)

    class Meta:
        model = TimeEntry
        fields = [
            "id",
            "project",
            "song",
            "member",
            "task",
            "session",
            "stage",
            "minutes",
            "spent_on",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TimeEntryCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    task = VisibleRelatedField(Task, required=False, allow_null=True)
    session = VisibleRelatedField(WorkingSession, required=False, allow_null=True)
    # Bounds are the service's (a 400 with a sentence), not the field's.
    minutes = serializers.IntegerField()
    spent_on = serializers.DateField(required=False, allow_null=True)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False, allow_null=True)
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True)


class TimeEntryUpdateSerializer(serializers.Serializer):
    task = VisibleRelatedField(Task, required=False, allow_null=True)
    session = VisibleRelatedField(WorkingSession, required=False, allow_null=True)
    minutes = serializers.IntegerField(required=False)
    spent_on = serializers.DateField(required=False)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True)


class StageBudgetSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    planned = serializers.IntegerField()
    tasks_planned = serializers.IntegerField()
    sections_planned = serializers.IntegerField()
    spent = serializers.IntegerField()
    over = serializers.IntegerField()


class SectionEstimateSerializer(serializers.Serializer):
    name = serializers.CharField()
    position = serializers.IntegerField()
    estimate_minutes = serializers.IntegerField(allow_null=True)


class SongBudgetSerializer(serializers.Serializer):
    song = serializers.IntegerField(source="song_id")
    title = serializers.CharField()
    song_stage = serializers.CharField()
    archived = serializers.BooleanField()
    planned = serializers.IntegerField()
    spent = serializers.IntegerField()
    over = serializers.IntegerField()
    over_percent = serializers.IntegerField()
    stages = StageBudgetSerializer(many=True)
    sections = SectionEstimateSerializer(many=True)


class TimeSummarySerializer(serializers.Serializer):
    project = serializers.IntegerField()
    planned = serializers.IntegerField()
    spent = serializers.IntegerField()
    songs = SongBudgetSerializer(many=True)
    over_budget = serializers.ListField(child=serializers.IntegerField())
