"""Shapes of the song sheet API (no rules: the services decide, and name what is wrong)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from songsheet.models import TAKEN, Influence, PaletteItem, PaletteStatus, Section
from songsheet.selectors import section_times_by_id
from songsheet.services import clearance_prompt
from songsheet.timing import TIME_SIGNATURES, Timed
from studio.api.serializers import VisibleRelatedField
from studio.models import Clearance, SampleKind, Song


class RegionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()


class SheetSectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    name = serializers.CharField()
    bars = serializers.IntegerField()
    start_bar = serializers.IntegerField()
    start_s = serializers.FloatField(allow_null=True)
    end_s = serializers.FloatField(allow_null=True)


class SheetSerializer(serializers.Serializer):
    """A song's sheet: its own fields, the song's key and tempo, the sections in order with
    their times (null without a tempo), and `regions` for the waveform (empty until the tempo
    and the first downbeat are set)."""

    song = serializers.IntegerField()
    project = serializers.IntegerField()
    genre = serializers.CharField()
    vibe = serializers.CharField()
    style_notes = serializers.CharField()
    time_signature = serializers.CharField()
    first_downbeat_s = serializers.FloatField(allow_null=True)
    key = serializers.CharField()
    tempo_bpm = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    sections = SheetSectionSerializer(many=True)
    regions_ready = serializers.BooleanField()
    regions = RegionSerializer(many=True)

    @staticmethod
    def of(read: Any) -> dict[str, Any]:
        sheet, song = read.sheet, read.song
        return {
            "song": song.pk,
            "project": song.project_id,
            "genre": sheet.genre,
            "vibe": sheet.vibe,
            "style_notes": sheet.style_notes,
            "time_signature": sheet.time_signature,
            "first_downbeat_s": sheet.first_downbeat_s,
            "key": song.key,
            "tempo_bpm": song.tempo_bpm,
            "sections": [
                {
                    "id": t.section.pk,
                    "position": t.section.position,
                    "name": t.section.name,
                    "bars": t.section.bars,
                    "start_bar": t.time.start_bar,
                    "start_s": t.time.start_s,
                    "end_s": t.time.end_s,
                }
                for t in read.sections
            ],
            "regions_ready": read.regions_ready,
            "regions": read.regions(),
        }


class SheetUpdateSerializer(serializers.Serializer):
    genre = serializers.CharField(required=False, allow_blank=True)
    vibe = serializers.CharField(required=False, allow_blank=True)
    style_notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    time_signature = serializers.CharField(
        required=False, help_text=f"one of {', '.join(TIME_SIGNATURES)}"
    )
    first_downbeat_s = serializers.FloatField(required=False, allow_null=True)
    key = serializers.CharField(required=False, allow_blank=True)
    tempo_bpm = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="BPM, 1 to 999.99"
    )


class SectionSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="song.project_id", read_only=True)
    start_bar = serializers.SerializerMethodField()
    start_s = serializers.SerializerMethodField()
    end_s = serializers.SerializerMethodField()

    class Meta:
        model = Section
        fields = (
            "id",
            "song",
            "project",
            "position",
            "name",
            "bars",
            "lyrics",
            "notes",
            "estimate_minutes",
            "start_bar",
            "start_s",
            "end_s",
        )
        read_only_fields = fields

    def _time(self, section: Section) -> Timed | None:
        times = self.context.setdefault("section_times", {})
        if section.song_id not in times:
            times[section.song_id] = section_times_by_id(section.song)
        return times[section.song_id].get(section.pk)

    @extend_schema_field(serializers.IntegerField())
    def get_start_bar(self, section: Section) -> int | None:
        t = self._time(section)
        return t.start_bar if t else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_start_s(self, section: Section) -> float | None:
        t = self._time(section)
        return t.start_s if t else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_end_s(self, section: Section) -> float | None:
        t = self._time(section)
        return t.end_s if t else None


class SectionCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    name = serializers.CharField(help_text="intro, verse, pre-chorus, chorus, bridge, outro, ...")
    bars = serializers.IntegerField(help_text="a whole number of bars, 1 or more")
    lyrics = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="at most 20 000"
    )
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    estimate_minutes = serializers.IntegerField(required=False, allow_null=True)
    position = serializers.IntegerField(required=False, help_text="1-based; default: the end")


class SectionUpdateSerializer(SectionCreateSerializer):
    song = None  # type: ignore[assignment]
    position = None  # type: ignore[assignment]
    name = serializers.CharField(required=False)
    bars = serializers.IntegerField(required=False)


class SectionMoveSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="1-based; the others close up around it")


class PaletteItemSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="song.project_id", read_only=True)
    player_username = serializers.CharField(
        source="player.username", read_only=True, allow_null=True
    )

    class Meta:
        model = PaletteItem
        fields = (
            "id",
            "song",
            "project",
            "name",
            "source",
            "player",
            "player_username",
            "player_name",
            "session",
            "status",
            "notes",
        )
        read_only_fields = fields


class PaletteCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    name = serializers.CharField()
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, help_text="live, sample library, synth patch, ..."
    )
    player = serializers.IntegerField(
        required=False, allow_null=True, help_text="a member's user id"
    )
    player_name = serializers.CharField(required=False, allow_blank=True)
    session = serializers.IntegerField(
        required=False, allow_null=True, help_text="a working session of the same song"
    )
    status = serializers.ChoiceField(choices=PaletteStatus.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class PaletteUpdateSerializer(PaletteCreateSerializer):
    song = None  # type: ignore[assignment]
    name = serializers.CharField(required=False)


class InfluenceSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="song.project_id", read_only=True)
    asks_clearance = serializers.BooleanField(read_only=True)
    clearance_prompt = serializers.SerializerMethodField()
    sample_clearance = serializers.CharField(
        source="sample_use.clearance", read_only=True, allow_null=True
    )

    class Meta:
        model = Influence
        fields = (
            "id",
            "song",
            "project",
            "work",
            "artist",
            "taken",
            "notes",
            "asks_clearance",
            "clearance_prompt",
            "sample_use",
            "sample_clearance",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_clearance_prompt(self, influence: Influence) -> str | None:
        """The question to answer (record a sample use) while it is open; null otherwise."""
        return clearance_prompt(influence)


class InfluenceCreateSerializer(serializers.Serializer):
    song = VisibleRelatedField(Song)
    work = serializers.CharField()
    artist = serializers.CharField(required=False, allow_blank=True)
    taken = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=f"any of {', '.join(TAKEN)}"
    )
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class InfluenceUpdateSerializer(InfluenceCreateSerializer):
    song = None  # type: ignore[assignment]
    work = serializers.CharField(required=False)


class RecordSampleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SampleKind.choices, default=SampleKind.INTERPOLATION)
    clearance = serializers.ChoiceField(choices=Clearance.choices, default=Clearance.PENDING)
    rights_holder = serializers.CharField(required=False, allow_blank=True, default="")
