"""Input and output serializers for assets, stems, takes, mixes, references, masters and jobs.
Shapes only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audio.engine.mastering.presets import PRESETS
from audio.engine.mastering.stages import EQ_TYPES
from audio.models import JOB_OVER, Asset, Job, JobKind, Master, Mix, ReferenceTrack, Stem, Take
from studio.api.serializers import UserBriefSerializer, VisibleRelatedField
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


# --- reference tracks and masters -------------------------------------------------------------

# The figures of an asset's analysis shown beside a mix's (a reference, a master's input).
ANALYSIS_SUMMARY = (
    "integrated_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "true_peak_accurate_dbtp",
    "sample_peak_dbfs",
    "crest_factor_db",
    "spectrum",
)


def asset_stream_url(asset_id: int | None) -> str | None:
    """Where the player streams an asset (Range-served, members only)."""
    return f"/api/assets/{asset_id}/file/?disposition=inline" if asset_id else None


class AnalysisSummarySerializer(serializers.Serializer):
    integrated_lufs = serializers.FloatField(allow_null=True)
    lra = serializers.FloatField(allow_null=True, help_text="loudness range, LU")
    true_peak_dbtp = serializers.FloatField(allow_null=True, help_text="BS.1770-4 (4x)")
    true_peak_accurate_dbtp = serializers.FloatField(allow_null=True)
    sample_peak_dbfs = serializers.FloatField(allow_null=True)
    crest_factor_db = serializers.FloatField(allow_null=True)
    spectrum = serializers.DictField(
        child=serializers.JSONField(), help_text="1/3-octave bands: centres_hz, levels_db"
    )


def analysis_summary(analysis: dict[str, Any] | None) -> dict[str, Any] | None:
    if analysis is None:
        return None
    out = {k: analysis.get(k) for k in ANALYSIS_SUMMARY}
    out["lra"] = out.pop("loudness_range_lu")
    return out


class ReferenceSerializer(serializers.ModelSerializer):
    """A reference track: its asset (audio of the project), where to stream it, and the figures
    of its analysis (null until the analysis job has finished)."""

    added_by = UserBriefSerializer(read_only=True, allow_null=True)
    asset_url = serializers.SerializerMethodField()
    duration_s = serializers.SerializerMethodField()
    analysis = serializers.SerializerMethodField()

    class Meta:
        model = ReferenceTrack
        fields = [
            "id",
            "project",
            "song",
            "asset",
            "asset_url",
            "title",
            "duration_s",
            "added_by",
            "added_at",
            "analysis",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_asset_url(self, ref: ReferenceTrack) -> str | None:
        return asset_stream_url(ref.asset_id)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_s(self, ref: ReferenceTrack) -> float | None:
        return ref.asset.duration_s

    @extend_schema_field(AnalysisSummarySerializer(allow_null=True))
    def get_analysis(self, ref: ReferenceTrack) -> dict[str, Any] | None:
        return analysis_summary(ref.asset.analysis)


class ReferenceCreateSerializer(serializers.Serializer):
    """`asset`: an uploaded audio file of the song's project (POST /api/uploads/ first)."""

    song = VisibleRelatedField(Song)
    asset = VisibleRelatedField(Asset)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MasterSerializer(serializers.ModelSerializer):
    """A master version. `settings`: the validated request; `report`: the engine's report of
    the run (input and output analyses, target and whether it was met, stages, EQ curve,
    reference match, platforms' playback gains, lossy check); `asset` / `asset_url` the
    mastered audio, `prelimiter_asset` / `prelimiter_url` the signal before the limiter.
    Whether it is approved, and what is missing if not: GET /api/approvals/state/?master=<id>."""

    name = serializers.SerializerMethodField()
    mix_number = serializers.IntegerField(source="mix.number", read_only=True)
    asset_url = serializers.SerializerMethodField()
    prelimiter_url = serializers.SerializerMethodField()
    created_by = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Master
        fields = [
            "id",
            "project",
            "song",
            "mix",
            "mix_number",
            "number",
            "name",
            "settings",
            "report",
            "asset",
            "asset_url",
            "prelimiter_asset",
            "prelimiter_url",
            "job",
            "is_approved",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_name(self, master: Master) -> str:
        return str(master)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_asset_url(self, master: Master) -> str | None:
        return asset_stream_url(master.asset_id)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_prelimiter_url(self, master: Master) -> str | None:
        return asset_stream_url(master.prelimiter_asset_id)


class EqBandSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(EQ_TYPES))
    freq = serializers.FloatField(help_text="20-20000 Hz")
    gain_db = serializers.FloatField(required=False, help_text="-12..12 dB; default 0")
    q = serializers.FloatField(required=False, help_text="0.1-10; default 0.707")


