from django.conf import settings as django_settings
from django.db import models

from studio.querysets import ProjectScopedQuerySet


class AssetKind(models.TextChoices):
    """What a stored file is. Only audio is probed by the engine and has audio facts."""

    AUDIO = "audio", "Audio"
    ARTWORK = "artwork", "Artwork"
    CUE = "cue", "CUE sheet"
    DDP = "ddp", "DDP image"
    REPORT = "report", "Report"
    BUNDLE = "bundle", "Bundle"
    OTHER = "other", "Other"


class StoredAt(models.TextChoices):
    """Where an asset's bytes are. With remote storage (S3), an upload's bytes first wait in the
    local staging area (renamed there when the upload completes) until the asset's `store` job
    has PUT them and verified the checksum; reads go to wherever they are (audio.storage's
    asset_path, asset_size, asset_read_range)."""

    STORAGE = "storage", "Storage"
    STAGED = "staged", "Staged locally"


class Asset(models.Model):
    """A stored file of a project: checksummed, deduplicated by checksum within the project,
    served with Range to members only, with its media type. Audio facts (format, rate,
    channels, frames, duration) are present exactly when kind is audio (the engine accepted
    it); other kinds (artwork, CUE sheets, DDP images, reports, bundles) have none. Its waveform
    peaks, once analysed, are a stored file too (`peaks_name`, read through audio.peaks)."""

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="assets")
    kind = models.CharField(max_length=16, choices=AssetKind.choices, default=AssetKind.AUDIO)
    media_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    storage_name = models.CharField(max_length=300)
    stored_at = models.CharField(max_length=8, choices=StoredAt.choices, default=StoredAt.STORAGE)
    original_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=16, blank=True)
    codec = models.CharField(max_length=32, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    bit_depth = models.PositiveSmallIntegerField(null=True, blank=True)
    frames = models.PositiveBigIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    analysis = models.JSONField(null=True, blank=True)
    # The waveform peaks are a stored file keyed by the checksum (audio.peaks); the row names it,
    # with its SHA-256 (backups check it) and a small index of its levels' byte spans. Empty
    # until the analysis job has stored them.
    peaks_name = models.CharField(max_length=300, blank=True)
    peaks_sha256 = models.CharField(max_length=64, blank=True)
    peaks_index = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="asset_unique_checksum"),
            models.CheckConstraint(
                condition=(
                    ~models.Q(kind="audio")
                    | (
                        ~models.Q(format="")
                        & models.Q(sample_rate__isnull=False)
                        & models.Q(channels__isnull=False)
                        & models.Q(frames__isnull=False)
                        & models.Q(duration_s__isnull=False)
                    )
                ),
                name="asset_audio_has_facts",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="audio")
                | (
                    models.Q(format="")
                    & models.Q(sample_rate__isnull=True)
                    & models.Q(frames__isnull=True)
                    & models.Q(duration_s__isnull=True)
                ),
                name="asset_other_has_no_audio_facts",
            ),
            models.CheckConstraint(condition=~models.Q(media_type=""), name="asset_has_media_type"),
        ]

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]

    @property
    def is_audio(self) -> bool:
        return self.kind == AssetKind.AUDIO


class Stem(models.Model):
    """An asset attached to a song as a stem (an instrument's track)."""

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="stems")
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="stems")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="stems")
    instrument = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True, max_length=5000)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "id"]

    def __str__(self) -> str:
        return self.instrument or f"Stem {self.pk}"


class Take(models.Model):
    """An asset attached to a song as a take of a part; the keeper flag marks the one to use.
    A take may belong to a working session (sessions.WorkingSession, label "live")."""

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="takes")
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="takes")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="takes")
    part = models.CharField(max_length=100)
    number = models.PositiveIntegerField()
    is_keeper = models.BooleanField(default=False)
    notes = models.TextField(blank=True, max_length=5000)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "part", "number"]
        constraints = [
            models.UniqueConstraint(fields=["song", "part", "number"], name="take_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.part} take {self.number}"


class MixSource(models.TextChoices):
    UPLOAD = "upload", "Upload"
    RENDER = "render", "Render"


class MixState(models.TextChoices):
    """A draft is a spec being edited (no audio yet); a rendered version has its audio. Uploads
    are rendered from the start. "Rendering" is not stored: a draft is rendering while its render
    job is queued or running (so a cancelled or failed render leaves it a draft)."""

    DRAFT = "draft", "Draft"
    RENDERED = "rendered", "Rendered"


class Mix(models.Model):
    """A numbered version of a song's mixdown (1, 2, 3 ... per song).

    A version is uploaded (`source` upload: its asset is the file) or rendered from a mix spec
    (`source` render): it starts as the song's one draft, "Mix N (draft)", whose `spec` the team
    edits, and keeps its number when its render job gives it an asset. Once rendered, the spec,
    `engine_version` and `samples_sha256` (of the output's samples) say exactly how it was made
    and never change. `parent` is the version a draft started from (its spec was copied).

    `is_approved` is maintained by the approvals service (sessions.services), the one place that
    decides what "approved" means; the stage gate reads it.
    """

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="mixes")
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="mixes")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=1000, blank=True)
    source = models.CharField(max_length=10, choices=MixSource.choices, default=MixSource.UPLOAD)
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="mixes"
    )
    spec = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=MixState.choices, default=MixState.RENDERED)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    spec_revision = models.PositiveIntegerField(default=0)
    engine_version = models.CharField(max_length=32, blank=True)
    samples_sha256 = models.CharField(max_length=64, blank=True)
    is_approved = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["song", "number"], name="mix_unique_number"),
            models.UniqueConstraint(
                fields=["song"], condition=models.Q(state="draft"), name="mix_one_draft_per_song"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="draft") | models.Q(source="render", asset__isnull=True),
                name="mix_draft_is_a_render_without_audio",
            ),
        ]

    def __str__(self) -> str:
        draft = " (draft)" if self.state == MixState.DRAFT else ""
        return f"Mix {self.number}{draft}"

    @property
    def is_draft(self) -> bool:
        return self.state == MixState.DRAFT


