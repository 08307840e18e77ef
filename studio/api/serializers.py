"""Input and output serializers. They validate shapes; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from eventlog.models import Event
from studio.gates import PROJECT_CHECKS
from studio.models import (
    Clearance,
    Credit,
    CreditRole,
    Membership,
    Project,
    Right,
    SampleKind,
    SampleUse,
    Song,
    Stage,
    StageChange,
    Task,
    TaskStatus,
)
from studio.roles import Role


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id that must be visible to the requesting user: another project's id is
    refused as "does not exist", never linked."""

    def __init__(self, model: Any, **kwargs: Any):
        self.model = model
        super().__init__(queryset=model.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        manager = self.model.objects
        if self.model is Project:
            return manager.for_member(user)
        return manager.visible_to(user)


class ProjectMemberField(serializers.PrimaryKeyRelatedField):
    """A user id; membership of the right project is checked by the service."""

    def __init__(self, **kwargs: Any):
        super().__init__(queryset=get_user_model().objects.filter(is_active=True), **kwargs)


# --- projects and members -------------------------------------------------------------------
class ProjectSerializer(serializers.ModelSerializer):
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "created_at",
            "last_event_seq",
            "event_epoch",
            "my_role",
            "gate_checks",
            "archived_at",
            "deleted_at",
        ]
        read_only_fields = [
            "id",
            "created_at",
            "last_event_seq",
            "event_epoch",
            "my_role",
            "archived_at",
            "deleted_at",
        ]
        extra_kwargs = {
            "archived_at": {"help_text": "When the project was archived (read-only); null if not."},
            "deleted_at": {
                "help_text": "When the project was deleted (restorable for 30 days); null if not."
            },
        }

    gate_checks = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(PROJECT_CHECKS)),
        required=False,
        max_length=len(PROJECT_CHECKS),
        help_text="Checks this project adds to its stage gates.",
    )

    def get_my_role(self, project: Project) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(project.pk)


class ProjectInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    gate_checks = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(PROJECT_CHECKS)),
        required=False,
        max_length=len(PROJECT_CHECKS),
        help_text="Checks this project adds to its stage gates.",
    )


class MembershipSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "project", "user", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    project = VisibleRelatedField(Project)
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


# --- songs ------------------------------------------------------------------------------------
class SongSerializer(serializers.ModelSerializer):
    class Meta:
        model = Song
        fields = [
            "id",
            "project",
            "title",
            "stage",
            "key",
            "tempo_bpm",
            "isrc",
            "notes",
            "created_at",
            "updated_at",
            "archived_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "stage", "created_at", "updated_at", "archived_at", "deleted_at"]
        extra_kwargs = {
            "archived_at": {"help_text": "When the song was archived (read-only); null if not."},
            "deleted_at": {
                "help_text": "When the song was deleted (restorable for 30 days); null if not."
            },
        }


class SongCreateSerializer(serializers.Serializer):
    project = VisibleRelatedField(Project)
    title = serializers.CharField(max_length=200)
    key = serializers.CharField(max_length=20, required=False, allow_blank=True)
    tempo_bpm = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=Decimal("1"),
        max_value=Decimal("999"),
    )
    isrc = serializers.RegexField(
        r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "an ISRC is like USABC2600001"},
    )
    notes = serializers.CharField(max_length=10000, required=False, allow_blank=True)


class SongUpdateSerializer(SongCreateSerializer):
    project = None  # type: ignore[assignment]
    title = serializers.CharField(max_length=200, required=False)


class SongMoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Move forward past open tasks, saying why (kept in the history).",
    )


class StageChangeSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = StageChange
        fields = ["id", "song", "from_stage", "to_stage", "actor", "reason", "created_at"]
        read_only_fields = fields


class GateCheckSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    met = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, help_text="why not, when unmet")


class GateSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    direction = serializers.ChoiceField(choices=["forward", "back", "current"])
    allowed = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    checks = GateCheckSerializer(many=True)


# --- tasks ------------------------------------------------------------------------------------
class TaskSerializer(serializers.ModelSerializer):
    assignee = UserBriefSerializer(read_only=True, allow_null=True)
    is_late = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "project",
            "song",
            "stage",
            "title",
            "description",
            "assignee",
            "due_date",
            "status",
            "rank",
            "estimate_minutes",
            "is_late",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_is_late(self, task: Task) -> bool:
        from django.utils import timezone

        return bool(
            task.due_date
            and task.status != TaskStatus.DONE
            and task.due_date < timezone.localdate()
        )


class TaskCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    title = serializers.CharField(max_length=200)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    assignee = ProjectMemberField(required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    # Bounds are the service's (a 400 with a sentence), not the field's.
    estimate_minutes = serializers.IntegerField(required=False, allow_null=True)


class TaskUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    assignee = ProjectMemberField(required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    # Bounds are the service's (a 400 with a sentence), not the field's.
    estimate_minutes = serializers.IntegerField(required=False, allow_null=True)


class TaskMoveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    rank = serializers.IntegerField(min_value=0, max_value=100000, required=False, allow_null=True)


# --- credits and rights -----------------------------------------------------------------------
class CreditSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Credit
        fields = [
            "id",
            "song",
            "role",
            "contributor_name",
            "instrument",
            "user",
            "ipi",
            "isni",
            "created_at",
        ]
        read_only_fields = fields


class CreditCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    role = serializers.ChoiceField(choices=CreditRole.choices)
    contributor_name = serializers.CharField(max_length=200)
    instrument = serializers.CharField(max_length=100, required=False, allow_blank=True)
    user = ProjectMemberField(required=False, allow_null=True)
    ipi = serializers.CharField(max_length=11, required=False, allow_blank=True)
    isni = serializers.CharField(max_length=19, required=False, allow_blank=True)


class CreditUpdateSerializer(CreditCreateSerializer):
    song = None  # type: ignore[assignment]
    role = serializers.ChoiceField(choices=CreditRole.choices, required=False)
    contributor_name = serializers.CharField(max_length=200, required=False)


@extend_schema_field(
    {"oneOf": [{"type": "string", "example": "50,5"}, {"type": "number", "example": 50.5}]}
)
class ShareField(serializers.Field):
    """A share as a person writes it ("50.5", "50,5") or a JSON number. Only its shape is checked
    here: the service reads and checks it (rights.split_set, by studio.parsing.decimal_text), so
    the API, the page and the splits form's running total accept and refuse the same shares."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            raise serializers.ValidationError("give the share as a number, like 50.5 or 50,5")
        if isinstance(data, str) and len(data) > 32:
            raise serializers.ValidationError("at most 32 characters")
        return data

    def to_representation(self, value: Any) -> str:
        return str(value)


class ShareSerializer(serializers.Serializer):
    party = serializers.CharField(max_length=200)
    share = ShareField()


class SplitSetSerializer(serializers.Serializer):
    right = serializers.ChoiceField(choices=Right.choices)
    shares = ShareSerializer(many=True, max_length=100)  # type: ignore[call-arg]  # DRF's ListSerializer takes it


class SplitsSerializer(serializers.Serializer):
    """Both rights of a song, with their totals."""

    composition = ShareSerializer(many=True)
    master = ShareSerializer(many=True)
    totals = serializers.DictField(child=serializers.CharField())


class SampleUseSerializer(serializers.ModelSerializer):
    class Meta:
        model = SampleUse
        fields = [
            "id",
            "song",
            "source_work",
            "rights_holder",
            "kind",
            "clearance",
            "notes",
            "created_at",
        ]
        read_only_fields = fields


class SampleUseCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    source_work = serializers.CharField(max_length=300)
    rights_holder = serializers.CharField(max_length=300, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=SampleKind.choices)
    clearance = serializers.ChoiceField(choices=Clearance.choices, required=False)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class SampleUseUpdateSerializer(SampleUseCreateSerializer):
    song = None  # type: ignore[assignment]
    source_work = serializers.CharField(max_length=300, required=False)
    kind = serializers.ChoiceField(choices=SampleKind.choices, required=False)


# --- events -----------------------------------------------------------------------------------
class EventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)
    at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Event
        fields = ["seq", "type", "payload", "actor", "at"]
        read_only_fields = fields


class EventPageSerializer(serializers.Serializer):
    epoch = serializers.CharField()
    last_seq = serializers.IntegerField()
    events = EventSerializer(many=True)
    more = serializers.BooleanField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