class CompressorSerializer(serializers.Serializer):
    threshold_db = serializers.FloatField(required=False, help_text="-60..0; default -18")
    ratio = serializers.FloatField(required=False, help_text="1-20; default 2")
    attack_ms = serializers.FloatField(required=False, help_text="0.1-200; default 10")
    release_db_per_s = serializers.FloatField(required=False, help_text="1-200; default 40")
    knee_db = serializers.FloatField(required=False, help_text="0-24; default 6")
    makeup_db = serializers.FloatField(required=False, help_text="-12..24; default 0")


class SaturationSerializer(serializers.Serializer):
    drive_db = serializers.FloatField(help_text="0-24 dB into the soft clipper")


class MultibandSerializer(serializers.Serializer):
    low_hz = serializers.FloatField(required=False, help_text="20-20000 Hz; default 120")
    high_hz = serializers.FloatField(required=False, help_text="at least 1.5x low_hz; default 2500")
    low = CompressorSerializer(required=False, help_text="default -18 dB 2:1, 30 ms, 20 dB/s")
    mid = CompressorSerializer(required=False, help_text="default -18 dB 2:1, 10 ms, 40 dB/s")
    high = CompressorSerializer(required=False, help_text="default -18 dB 2:1, 3 ms, 60 dB/s")


class StagesSerializer(serializers.Serializer):
    eq = EqBandSerializer(many=True, required=False, help_text="at most 12 bands")
    eq_phase = serializers.ChoiceField(
        choices=["minimum", "linear"], required=False, help_text="of the EQ and the match EQ"
    )
    multiband = MultibandSerializer(required=False, allow_null=True)
    compressor = CompressorSerializer(required=False, allow_null=True)
    saturation = SaturationSerializer(required=False, allow_null=True)
    width = serializers.FloatField(
        required=False, allow_null=True, help_text="stereo width in %: 0 mono, 100 as is, 200"
    )


class MasterRequestSerializer(serializers.Serializer):
    """The body of POST /api/masters/ (documentation: the service checks every field and names
    each bad one by its path, e.g. `stages.eq[1].freq`)."""

    mix = serializers.IntegerField(help_text="a version of the song with audio")
    preset = serializers.ChoiceField(
        choices=list(PRESETS),
        required=False,
        allow_null=True,
    )
    target_lufs = serializers.FloatField(required=False, allow_null=True, help_text="-30..-5")
    ceiling_dbtp = serializers.FloatField(required=False, allow_null=True, help_text="-9..0")
    references = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="reference ids of the song"
    )
    reference_weights = serializers.ListField(
        child=serializers.FloatField(), required=False, help_text="one per reference; default equal"
    )
    intensity = serializers.FloatField(required=False, help_text="0-100 %; default 100")
    match_tone = serializers.FloatField(required=False, help_text="0-100 % of the tone match")
    match_width = serializers.FloatField(required=False, help_text="0-100 % of the width match")
    stages = StagesSerializer(required=False)
    bit_depth = serializers.CharField(required=False, help_text="24 (default) or 16 (dithered)")


class PresetSerializer(serializers.Serializer):
    name = serializers.CharField()
    lufs = serializers.FloatField(allow_null=True, help_text="null: no normalisation (CD)")
    ceiling_dbtp = serializers.FloatField()
    turns_up = serializers.BooleanField(help_text="whether the service raises a quieter master")
    source = serializers.CharField()  # type: ignore[assignment]


class MasterJobSerializer(serializers.Serializer):
    job = serializers.DictField(child=serializers.JSONField())


class IdenticalToSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["mix", "stem", "take"], allow_null=True)
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(help_text="'Mix 1', 'the stem Bass', 'Lead vocal take 2'")


class UploadHeldSerializer(serializers.Serializer):
    """A held upload: complete, but identical to a file the song already has."""

    id = serializers.UUIDField()
    state = serializers.CharField(help_text="held")
    filename = serializers.CharField()
    kind = serializers.CharField(help_text="mix, stem or take: what the upload asked to be")
    asset = serializers.IntegerField()
    identical_to = IdenticalToSerializer()
    detail = serializers.CharField(help_text="the sentence to show: 'b.wav is identical to Mix 1'")


class AttachedSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["mix", "stem", "take"])
    id = serializers.IntegerField()


class UploadDoneSerializer(serializers.Serializer):
    """A completed upload: its asset, the asset's analysis job, and what it was attached to."""

    id = serializers.UUIDField()
    state = serializers.CharField(help_text="done")
    asset = serializers.IntegerField()
    job = serializers.IntegerField(allow_null=True)
    attached = AttachedSerializer(allow_null=True)