class ReferenceTrack(models.Model):
    """A commercial song the team masters towards, attached to one song of the project.

    Its audio is an ordinary Asset of the project (uploaded as any file is, analysed as any
    file is), so it is private to the project and served to members only. A reference is never
    a source of a mix version: the render spec's sources are stems, takes and mixes, and a
    reference is none of them. Removing one leaves the masters made with it as they are (their
    settings and report keep what was used)."""

    project = models.ForeignKey(
        "studio.Project", on_delete=models.CASCADE, related_name="reference_tracks"
    )
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="references")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="references")
    title = models.CharField(max_length=200, blank=True)
    added_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["song", "asset"], name="reference_unique_asset"),
        ]

    def __str__(self) -> str:
        return self.title or self.asset.original_name or f"Reference {self.pk}"


class Master(models.Model):
    """A mastered version of a mix (1, 2, 3 ... per song), made by a `master` job.

    `settings` is the validated request (preset, target and ceiling, reference ids, intensity,
    the chain's stages, bit depth); `report` is the engine's report of the run; `asset` the
    mastered audio and `prelimiter_asset` the signal before the limiter (for an engineer who
    limits elsewhere). `job` is the job that made it: one job makes at most one master, so a
    duplicate delivery or a retry can never make a second. `is_approved` is maintained by the
    approvals service (sessions.services); the gate into delivered reads it."""

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="masters")
    song = models.ForeignKey("studio.Song", on_delete=models.CASCADE, related_name="masters")
    mix = models.ForeignKey(Mix, on_delete=models.CASCADE, related_name="masters")
    number = models.PositiveIntegerField()
    settings = models.JSONField(default=dict)
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="masters"
    )
    prelimiter_asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="prelimiter_of"
    )
    report = models.JSONField(null=True, blank=True)
    job = models.OneToOneField(
        "audio.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="made_master"
    )
    is_approved = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["song_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["song", "number"], name="master_unique_number"),
        ]

    def __str__(self) -> str:
        return f"Master {self.number}"


class JobKind(models.TextChoices):
    """The built-in kinds' names. The list of kinds is the registry (audio.jobs.registry):
    a new kind registers itself there, so `Job.kind` has no fixed choices."""

    ANALYZE = "analyze", "Analyze"
    NOOP = "noop", "No-op"
    STORE = "store", "Store"
    RENDER = "render", "Render"
    MASTER = "master", "Master"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


JOB_OVER = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class Job(models.Model):
    """Background audio work. The row is the truth; the broker message carries only the id.

    A worker claims it by a conditional update (queued -> running, attempts + 1, lease); a
    duplicate delivery of a finished or live-leased job is skipped; a lapsed lease means the
    worker died and the job is run again (at most JOB_MAX_ATTEMPTS times). Done, failed and
    cancelled are final.
    """

    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.FloatField(default=0.0)
    attempts = models.PositiveSmallIntegerField(default=0)
    deliveries = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    # The request that queued the job (studio/requestids.py): the worker logs under it too.
    request_id = models.CharField(max_length=64, blank=True)
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    mix = models.ForeignKey(
        Mix, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "-id"]
        indexes = [models.Index(fields=["state", "lease_expires_at"], name="job_state_lease")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.state})"


class UploadState(models.TextChoices):
    ACTIVE = "active", "Receiving"
    COMPLETING = "completing", "Checking"
    # Complete, but identical to a file already on the song: waits for the uploader to confirm
    # (attach it anyway) or cancel (audio.services.uploads.upload_confirm / upload_cancel).
    HELD = "held", "Identical to a file of the song"
    DONE = "done", "Completed"
    FAILED = "failed", "Refused"


class Upload(models.Model):
    """A tus upload session: bytes arrive in chunks at `offset`, hashed as they land.

    `sha256_state` is the running hash (its consumed bytes equal `offset`), kept so a resumed
    upload never re-reads what is already on disk.
    """

    id = models.UUIDField(primary_key=True)
    project = models.ForeignKey("studio.Project", on_delete=models.CASCADE, related_name="uploads")
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    length = models.PositiveBigIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    sha256_state = models.BinaryField(default=b"", blank=True)
    temp_name = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=UploadState.choices, default=UploadState.ACTIVE)
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attached = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    objects = ProjectScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.offset}/{self.length})"
